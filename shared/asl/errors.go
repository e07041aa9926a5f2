package asl

import (
	"errors"
	"fmt"
)

// Error names defined by the Amazon States Language. A state reports errors
// by name; Retry and Catch match on these names.
const (
	ErrorAll                     = "States.ALL"
	ErrorTaskFailed              = "States.TaskFailed"
	ErrorTimeout                 = "States.Timeout"
	ErrorHeartbeatTimeout        = "States.HeartbeatTimeout"
	ErrorRuntime                 = "States.Runtime"
	ErrorDataLimitExceeded       = "States.DataLimitExceeded"
	ErrorNoChoiceMatched         = "States.NoChoiceMatched"
	ErrorIntrinsicFailure        = "States.IntrinsicFailure"
	ErrorResultPathMatchFailure  = "States.ResultPathMatchFailure"
	ErrorParameterPathFailure    = "States.ParameterPathFailure"
	ErrorBranchFailed            = "States.BranchFailed"
	ErrorPermissions             = "States.Permissions"
	ErrorExceedToleratedFailures = "States.ExceedToleratedFailureThreshold"
)

// knownStatesErrors lists the States.* names a Retry or Catch may name.
var knownStatesErrors = map[string]bool{
	ErrorAll: true, ErrorTaskFailed: true, ErrorTimeout: true,
	ErrorHeartbeatTimeout: true, ErrorRuntime: true, ErrorDataLimitExceeded: true,
	ErrorNoChoiceMatched: true, ErrorIntrinsicFailure: true,
	ErrorResultPathMatchFailure: true, ErrorParameterPathFailure: true,
	ErrorBranchFailed: true, ErrorPermissions: true, ErrorExceedToleratedFailures: true,
	"States.ItemReaderFailed": true, "States.ResultWriterFailed": true,
	"States.QueryEvaluationError": true,
}

// Error is an error raised inside an execution: the (Error, Cause) pair that
// Retry and Catch route on, that a catcher's error output carries, and that a
// failed execution reports.
type Error struct {
	Name  string // error name, e.g. "States.Timeout" or "StageNotReady"
	Cause string // human-readable cause; may be empty
}

func (e *Error) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// terminal reports whether the error can be neither retried nor caught, as
// Step Functions treats States.Runtime and States.DataLimitExceeded.
func (e *Error) terminal() bool {
	return e.Name == ErrorRuntime || e.Name == ErrorDataLimitExceeded
}

// matches reports whether a Retry or Catch ErrorEquals entry covers e.
func (e *Error) matches(name string) bool {
	if e.terminal() {
		return false
	}
	switch name {
	case ErrorAll:
		return true
	case ErrorTaskFailed:
		return e.Name != ErrorTimeout
	default:
		return name == e.Name
	}
}

func newError(name, format string, args ...any) *Error {
	return &Error{Name: name, Cause: fmt.Sprintf(format, args...)}
}

func runtimeError(format string, args ...any) *Error {
	return newError(ErrorRuntime, format, args...)
}

// asStatesError extracts an *Error from err, if it carries one.
func asStatesError(err error) (*Error, bool) {
	var se *Error
	if errors.As(err, &se) {
		return se, true
	}
	return nil, false
}

// DefinitionError reports why a state machine definition is invalid. Where
// names the offending state, including the enclosing Parallel branch or Map
// iterator for nested states; it is empty for machine-level problems.
type DefinitionError struct {
	Where  string // e.g. `state "Check"` or `state "Fan": branch 1: state "A"`
	Reason string // e.g. "Choice state has no Choices"
}

func (e *DefinitionError) Error() string {
	if e.Where == "" {
		return e.Reason
	}
	return e.Where + ": " + e.Reason
}

// The API error types below mirror the exceptions the Step Functions API
// returns, so that callers written against the AWS SDK decide the same way.

// StateMachineDoesNotExist is returned for an unknown state machine ARN.
type StateMachineDoesNotExist struct{ Arn string }

func (e *StateMachineDoesNotExist) Error() string {
	return fmt.Sprintf("StateMachineDoesNotExist: state machine %s does not exist", e.Arn)
}

// ExecutionDoesNotExist is returned for an unknown execution ARN.
type ExecutionDoesNotExist struct{ Arn string }

func (e *ExecutionDoesNotExist) Error() string {
	return fmt.Sprintf("ExecutionDoesNotExist: execution %s does not exist", e.Arn)
}

// ExecutionAlreadyExists is returned by StartExecution when an execution with
// the same name exists and either its input differs or it has already ended.
type ExecutionAlreadyExists struct{ Arn string }

func (e *ExecutionAlreadyExists) Error() string {
	return fmt.Sprintf("ExecutionAlreadyExists: execution %s already exists", e.Arn)
}

// InvalidName is returned for a state machine or execution name that Step
// Functions would refuse.
type InvalidName struct{ Name, Reason string }

func (e *InvalidName) Error() string {
	return fmt.Sprintf("InvalidName: %q: %s", e.Name, e.Reason)
}

// InvalidExecutionInput is returned when an execution input is not JSON.
type InvalidExecutionInput struct{ Reason string }

func (e *InvalidExecutionInput) Error() string {
	return "InvalidExecutionInput: " + e.Reason
}

// InvalidOutput is returned by SendTaskSuccess when the output is not JSON.
type InvalidOutput struct{ Reason string }

func (e *InvalidOutput) Error() string { return "InvalidOutput: " + e.Reason }

// TaskDoesNotExist is returned for a task token that this runtime never
// issued (or that names an execution it does not know).
type TaskDoesNotExist struct{ Token string }

func (e *TaskDoesNotExist) Error() string {
	return "TaskDoesNotExist: task token does not exist"
}

// TaskTimedOut is returned for a task token whose task is no longer waiting:
// it completed, timed out, or its execution ended.
type TaskTimedOut struct{ Token string }

func (e *TaskTimedOut) Error() string {
	return "TaskTimedOut: task timed out or already completed"
}

// ErrClosed is returned by API calls on a closed Runtime.
var ErrClosed = errors.New("asl: runtime is closed")

// ErrNotStarted is returned by StartExecution until Start has loaded the journal.
var ErrNotStarted = errors.New("asl: runtime is not started")
