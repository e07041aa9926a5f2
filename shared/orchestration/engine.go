package orchestration

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Engine runs state machines: AWS Step Functions in the cloud, the local
// Amazon States Language runtime on one machine. The orchestrator reaches
// it only through this interface, so its code is the same in both.
type Engine interface {
	// StartExecution starts a run of a state machine under a name. Starting
	// the same name with the same input again returns the existing run, so a
	// retried step cannot start two.
	StartExecution(ctx context.Context, stateMachineArn, name string, input json.RawMessage) (executionArn string, err error)
	// SendTaskSuccess completes the task waiting on token with output. A token
	// whose task is gone returns an error wrapping ErrTaskGone.
	SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error
	// SendTaskFailure fails the task waiting on token; ErrTaskGone as above.
	SendTaskFailure(ctx context.Context, token, errorName, cause string) error
	// SendTaskHeartbeat tells the task waiting on token that work goes on.
	SendTaskHeartbeat(ctx context.Context, token string) error
	// StopExecution aborts a run; stopping a finished run is not an error.
	StopExecution(ctx context.Context, executionArn, errorName, cause string) error
	// DescribeExecution reports a run's status, or an error wrapping
	// ErrExecutionNotFound.
	DescribeExecution(ctx context.Context, executionArn string) (ExecutionDescription, error)
}

// ExecutionDescription is what an engine says of one state machine run.
type ExecutionDescription struct {
	ExecutionArn string
	// Status is RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
	Status    string
	Input     json.RawMessage
	Output    json.RawMessage
	Error     string
	Cause     string
	StartDate time.Time
	StopDate  time.Time
}

// Engine errors, wrapped by every implementation.
var (
	// ErrTaskGone: the task behind a token has finished or timed out.
	ErrTaskGone = errors.New("task no longer waits on this token")
	// ErrExecutionNotFound: no state machine run has that ARN.
	ErrExecutionNotFound = errors.New("state machine execution not found")
)

// Machines names the state machines the orchestrator starts.
type Machines struct {
	// Pipeline is the ARN of the machine in statemachines/pipeline.asl.json.
	Pipeline string
	// Stage is the ARN of the machine in statemachines/stage.asl.json.
	Stage string
	// Families are the stage machines of the cloud providers whose tasks
	// run in a function of their own, by provider name; a stage of any
	// other provider runs on Stage.
	Families map[string]string
}
