// Package api is gennaker's REST API: Spinnaker Gate's paths and payloads,
// so the spin CLI and scripts written for Gate work unchanged, plus a few
// endpoints of our own in the same style (pipeline version history, restore,
// diff, validation).
//
// The handler is plain net/http. `gennaker up` serves it on 127.0.0.1:8084;
// on AWS it runs behind API Gateway through a one-line adapter. It keeps no
// state of its own: everything is in the store, and runs move through the
// orchestrator.
//
// Every error is JSON in Gate's shape —
//
//	{"status":400,"error":"Bad Request","message":"…","timestamp":1700000000000}
//
// — with a message that says what to fix, and a request that is rejected
// changes nothing.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gennaker/gennaker/shared/api/gateerr"
	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/cost"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// DefaultMaxBodyBytes is the largest request body accepted when
// Options.MaxBodyBytes is zero: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// Orchestrator starts runs and acts on them. *orchestration.Orchestrator is
// one; every method returns an error wrapping store.ErrNotFound for an
// unknown run or stage.
type Orchestrator interface {
	// TriggerPipeline starts a run of p and returns its id. It returns a
	// *model.ValidationError or *orchestration.TriggerError for a request the
	// caller must fix, and orchestration.ErrPipelineDisabled for a disabled
	// pipeline. Requests with the same non-empty idempotency key return the
	// same run.
	TriggerPipeline(ctx context.Context, p *model.Pipeline, trigger model.ExecutionTrigger, idempotencyKey string) (model.ExecutionID, error)
	// Cancel cancels a run; canceling a finished run does nothing.
	Cancel(ctx context.Context, id model.ExecutionID, user, reason string) error
	// Pause pauses a running run, or returns orchestration.ErrNotRunning.
	Pause(ctx context.Context, id model.ExecutionID, user string) error
	// Resume resumes a paused run, or returns orchestration.ErrNotRunning.
	Resume(ctx context.Context, id model.ExecutionID, user string) error
	// PatchStage applies a user's change to a running stage (a manual
	// judgment, a skipped wait) as the stage's definition decides, wakes it
	// and returns the run as changed. A refused change is a
	// *stages.PatchError; a run or stage that has finished also returns
	// orchestration.ErrNotRunning.
	PatchStage(ctx context.Context, id model.ExecutionID, stageID model.StageID, user string, patch map[string]any) (*model.Execution, error)
	// RestartStage runs a finished stage and everything downstream of it
	// again, or returns orchestration.ErrNotRunning.
	RestartStage(ctx context.Context, id model.ExecutionID, stageID model.StageID, user string) error
}

// Options configure the handler.
type Options struct {
	Store        store.Store
	Orchestrator Orchestrator
	// Registry knows the stage types; saving a pipeline checks against it.
	Registry model.StageValidator
	// Version is what GET /version reports; empty means the module version
	// from the build information.
	Version string
	// Logger receives one line per failed request; nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Clusters lists an application's clusters by account for
	// GET /applications/{app}; nil means none are known.
	Clusters func(ctx context.Context, app string) (any, error)
	// Prices price each run's usage (GET /pipelines/{id} "cost"); nil
	// means AWS's list prices.
	Prices *cost.Table
	// Region is the AWS region whose prices apply; "" means us-east-1.
	Region string
	// Mounts are other packages' handlers served on the API's address, such
	// as the deployments read API (shared/deployapi). Their patterns must not
	// clash with the API's own; New panics if they do. They are authorized
	// as the API's own routes are (see access).
	Mounts []Mount
	// Policy decides what callers may do; nil means authentication is off
	// (everyone is one user with every right).
	Policy *auth.Policy
	// Authenticator finds who sent a request when Policy is enabled.
	Authenticator *auth.Authenticator
	// Accounts are the deployment accounts' names, for GET /auth/user.
	Accounts []string
}

// Mount serves Handler for each of Patterns (net/http ServeMux patterns,
// with a method: "GET /credentials").
type Mount struct {
	Patterns []string
	Handler  http.Handler
}

// server holds the handler's dependencies.
type server struct {
	store    store.Store
	orch     Orchestrator
	registry model.StageValidator
	clusters func(ctx context.Context, app string) (any, error)
	version  string
	log      *slog.Logger
	maxBody  int64
	now      func() time.Time
	mux      *http.ServeMux
	policy   *auth.Policy
	authn    *auth.Authenticator
	accounts []string
	prices   *cost.Table
	region   string
	// patterns are the routes handled, in the order registered.
	patterns []string
}

// New returns the API handler.
func New(opts Options) http.Handler {
	s := &server{
		store:    opts.Store,
		orch:     opts.Orchestrator,
		registry: opts.Registry,
		clusters: opts.Clusters,
		version:  opts.Version,
		log:      opts.Logger,
		maxBody:  opts.MaxBodyBytes,
		now:      opts.Now,
		mux:      http.NewServeMux(),
		prices:   opts.Prices,
		region:   opts.Region,
		policy:   opts.Policy,
		authn:    opts.Authenticator,
		accounts: opts.Accounts,
	}
	if s.policy == nil {
		s.policy = &auth.Policy{}
	}
	if s.authn == nil {
		s.authn = auth.NewAuthenticator(nil)
	}
	if s.prices == nil {
		s.prices = cost.ListPrices()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.version == "" {
		s.version = buildVersion()
	}
	s.routes()
	for _, m := range opts.Mounts {
		for _, p := range m.Patterns {
			s.handle(p, m.Handler)
		}
	}
	return s
}

// Routes lists every route pattern the API built from opts serves — its
// own and its mounts' — as registered with its mux, each behind guard.
func Routes(opts Options) []string {
	return slices.Clone(New(opts).(*server).patterns)
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// routes lists every endpoint. Paths and methods are Gate's unless marked
// as ours.
func (s *server) routes() {
	h := func(pattern string, fn handlerFunc) { s.handle(pattern, s.wrap(fn)) }

	h("GET /health", s.health)
	h("GET /version", s.getVersion)
	h("GET /auth/user", s.authUser)

	// Applications and the tasks that change them.
	h("GET /applications", s.listApplications)
	h("GET /applications/{app}", s.getApplication)
	h("POST /tasks", s.createTask)
	h("POST /applications/{app}/tasks", s.createTask)
	h("GET /tasks/{id}", s.getTask)
	h("GET /applications/{app}/tasks/{id}", s.getTask)

	// Pipeline configurations.
	h("GET /applications/{app}/pipelineConfigs", s.listPipelineConfigs)
	h("GET /applications/{app}/pipelineConfigs/{name}", s.getPipelineConfig)
	h("GET /pipelineConfigs", s.listAllPipelineConfigs)
	h("POST /pipelines", s.savePipeline)
	h("PUT /pipelines/{id}", s.updatePipeline)
	h("DELETE /pipelines/{app}/{name}", s.deletePipeline)
	h("POST /pipelines/validate", s.validatePipeline) // ours
	h("POST /pipelines/import", s.importExecutions)   // ours
	// Version history: Gate has the list; the rest is ours.
	h("GET /pipelineConfigs/{id}/history", s.pipelineHistory)
	h("GET /pipelineConfigs/{id}/history/{version}", s.pipelineVersion)                 // ours
	h("POST /pipelineConfigs/{id}/history/{version}/restore", s.restorePipelineVersion) // ours
	h("GET /pipelineConfigs/{id}/diff", s.diffPipelineVersions)                         // ours

	// Executions.
	h("POST /pipelines/{app}/{nameOrId}", s.triggerPipeline)
	h("POST /applications/{app}/pipelineConfigs/{nameOrId}", s.triggerPipeline)
	h("GET /pipelines/{id}", s.getExecution)
	h("DELETE /pipelines/{id}", s.deleteExecution)
	h("GET /applications/{app}/pipelines", s.listApplicationExecutions)
	h("GET /executions", s.listExecutions)
	h("PUT /pipelines/{id}/cancel", s.cancelExecution)
	h("PUT /applications/{app}/pipelines/{id}/cancel", s.cancelExecution)
	h("PUT /pipelines/{id}/pause", s.pauseExecution)
	h("PUT /pipelines/{id}/resume", s.resumeExecution)
	h("PATCH /pipelines/{id}/stages/{stageId}", s.patchStage)
	h("PUT /pipelines/{id}/stages/{stageId}/restart", s.restartStage)
	h("GET /applications/{app}/cost", s.applicationCost) // ours
}

// handle serves h for pattern behind the route's authorization (see access).
func (s *server) handle(pattern string, h http.Handler) {
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, s.guard(pattern, h))
}

// ServeHTTP answers unknown paths and methods in the API's error shape, and
// everything else through the mux.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.noRoute(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// noRoute tells 404 from 405 by asking the mux, then answers in JSON.
func (s *server) noRoute(w http.ResponseWriter, r *http.Request) {
	h, _ := s.mux.Handler(r)
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		allow := probe.header.Get("Allow")
		w.Header().Set("Allow", allow)
		s.writeError(w, r, &Error{Status: http.StatusMethodNotAllowed,
			Message: fmt.Sprintf("%s is not supported on %s; use %s", r.Method, r.URL.Path, allow)})
		return
	}
	s.writeError(w, r, &Error{Status: http.StatusNotFound,
		Message: fmt.Sprintf("no endpoint %s %s; see docs/cli-and-api.md for the API", r.Method, r.URL.Path)})
}

// statusProbe records what the mux's fallback handler would answer.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *statusProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

// handlerFunc is an endpoint: it writes a response or returns an error for
// wrap to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *server) wrap(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := checkPathNames(r)
		if err == nil {
			err = fn(w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// pathNames are the names and ids routes take from their paths.
var pathNames = []string{"app", "id", "name", "nameOrId", "stageId"}

// maxPathName bounds a name or id in a path: every stored one is shorter,
// and the stores' keys are bounded.
const maxPathName = 1024

// checkPathNames refuses a path whose names or ids cannot be stored ones —
// too long, not UTF-8, or holding control characters — before anything
// reads the store with them.
func checkPathNames(r *http.Request) error {
	for _, key := range pathNames {
		v := r.PathValue(key)
		if msg := checkName(v, maxPathName); v != "" && msg != "" {
			return badRequest("%s in the path: %s", key, msg)
		}
	}
	return nil
}

// checkName says what is wrong with a name or id, or "".
func checkName(v string, maxLen int) string {
	switch {
	case len(v) > maxLen:
		return fmt.Sprintf("must be at most %d bytes, not %d", maxLen, len(v))
	case !utf8.ValidString(v):
		return "must be UTF-8 text"
	case strings.ContainsFunc(v, unicode.IsControl):
		return fmt.Sprintf("%q may not contain control characters", v)
	}
	return ""
}

func (s *server) health(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "UP"})
}

func (s *server) getVersion(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"version": s.version})
}

// user is the name of who made the request, as guard established it: the
// authenticated user, or with authentication off whoever X-SPINNAKER-USER
// names (anonymous if nobody).
func user(r *http.Request) string { return caller(r.Context()).Name }

// Error is an API error: an HTTP status and a message that says what to fix.
type Error struct {
	Status  int
	Message string
	// Problems lists every problem found in the request, with JSON paths.
	Problems []model.Problem
	// Err is the cause, logged for 5xx answers.
	Err error
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Message: fmt.Sprintf(format, args...)}
}

func invalid(prefix string, probs []model.Problem) *Error {
	msgs := make([]string, len(probs))
	for i, p := range probs {
		msgs[i] = p.String()
	}
	return &Error{Status: http.StatusBadRequest, Problems: probs,
		Message: prefix + ": " + strings.Join(msgs, "; ")}
}

// writeError renders err in Gate's error shape. Domain errors the API did
// not classify itself are mapped here, once, so every endpoint answers them
// the same way.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	apiErr := classify(err)
	var problems []string
	for _, p := range apiErr.Problems {
		problems = append(problems, p.String())
	}
	if apiErr.Status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", apiErr.Status, "error", err)
	} else {
		s.log.Debug("request rejected", "method", r.Method, "path", r.URL.Path, "status", apiErr.Status, "message", apiErr.Message)
	}
	_ = gateerr.Write(w, apiErr.Status, apiErr.Message, s.now(), problems...)
}

func classify(err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	var denied *auth.Denied
	if errors.As(err, &denied) {
		return &Error{Status: http.StatusForbidden, Message: denied.Error(), Err: err}
	}
	var unauth *auth.Unauthenticated
	if errors.As(err, &unauth) {
		return &Error{Status: http.StatusUnauthorized, Message: unauth.Message, Err: err}
	}
	var verr *model.ValidationError
	if errors.As(err, &verr) {
		return &Error{Status: http.StatusBadRequest, Message: err.Error(), Problems: verr.Problems, Err: err}
	}
	var cannot *model.CannotRunError
	if errors.As(err, &cannot) {
		return &Error{Status: http.StatusBadRequest, Message: err.Error(), Problems: cannot.Problems, Err: err}
	}
	if probs, ok := triggerProblems(err); ok {
		return &Error{Status: http.StatusBadRequest, Message: err.Error(), Problems: probs, Err: err}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Message: err.Error(), Err: err}
	case errors.Is(err, store.ErrTooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Message: err.Error() + "; the store keeps records of at most 400 KB", Err: err}
	case errors.Is(err, store.ErrConflict):
		return &Error{Status: http.StatusConflict, Message: err.Error() + "; reload and try again", Err: err}
	case isDisabled(err):
		return &Error{Status: http.StatusBadRequest, Message: err.Error(), Err: err}
	case isNotRunning(err):
		return &Error{Status: http.StatusConflict, Message: err.Error(), Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Status: 499, Message: "the client went away", Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Message: "internal error: " + err.Error(), Err: err}
}
