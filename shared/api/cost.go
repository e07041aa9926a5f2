package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/cost"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// runCost is what a run used and what it cost (or would cost on AWS), from
// its ledger, priced at the installation's region.
func (s *server) runCost(ctx context.Context, id model.ExecutionID) (cost.Cost, error) {
	u, err := cost.Of(ctx, s.store.Records(), string(id))
	if err != nil {
		return cost.Cost{}, fmt.Errorf("cost of %s: %w", id, err)
	}
	return cost.Price(u, s.prices.For(s.region)), nil
}

// withCost adds the run's cost to its view as "cost".
func (s *server) withCost(ctx context.Context, view model.Execution) (model.Execution, error) {
	c, err := s.runCost(ctx, view.ID)
	if err != nil {
		return view, err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return view, err
	}
	extra := make(model.Extra, len(view.Extra)+1)
	for k, v := range view.Extra {
		extra[k] = v
	}
	extra["cost"] = b
	view.Extra = extra
	return view, nil
}

// applicationCost answers GET /applications/{app}/cost?from=&to= (ours):
// the cost of the application's runs built in [from, to), each bound a
// time in RFC 3339 or Unix milliseconds; from defaults to 30 days before
// to, to to now.
func (s *server) applicationCost(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	app := canonicalApp(r.PathValue("app"))
	to, err := timeParam(r, "to", s.now())
	if err != nil {
		return err
	}
	from, err := timeParam(r, "from", to.Add(-30*24*time.Hour))
	if err != nil {
		return err
	}
	if !from.Before(to) {
		return badRequest("from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if _, err := s.application(ctx, app); err != nil {
		return err
	}
	runs, err := s.store.Executions().ListByApplication(ctx, app, store.ListOptions{})
	if err != nil {
		return fmt.Errorf("executions of %s: %w", app, err)
	}
	var total cost.Usage
	n := 0
	for _, e := range runs {
		built := time.UnixMilli(e.BuildTime)
		if built.Before(from) || !built.Before(to) {
			continue
		}
		u, err := cost.Of(ctx, s.store.Records(), string(e.ID))
		if err != nil {
			return fmt.Errorf("cost of %s: %w", e.ID, err)
		}
		total.Add(u)
		n++
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"application": app,
		"from":        from.UTC().Format(time.RFC3339),
		"to":          to.UTC().Format(time.RFC3339),
		"runs":        n,
		"cost":        cost.Price(total, s.prices.For(s.region)),
	})
}

// timeParam reads a time given in RFC 3339 or as Unix milliseconds.
func timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	raw := strings.TrimSpace(r.URL.Query().Get(name))
	if raw == "" {
		return def, nil
	}
	if ms, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return time.Time{}, badRequest("%s=%q is not a time: give RFC 3339 (2026-01-31T00:00:00Z) or Unix milliseconds", name, raw)
	}
	return t, nil
}

// runActedOn names the run a request acts on, so its cost goes to that
// run's ledger (cost.HTTP).
func runActedOn(r *http.Request, id model.ExecutionID) {
	cost.MeterFrom(r.Context()).SetRun(string(id))
}
