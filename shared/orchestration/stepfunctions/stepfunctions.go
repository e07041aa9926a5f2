// Package stepfunctions runs gennaker's state machines on AWS Step Functions:
// it is the cloud implementation of orchestration.Engine.
package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/gennaker/gennaker/shared/orchestration"
)

// api is the part of the Step Functions client the engine uses.
type api interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, opts ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
	SendTaskHeartbeat(ctx context.Context, in *sfn.SendTaskHeartbeatInput, opts ...func(*sfn.Options)) (*sfn.SendTaskHeartbeatOutput, error)
	StopExecution(ctx context.Context, in *sfn.StopExecutionInput, opts ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// Engine is orchestration.Engine on Step Functions.
type Engine struct {
	client api
}

var _ orchestration.Engine = (*Engine)(nil)

// New returns an engine using the given client (an *sfn.Client).
func New(client api) *Engine { return &Engine{client: client} }

// StartExecution starts a run. Step Functions answers ExecutionAlreadyExists
// for a name already used by a finished run; the orchestrator names runs
// deterministically precisely so that a retried start finds the first one,
// so that answer means the run was started and is not an error.
func (e *Engine) StartExecution(ctx context.Context, machine, name string, input json.RawMessage) (string, error) {
	out, err := e.client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(machine),
		Name:            aws.String(name),
		Input:           aws.String(string(input)),
	})
	var exists *types.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return orchestration.ExecutionArn(machine, name), nil
	}
	if err != nil {
		return "", fmt.Errorf("start execution %s of %s: %w", name, machine, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

func taskErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var gone *types.TaskDoesNotExist
	var timedOut *types.TaskTimedOut
	var invalid *types.InvalidToken
	if errors.As(err, &gone) || errors.As(err, &timedOut) || errors.As(err, &invalid) {
		return fmt.Errorf("%s: %w: %v", op, orchestration.ErrTaskGone, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// SendTaskSuccess implements orchestration.Engine.
func (e *Engine) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	_, err := e.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(output))})
	return taskErr("send task success", err)
}

// SendTaskFailure implements orchestration.Engine.
func (e *Engine) SendTaskFailure(ctx context.Context, token, name, cause string) error {
	_, err := e.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String(name), Cause: aws.String(cause)})
	return taskErr("send task failure", err)
}

// SendTaskHeartbeat implements orchestration.Engine.
func (e *Engine) SendTaskHeartbeat(ctx context.Context, token string) error {
	_, err := e.client.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(token)})
	return taskErr("send task heartbeat", err)
}

// StopExecution implements orchestration.Engine.
func (e *Engine) StopExecution(ctx context.Context, arn, name, cause string) error {
	_, err := e.client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn), Error: aws.String(name), Cause: aws.String(cause)})
	if err != nil {
		return fmt.Errorf("stop execution %s: %w", arn, err)
	}
	return nil
}

// DescribeExecution implements orchestration.Engine.
func (e *Engine) DescribeExecution(ctx context.Context, arn string) (orchestration.ExecutionDescription, error) {
	out, err := e.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var missing *types.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return orchestration.ExecutionDescription{}, fmt.Errorf("describe %s: %w", arn, orchestration.ErrExecutionNotFound)
	}
	if err != nil {
		return orchestration.ExecutionDescription{}, fmt.Errorf("describe %s: %w", arn, err)
	}
	d := orchestration.ExecutionDescription{
		ExecutionArn: arn,
		Status:       string(out.Status),
		Error:        aws.ToString(out.Error),
		Cause:        aws.ToString(out.Cause),
		StartDate:    aws.ToTime(out.StartDate),
		StopDate:     aws.ToTime(out.StopDate),
	}
	if out.Input != nil {
		d.Input = json.RawMessage(*out.Input)
	}
	if out.Output != nil {
		d.Output = json.RawMessage(*out.Output)
	}
	return d, nil
}
