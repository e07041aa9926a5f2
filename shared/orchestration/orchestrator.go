// Package orchestration moves pipeline runs forward. It is the code behind
// the orchestrator and tasks functions that the state machines in
// statemachines/ call, and the API's way to trigger, cancel, pause, resume,
// judge and restart runs.
//
// Only this package changes statuses, always with conditional writes. Stages
// run as soon as their requisites allow: when a stage ends, the stages whose
// requisites are now all successful start, each as its own run of the stage
// machine with a deterministic name, so a retried step cannot start a stage
// twice.
package orchestration

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/store"
)

// Orchestrator moves runs forward. It holds no state of its own beyond its
// dependencies, so any number of them may serve one store.
type Orchestrator struct {
	store    store.Store
	engine   Engine
	machines Machines
	registry *stages.Registry
	services *stages.Services
	now      func() time.Time
	log      *slog.Logger
	guard    func(ctx context.Context, e *model.Execution, s *model.StageExecution) error

	idMu      sync.Mutex
	idEntropy *ulid.MonotonicEntropy
}

// Options configure an Orchestrator.
type Options struct {
	Store    store.Store
	Engine   Engine
	Machines Machines
	Registry *stages.Registry
	// HTTP sends webhooks; nil means a client with a sane timeout.
	HTTP stages.HTTPDoer
	// Providers reach the accounts deployment stages act in.
	Providers *providers.Registry
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Guard decides whether a run may start a stage, seeing the stage with
	// its expressions evaluated and the identity it acts as (the stage's
	// Orchestration.RunAs, else the run's). An error fails the stage before
	// its first task, with the error's message. nil lets every stage start.
	Guard func(ctx context.Context, e *model.Execution, s *model.StageExecution) error
	// StatusHook, when set, sees every status change as it is written.
	StatusHook StatusHook
}

// New returns an orchestrator.
func New(opts Options) *Orchestrator {
	o := &Orchestrator{
		store:     opts.Store,
		engine:    opts.Engine,
		machines:  opts.Machines,
		registry:  opts.Registry,
		now:       opts.Now,
		log:       opts.Logger,
		guard:     opts.Guard,
		idEntropy: ulid.Monotonic(rand.Reader, 0),
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	if opts.StatusHook != nil {
		o.store = hookedStore{Store: opts.Store, hook: opts.StatusHook}
	}
	o.services = &stages.Services{Pipelines: o, HTTP: opts.HTTP, Store: opts.Store, Providers: opts.Providers}
	return o
}

// SetMachines sets the state machine ARNs after construction.
func (o *Orchestrator) SetMachines(m Machines) { o.machines = m }

// SetEngine sets the engine after construction, for runtimes whose engine
// needs the orchestrator's handlers first.
func (o *Orchestrator) SetEngine(e Engine) { o.engine = e }

// Registry returns the stage types the orchestrator runs.
func (o *Orchestrator) Registry() *stages.Registry { return o.registry }

// Request is what the state machines send to the orchestrator and tasks
// functions.
type Request struct {
	Action      string            `json:"action"`
	ExecutionID model.ExecutionID `json:"executionId"`
	StageID     model.StageID     `json:"stageId,omitempty"`
	Attempt     int               `json:"attempt,omitempty"`
	TaskToken   string            `json:"taskToken,omitempty"`
	Error       *StateError       `json:"error,omitempty"`
	// Name, Generation and Polls are the stage machine's own state: the
	// name of its run, how many fresh runs continued it, and the polls and
	// sleeps of this run. A request without a name comes from a machine of
	// an earlier definition, which can neither carry a stage nor count.
	Name       string `json:"name,omitempty"`
	Generation int    `json:"generation,omitempty"`
	Polls      int    `json:"polls,omitempty"`
}

// StateError is the error a state machine caught.
type StateError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Response tells the stage machine what to do next: "run" the stage again
// now, "poll" after backoff seconds, "sleep" for backoff seconds unless woken,
// wait for a "callback", or "done".
//
// A runStage answer to a machine that sent its name is the machine's whole
// next state: the stage it now carries (a stage that ended may hand the
// machine one of the stages that follow it) and its counters.
type Response struct {
	Next    string `json:"next"`
	Backoff int    `json:"backoff"`

	ExecutionID model.ExecutionID `json:"executionId,omitempty"`
	StageID     model.StageID     `json:"stageId,omitempty"`
	Attempt     int               `json:"attempt,omitempty"`
	Name        string            `json:"name,omitempty"`
	Generation  int               `json:"generation"`
	Polls       int               `json:"polls"`
}

// The actions of the two functions.
const (
	ActionStartPipeline    = "startPipeline"
	ActionFinalizePipeline = "finalizePipeline"
	ActionFailPipeline     = "failPipeline"
	ActionRunStage         = "runStage"
	ActionPark             = "park"
	ActionFailStage        = "failStage"
	// ActionReconcile starts the machines of stored runs that have none; a
	// schedule sends it in the cloud, `gennaker up` does it at start.
	ActionReconcile = "reconcile"
)

// Handle serves one request from a state machine. It is the whole of the
// orchestrator and tasks functions.
func (o *Orchestrator) Handle(ctx context.Context, req Request) (Response, error) {
	if req.Action == ActionReconcile {
		started, err := o.Reconcile(ctx)
		if len(started) > 0 {
			o.log.InfoContext(ctx, "started the state machines of runs that had none", "executions", started)
		}
		return Response{Next: "done"}, err
	}
	if req.ExecutionID == "" {
		return Response{}, fmt.Errorf("%s: executionId is required", req.Action)
	}
	switch req.Action {
	case ActionStartPipeline:
		return Response{Next: "done"}, o.startPipeline(ctx, req)
	case ActionFinalizePipeline:
		return Response{Next: "done"}, o.finalizePipeline(ctx, req)
	case ActionFailPipeline:
		return Response{Next: "done"}, o.failPipeline(ctx, req)
	case ActionRunStage:
		return o.runStage(ctx, req)
	case ActionPark:
		return Response{Next: "done"}, o.park(ctx, req)
	case ActionFailStage:
		return Response{Next: "done"}, o.failStage(ctx, req)
	default:
		return Response{}, fmt.Errorf("unknown action %q", req.Action)
	}
}

// HandleJSON is Handle for raw payloads, as a Lambda or the local runtime
// delivers them.
func (o *Orchestrator) HandleJSON(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
	var req Request
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	resp, err := o.Handle(ctx, req)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

func (o *Orchestrator) nowMs() int64 { return o.now().UnixMilli() }

func (o *Orchestrator) newID() string {
	o.idMu.Lock()
	defer o.idMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(o.now()), o.idEntropy).String()
}

const maxConflictRetries = 25

// updateHeader reads the header, lets fn change it, and writes it back if fn
// says it changed, retrying when another writer got there first.
func (o *Orchestrator) updateHeader(ctx context.Context, id model.ExecutionID, fn func(e *model.Execution) (bool, error)) (*model.Execution, error) {
	for i := 0; i < maxConflictRetries; i++ {
		e, err := o.store.Executions().GetHeader(ctx, id)
		if err != nil {
			return nil, err
		}
		changed, err := fn(e)
		if err != nil || !changed {
			return e, err
		}
		err = o.store.Executions().UpdateHeader(ctx, e)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return e, err
	}
	return nil, transient("update execution %s: too many concurrent writers", id)
}

// updateStage is updateHeader for one stage.
func (o *Orchestrator) updateStage(ctx context.Context, id model.ExecutionID, stageID model.StageID, fn func(s *model.StageExecution) (bool, error)) (*model.StageExecution, error) {
	for i := 0; i < maxConflictRetries; i++ {
		s, err := o.store.Executions().GetStage(ctx, id, stageID)
		if err != nil {
			return nil, err
		}
		changed, err := fn(s)
		if err != nil || !changed {
			return s, err
		}
		err = o.store.Executions().PutStage(ctx, id, s)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return s, err
	}
	return nil, transient("update stage %s of %s: too many concurrent writers", stageID, id)
}

// sendToken completes a task token, ignoring one whose task has gone.
func (o *Orchestrator) sendToken(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	err := o.engine.SendTaskSuccess(ctx, token, json.RawMessage(`{}`))
	if errors.Is(err, ErrTaskGone) {
		return nil
	}
	return err
}
