package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/gennaker/gennaker/shared/orchestration"
)

// fakeSFN is a stand-in for the Step Functions client that answers each call
// with a canned error, to test how the engine maps the service's answers.
type fakeSFN struct {
	api
	err     error
	started *sfn.StartExecutionInput
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.started = in
	if f.err != nil {
		return nil, f.err
	}
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:run")}, nil
}

func (f *fakeSFN) SendTaskSuccess(context.Context, *sfn.SendTaskSuccessInput, ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	return nil, f.err
}

func TestStartExecutionTreatsAnExistingRunAsStarted(t *testing.T) {
	f := &fakeSFN{err: &types.ExecutionAlreadyExists{Message: aws.String("exists")}}
	arn, err := New(f).StartExecution(context.Background(), "arn:aws:states:eu-west-1:123456789012:stateMachine:gennaker-stage", "s1-Deploy-1", json.RawMessage(`{}`))
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if want := "arn:aws:states:eu-west-1:123456789012:execution:gennaker-stage:s1-Deploy-1"; arn != want {
		t.Fatalf("arn = %s, want %s", arn, want)
	}
	if aws.ToString(f.started.Name) != "s1-Deploy-1" {
		t.Fatalf("started name %q", aws.ToString(f.started.Name))
	}
}

func TestTaskErrorsMapToErrTaskGone(t *testing.T) {
	for name, err := range map[string]error{
		"does not exist": &types.TaskDoesNotExist{},
		"timed out":      &types.TaskTimedOut{},
		"invalid token":  &types.InvalidToken{},
	} {
		t.Run(name, func(t *testing.T) {
			got := New(&fakeSFN{err: err}).SendTaskSuccess(context.Background(), "tok", json.RawMessage(`{}`))
			if !errors.Is(got, orchestration.ErrTaskGone) {
				t.Fatalf("err = %v, want ErrTaskGone", got)
			}
		})
	}
	other := New(&fakeSFN{err: errors.New("throttled")}).SendTaskSuccess(context.Background(), "tok", nil)
	if other == nil || errors.Is(other, orchestration.ErrTaskGone) {
		t.Fatalf("a throttle is not a gone task: %v", other)
	}
}
