package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// Version history. Gate lists a pipeline's history as the configurations
// that were saved, newest first; gennaker adds each one's version number
// ("version"), and endpoints of its own to read one version, restore it,
// and diff two.

// historyEntry renders a saved version as Gate lists history: the
// configuration as saved, with when and by whom, and its version number.
func historyEntry(v *store.PipelineVersion) *model.Pipeline {
	p := withVersion(&v.Pipeline, v.Version)
	if p.UpdateTs == "" {
		p.UpdateTs = strconv.FormatInt(v.Timestamp, 10)
	}
	if p.LastModifiedBy == "" {
		p.LastModifiedBy = v.User
	}
	return p
}

// pipelineHistory answers GET /pipelineConfigs/{id}/history[?limit=20].
func (s *server) pipelineHistory(w http.ResponseWriter, r *http.Request) error {
	id := model.PipelineID(r.PathValue("id"))
	limit, err := intParam(r, "limit", 20)
	if err != nil {
		return err
	}
	hist, err := s.history(r.Context(), id)
	if err != nil {
		return err
	}
	if limit < len(hist) {
		hist = hist[:limit]
	}
	out := make([]*model.Pipeline, len(hist))
	for i := range hist {
		out[i] = historyEntry(&hist[i])
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) history(ctx context.Context, id model.PipelineID) ([]store.PipelineVersion, error) {
	hist, err := s.store.Pipelines().History(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && len(hist) == 0) {
		return nil, notFound("pipeline config %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("history of pipeline %s: %w", id, err)
	}
	return hist, nil
}

// pipelineVersionNumber reads one saved version, named by a path or query value.
func (s *server) pipelineVersionNumber(ctx context.Context, id model.PipelineID, raw, what string) (*store.PipelineVersion, error) {
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return nil, badRequest("%s must be a version number (1, 2, …), not %q", what, raw)
	}
	v, err := s.store.Pipelines().Version(ctx, id, n)
	if errors.Is(err, store.ErrNotFound) {
		hist, herr := s.history(ctx, id)
		if herr != nil {
			return nil, herr
		}
		return nil, notFound("pipeline %s has no version %d; its versions are 1 to %d", id, n, hist[0].Version)
	}
	if err != nil {
		return nil, fmt.Errorf("version %d of pipeline %s: %w", n, id, err)
	}
	return v, nil
}

// pipelineVersion answers GET /pipelineConfigs/{id}/history/{version}.
func (s *server) pipelineVersion(w http.ResponseWriter, r *http.Request) error {
	id := model.PipelineID(r.PathValue("id"))
	v, err := s.pipelineVersionNumber(r.Context(), id, r.PathValue("version"), "version")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, historyEntry(v))
}

// restorePipelineVersion answers
// POST /pipelineConfigs/{id}/history/{version}/restore: the old version is
// saved again as the newest one (history is never rewritten), after the
// checks any save makes.
func (s *server) restorePipelineVersion(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := model.PipelineID(r.PathValue("id"))
	v, err := s.pipelineVersionNumber(ctx, id, r.PathValue("version"), "version")
	if err != nil {
		return err
	}
	p := v.Pipeline
	p.ID = id
	plan, err := s.planSave(ctx, &p, user(r), false)
	if err != nil {
		return err
	}
	n, err := s.commitSave(ctx, plan)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, withVersion(&p, n))
}

// versionRef says which version a diff side is.
type versionRef struct {
	Version        int    `json:"version"`
	UpdateTs       string `json:"updateTs,omitempty"`
	LastModifiedBy string `json:"lastModifiedBy,omitempty"`
}

// diffResponse is the answer of GET /pipelineConfigs/{id}/diff.
type diffResponse struct {
	PipelineConfigID model.PipelineID `json:"pipelineConfigId"`
	From             versionRef       `json:"from"`
	To               versionRef       `json:"to"`
	Changes          []Change         `json:"changes"`
}

// diffPipelineVersions answers GET /pipelineConfigs/{id}/diff?from=&to=.
// to defaults to the newest version and from to the one before to.
func (s *server) diffPipelineVersions(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := model.PipelineID(r.PathValue("id"))
	hist, err := s.history(ctx, id)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	toRaw := q.Get("to")
	if toRaw == "" {
		toRaw = strconv.Itoa(hist[0].Version)
	}
	to, err := s.pipelineVersionNumber(ctx, id, toRaw, "to")
	if err != nil {
		return err
	}
	fromRaw := q.Get("from")
	if fromRaw == "" {
		if to.Version == 1 {
			return badRequest("from: version 1 is the first version; there is nothing before it to compare with")
		}
		fromRaw = strconv.Itoa(to.Version - 1)
	}
	from, err := s.pipelineVersionNumber(ctx, id, fromRaw, "from")
	if err != nil {
		return err
	}
	a, err := diffable(from)
	if err != nil {
		return err
	}
	b, err := diffable(to)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, diffResponse{
		PipelineConfigID: id,
		From:             ref(from),
		To:               ref(to),
		Changes:          Diff(a, b),
	})
}

func ref(v *store.PipelineVersion) versionRef {
	e := historyEntry(v)
	return versionRef{Version: v.Version, UpdateTs: e.UpdateTs, LastModifiedBy: e.LastModifiedBy}
}

// diffable returns a version's configuration as plain JSON values,
// without the fields every save changes.
func diffable(v *store.PipelineVersion) (any, error) {
	b, err := json.Marshal(&v.Pipeline)
	if err != nil {
		return nil, fmt.Errorf("encode version %d: %w", v.Version, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode version %d: %w", v.Version, err)
	}
	delete(m, "updateTs")
	delete(m, "lastModifiedBy")
	return m, nil
}

// intParam reads an optional positive whole-number query parameter.
func intParam(r *http.Request, name string, dflt int) (int, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return dflt, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, badRequest("query parameter %s must be a whole number of at least 1, not %q", name, raw)
	}
	return n, nil
}
