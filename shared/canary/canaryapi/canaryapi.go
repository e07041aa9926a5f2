// Package canaryapi serves Gate's canary endpoints: Kayenta's canary
// configs with their saved versions, and canary runs with their results.
// It is a plain http.Handler; the main API mounts it.
//
//	GET    /v2/canaryConfig[?application=app]
//	GET    /v2/canaryConfig/{id}
//	POST   /v2/canaryConfig
//	PUT    /v2/canaryConfig/{id}
//	DELETE /v2/canaryConfig/{id}
//	GET    /v2/canaryConfig/{id}/history          (ours)
//	GET    /v2/canaries/canary/{id}
//	GET    /v2/canaries/canary/{id}/report        (ours: the run as text)
//	GET    /v2/canaries/judges
//	GET    /v2/canaries/credentials
package canaryapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/api/gateerr"
	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/canary"
	"github.com/gennaker/gennaker/shared/canary/judge"
	"github.com/gennaker/gennaker/shared/store"
)

// Patterns lists the routes the handler serves, for a mux that mounts it.
var Patterns = []string{
	"GET /v2/canaryConfig",
	"GET /v2/canaryConfig/{id}",
	"POST /v2/canaryConfig",
	"PUT /v2/canaryConfig/{id}",
	"DELETE /v2/canaryConfig/{id}",
	"GET /v2/canaryConfig/{id}/history",
	"GET /v2/canaries/canary/{id}",
	"GET /v2/canaries/canary/{id}/report",
	"GET /v2/canaries/judges",
	"GET /v2/canaries/credentials",
}

// maxBody bounds a canary config document.
const maxBody = 1 << 20

// Handler serves the canary endpoints.
type Handler struct {
	configs *canary.Configs
	results *canary.Results
	sources *canary.Sources
	log     *slog.Logger
	mux     *http.ServeMux
	// Readable returns nil when the caller of ctx may READ the application,
	// a *auth.Denied when not; nil means every application is readable. A
	// config or run naming applications is shown only to callers who may
	// READ every one of them, and listings leave out the others.
	Readable func(ctx context.Context, app string) error
}

// New returns the handler over a store's canary configs and runs, and the
// metrics accounts (nil: none).
func New(s store.Store, sources *canary.Sources, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{configs: canary.NewConfigs(s), results: canary.NewResults(s), sources: sources, log: log, mux: http.NewServeMux()}
	routes := []func(w http.ResponseWriter, r *http.Request) error{
		h.list, h.get, h.create, h.update, h.delete, h.history, h.run, h.report, h.judges, h.credentials,
	}
	for i, p := range Patterns {
		fn := routes[i]
		h.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r); err != nil {
				h.fail(w, r, err)
			}
		})
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

type httpError struct {
	status   int
	msg      string
	problems []string
}

func (e *httpError) Error() string { return e.msg }

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	var he *httpError
	var problems []string
	switch {
	case errors.As(err, &he):
		status, problems = he.status, he.problems
	case errors.As(err, new(*auth.Denied)):
		status = http.StatusForbidden
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, canary.ErrNameTaken), errors.Is(err, store.ErrConflict):
		status = http.StatusConflict
	default:
		h.log.ErrorContext(r.Context(), "canary request failed", "path", r.URL.Path, "error", err)
	}
	_ = gateerr.Write(w, status, err.Error(), time.Now(), problems...)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// user is who makes the request: the identity the API authenticated, or,
// served on its own, X-SPINNAKER-USER as Spinnaker's services trust it.
func user(r *http.Request) string {
	if id, ok := auth.FromContext(r.Context()); ok && id.Name != "" {
		return id.Name
	}
	if u := strings.TrimSpace(r.Header.Get("X-SPINNAKER-USER")); u != "" {
		return u
	}
	return "anonymous"
}

// readable returns nil when the caller may READ every application of apps.
func (h *Handler) readable(ctx context.Context, apps ...string) error {
	if h.Readable == nil {
		return nil
	}
	for _, a := range apps {
		if a == "" {
			continue
		}
		if err := h.Readable(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	all, err := h.configs.List(r.Context(), r.URL.Query().Get("application"))
	if err != nil {
		return err
	}
	out := all[:0]
	for _, c := range all {
		if h.readable(r.Context(), c.Applications...) == nil {
			out = append(out, c)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) error {
	c, err := h.configs.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := h.readable(r.Context(), c.Applications...); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c.Doc)
}

// readConfig reads and checks a config document; a bad one is a 400 that
// lists every problem with its JSON path.
func readConfig(w http.ResponseWriter, r *http.Request) (*canary.Config, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("could not read the canary config (at most %d bytes): %v", maxBody, err)}
	}
	cfg, probs := canary.ParseConfig(body)
	if len(probs) > 0 {
		msgs := make([]string, len(probs))
		for i, p := range probs {
			msgs[i] = p.String()
		}
		return nil, &httpError{status: http.StatusBadRequest, msg: "invalid canary config: " + strings.Join(msgs, "; "), problems: msgs}
	}
	return cfg, nil
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) error {
	cfg, err := readConfig(w, r)
	if err != nil {
		return err
	}
	if cfg.ID != "" {
		if _, err := h.configs.Get(r.Context(), cfg.ID); err == nil {
			return &httpError{status: http.StatusConflict, msg: fmt.Sprintf("canary config %s exists; update it with PUT /v2/canaryConfig/%s", cfg.ID, cfg.ID)}
		}
		cfg.ID = "" // a new config gets a new id, as Kayenta allocates one
	}
	if _, err := h.configs.Save(r.Context(), cfg, user(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"canaryConfigId": cfg.ID})
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) error {
	cfg, err := readConfig(w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if cfg.ID != "" && cfg.ID != id {
		return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf("id: the document's id %q differs from the path's %q", cfg.ID, id)}
	}
	cfg.ID = id
	if _, err := h.configs.Save(r.Context(), cfg, user(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"canaryConfigId": id})
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) error {
	if err := h.configs.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) history(w http.ResponseWriter, r *http.Request) error {
	c, err := h.configs.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := h.readable(r.Context(), c.Applications...); err != nil {
		return err
	}
	v, err := h.configs.History(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (h *Handler) run(w http.ResponseWriter, r *http.Request) error {
	e, err := h.results.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := h.readable(r.Context(), e.Application); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request) error {
	e, err := h.results.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := h.readable(r.Context(), e.Application); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	canary.WriteReport(w, e)
	return nil
}

func (h *Handler) judges(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, []map[string]any{{"name": judge.Name, "visible": true}})
}

func (h *Handler) credentials(w http.ResponseWriter, r *http.Request) error {
	out := []map[string]any{}
	if h.sources != nil {
		for _, n := range h.sources.Names() {
			src, _, _ := h.sources.Get(n, "")
			out = append(out, map[string]any{"name": n, "type": src.Type(), "supportedTypes": []string{"METRICS_STORE"}})
		}
	}
	return writeJSON(w, http.StatusOK, out)
}
