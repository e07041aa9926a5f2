// Package stages defines what a stage type is and what a task does, and holds
// the registry of stage types a runtime knows.
//
// A stage definition declares: it validates its configuration and plans an
// ordered list of tasks by name. A task does one thing: it reads the stage,
// acts, and returns a status — RUNNING (call me again after a backoff),
// SUCCEEDED, or a failure — with context for later tasks of the stage and
// outputs for later stages. The orchestrator and the stage state machine do
// the looping, so no task ever blocks waiting.
package stages

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// Definition is one Spinnaker stage type.
type Definition interface {
	// Type is the Spinnaker stage type, such as "wait" or "manualJudgment".
	Type() string
	// Validate checks the stage's own fields when a pipeline is saved. Paths
	// are relative to the stage ("waitTime"). Fields holding expressions
	// cannot be checked before the run and should be accepted.
	Validate(s *model.Stage) []model.Problem
	// Plan returns the names of the stage's tasks, in order, from its context
	// after expressions were evaluated. Every name must be a registered task.
	Plan(s *model.StageExecution) ([]string, error)
}

// Task does one thing. Every task may run more than once for the same step
// (Lambda and Step Functions retry), so it must find its own earlier work
// done rather than repeat it.
type Task interface {
	// Name is the task's verb-noun name, such as "WaitForJudgment".
	Name() string
	// Execute acts and reports. A returned error is a failure the task could
	// not express as a Result; it fails the stage with the error's message.
	Execute(ctx context.Context, run *Run) (Result, error)
}

// Canceler is a task that must clean up when its run is canceled.
type Canceler interface {
	// Cancel is called once when the run is canceled while this task is
	// running. What it returns is merged into the stage context.
	Cancel(ctx context.Context, run *Run) (map[string]any, error)
}

// Configurer is a stage definition with a typed configuration. The
// orchestrator decodes the stage's context with it once for each task call
// and hands the result to the task as Run.Config, so no task reads its
// stage's configuration field by field.
type Configurer interface {
	// Config decodes a running stage's context (its configuration after
	// expressions were evaluated, plus what earlier tasks recorded) into the
	// stage type's configuration. An error, such as a ConfigError with JSON
	// paths, fails the stage with its message.
	Config(s *model.StageExecution) (any, error)
}

// ConfigOf returns the typed configuration a task's stage decoded into.
// A task run for a stage type whose configuration is of another type is a
// programming error, returned as an error that names both.
func ConfigOf[C any](run *Run) (C, error) {
	c, ok := run.Config.(C)
	if !ok {
		var want C
		return want, fmt.Errorf("stage %q (%s) has configuration %T, not %T", run.Stage.Name, run.Stage.Type, run.Config, want)
	}
	return c, nil
}

// Expander is a stage definition whose stage runs as several stages, as
// Spinnaker's deploy of several clusters deploys each as a stage of its own,
// in parallel.
type Expander interface {
	// Expand returns the stages s runs as, in parallel and before its own
	// tasks, when a run of its pipeline is created; none when s runs alone.
	// A configuration it cannot expand is left to Validate to report.
	Expand(s *model.Stage) []Synthetic
}

// Initializer is a stage definition that supplies the context its stages
// start with, as an installation's own stage types (shared/stages/preconfigured)
// merge their template under the stage's fields. It is called once for each
// stage when a run is created, before any expression is evaluated, so the
// expressions it adds are evaluated when the stage starts, as the stage's own.
type Initializer interface {
	// Initialize returns the stage's initial context from its configuration
	// (a map the caller owns, which it may change and return).
	Initialize(cfg map[string]any) map[string]any
}

// Synthetic is a stage a stage runs as (see Expander).
type Synthetic struct {
	Type    string
	Name    string
	Context map[string]any
}

// Patcher is a stage definition whose running stages users may change
// (Gate's PATCH /pipelines/{id}/stages/{stageId}): a manual judgment, a
// skipped wait.
type Patcher interface {
	// Patch checks a user's change against the stage and returns the context
	// fields to set. A change the stage type does not take, or takes only
	// in another state, is a *PatchError.
	Patch(s *model.StageExecution, patch map[string]any) (map[string]any, error)
}

// PatchError is a refused change to a running stage, with a message that
// says what to send instead.
type PatchError struct {
	// Conflict: the change is right, but the stage is not in a state that
	// takes it (it is not running); otherwise the change itself is wrong.
	Conflict bool
	Message  string
}

func (e *PatchError) Error() string { return e.Message }

// BadPatch is a *PatchError for a wrong change.
func BadPatch(format string, args ...any) error {
	return &PatchError{Message: fmt.Sprintf(format, args...)}
}

// PatchConflict is a *PatchError for a stage that cannot take the change now.
func PatchConflict(format string, args ...any) error {
	return &PatchError{Conflict: true, Message: fmt.Sprintf(format, args...)}
}

// TimeoutTask is a polling task with a bound of its own.
type TimeoutTask interface {
	// Timeout bounds the task from its first execution; 0 means no bound.
	Timeout(s *model.StageExecution) time.Duration
}

// Wake says how a RUNNING task wants to be called again.
type Wake int

const (
	// Poll: call again after Backoff.
	Poll Wake = iota
	// Sleep: call again after Backoff, or earlier when woken (a skipped
	// wait, a cancel, a pause).
	Sleep
	// Callback: call again only when woken (a manual judgment is made, the
	// run is canceled or resumed).
	Callback
)

// Result is what a task reports.
type Result struct {
	// Status is RUNNING, SUCCEEDED, or a failure: TERMINAL (the stage's
	// failure behaviour decides what the pipeline does), STOPPED (halt this
	// branch quietly), FAILED_CONTINUE, or CANCELED.
	Status model.Status
	// Context is merged into the stage context, for later tasks of the stage.
	Context map[string]any
	// Outputs is merged into the stage outputs, for later stages.
	Outputs map[string]any
	// Backoff is how long to wait before the next call of a RUNNING task.
	Backoff time.Duration
	// Wake is how a RUNNING task is called again.
	Wake Wake
}

// Running asks to be polled again after backoff.
func Running(backoff time.Duration) Result {
	return Result{Status: model.StatusRunning, Backoff: backoff}
}

// Succeeded ends the task successfully.
func Succeeded() Result { return Result{Status: model.StatusSucceeded} }

// Failed ends the task with TERMINAL and records the message where Spinnaker
// users look for it: context.exception.details.errors.
func Failed(format string, args ...any) Result {
	return Result{Status: model.StatusTerminal, Context: ExceptionContext(sprintf(format, args...))}
}

// ExceptionContext is Spinnaker's shape for a stage's failure message.
func ExceptionContext(msg string) map[string]any {
	return map[string]any{
		"exception": map[string]any{
			"exceptionType": "gennaker",
			"shouldRetry":   false,
			"details": map[string]any{
				"error":  msg,
				"errors": []any{msg},
			},
		},
	}
}

// Run is what a task sees of the run it belongs to.
type Run struct {
	// Execution is the header with every stage, as last stored.
	Execution *model.Execution
	// Stage is the stage being run; its Context holds the evaluated config
	// and what earlier tasks of the stage recorded.
	Stage *model.StageExecution
	// Config is the stage's configuration as its definition decoded it for
	// this call (see Configurer); read it with ConfigOf. Nil for stage types
	// without one.
	Config any
	// Services reach beyond the stage.
	Services *Services
	// Now is the time the task is run.
	Now time.Time
}

// Services are what tasks may use beyond their own stage.
type Services struct {
	// Pipelines starts, reads and cancels other runs (the pipeline stage).
	Pipelines Pipelines
	// HTTP sends webhooks; nil means a client with a 30 s timeout.
	HTTP HTTPDoer
	// Store reads applications (traffic guards) and holds leases (cluster
	// locks).
	Store store.Store
	// Providers reach the accounts deployment stages act in.
	Providers *providers.Registry
}

// TriggerRequest asks for a pipeline to run.
type TriggerRequest struct {
	Application model.ApplicationName
	// PipelineID names the pipeline configuration to run.
	PipelineID model.PipelineID
	Trigger    model.ExecutionTrigger
	// IdempotencyKey makes a retried request return the run the first one
	// started instead of starting another.
	IdempotencyKey string
}

// Pipelines starts, reads and cancels runs.
type Pipelines interface {
	// Trigger starts a run and returns its id. Requests with the same
	// IdempotencyKey return the same run.
	Trigger(ctx context.Context, req TriggerRequest) (model.ExecutionID, error)
	// Get returns a run with its stages, or an error wrapping store.ErrNotFound.
	Get(ctx context.Context, id model.ExecutionID) (*model.Execution, error)
	// Cancel cancels a run; canceling a finished run does nothing.
	Cancel(ctx context.Context, id model.ExecutionID, user, reason string) error
}

// defaultHTTP is the client tasks use when the runtime gives none.
var defaultHTTP HTTPDoer = &http.Client{Timeout: 30 * time.Second}

// HTTP is the client tasks send their HTTP requests with: the runtime's, or
// one with a 30 s timeout.
func (r *Run) HTTP() HTTPDoer {
	if r.Services != nil && r.Services.HTTP != nil {
		return r.Services.HTTP
	}
	return defaultHTTP
}
