package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// Application names are case-insensitive, as in Gate, which answers with
// lower-case names: gennaker stores and compares them in lower case.
var appNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

const maxAppNameLen = 250

func canonicalApp(name string) model.ApplicationName {
	return model.ApplicationName(strings.ToLower(strings.TrimSpace(name)))
}

// checkAppName returns what is wrong with an application name, or "".
func checkAppName(name model.ApplicationName) string {
	switch {
	case name == "":
		return "is required"
	case len(name) > maxAppNameLen:
		return fmt.Sprintf("must be at most %d characters", maxAppNameLen)
	case !appNameRE.MatchString(string(name)):
		return fmt.Sprintf("%q may only contain letters, digits, '.', '_' and '-', and must start with a letter or digit", name)
	}
	return ""
}

// application returns the named application or a 404 that says how to
// create it.
func (s *server) application(ctx context.Context, name model.ApplicationName) (*model.Application, error) {
	app, err := s.store.Applications().Get(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("application %q not found; create it first (gennaker app save %s, or spin application save)", name, name)
	}
	if err != nil {
		return nil, fmt.Errorf("application %s: %w", name, err)
	}
	return app, nil
}

// listApplications answers GET /applications: every application's
// attributes, as Gate lists them.
func (s *server) listApplications(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.store.Applications().List(r.Context())
	if err != nil {
		return fmt.Errorf("list applications: %w", err)
	}
	owner := strings.ToLower(r.URL.Query().Get("owner"))
	out := make([]model.Application, 0, len(apps))
	for _, a := range apps {
		if owner != "" && strings.ToLower(a.Email) != owner {
			continue
		}
		if !s.canRead(r.Context(), &a) {
			continue
		}
		out = append(out, a)
	}
	return writeJSON(w, http.StatusOK, out)
}

// applicationView is Gate's shape for one application: its name, its
// attributes, and its clusters by account.
type applicationView struct {
	Name       model.ApplicationName `json:"name"`
	Attributes *model.Application    `json:"attributes"`
	Clusters   any                   `json:"clusters"`
}

// getApplication answers GET /applications/{app}[?expand=false].
func (s *server) getApplication(w http.ResponseWriter, r *http.Request) error {
	expand, err := boolParam(r, "expand", true)
	if err != nil {
		return err
	}
	name := canonicalApp(r.PathValue("app"))
	app, err := s.application(r.Context(), name)
	if err != nil {
		return err
	}
	var clusters any = map[string]any{}
	if expand && s.clusters != nil {
		c, err := s.clusters(r.Context(), string(name))
		if err != nil {
			return fmt.Errorf("clusters of %s: %w", name, err)
		}
		clusters = c
	}
	return writeJSON(w, http.StatusOK, applicationView{Name: app.Name, Attributes: app, Clusters: clusters})
}

// boolParam reads an optional true/false query parameter.
func boolParam(r *http.Request, name string, dflt bool) (bool, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return dflt, nil
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return false, badRequest("query parameter %s must be true or false, not %q", name, raw)
	}
	return b, nil
}

// upsertApplication stores app as Orca's createApplication does: a new
// application, or a replacement of an existing one's attributes (its
// creation time is kept).
func (s *server) upsertApplication(ctx context.Context, app *model.Application, user string) error {
	now := strconv.FormatInt(s.now().UnixMilli(), 10)
	prev, err := s.store.Applications().Get(ctx, app.Name)
	switch {
	case err == nil:
		app.CreateTs = prev.CreateTs
	case errors.Is(err, store.ErrNotFound):
		app.CreateTs = now
	default:
		return fmt.Errorf("application %s: %w", app.Name, err)
	}
	app.UpdateTs = now
	app.User = user
	if err := s.store.Applications().Put(ctx, app); err != nil {
		return fmt.Errorf("save application %s: %w", app.Name, err)
	}
	return nil
}

// deleteApplication removes the application and its pipeline
// configurations, as Front50 does; its executions stay. Pipelines go first
// so that a failure part-way leaves an application that can be deleted
// again.
func (s *server) deleteApplication(ctx context.Context, name model.ApplicationName) error {
	pipes, err := s.store.Pipelines().List(ctx, name)
	if err != nil {
		return fmt.Errorf("pipelines of %s: %w", name, err)
	}
	for _, p := range pipes {
		if err := s.store.Pipelines().Delete(ctx, p.ID); err != nil {
			return fmt.Errorf("delete pipeline %s of %s: %w", p.ID, name, err)
		}
	}
	if err := s.store.Applications().Delete(ctx, name); err != nil {
		return fmt.Errorf("delete application %s: %w", name, err)
	}
	return nil
}
