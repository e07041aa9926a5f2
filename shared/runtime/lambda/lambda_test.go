package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-xray-sdk-go/xray"

	"github.com/gennaker/gennaker/shared/orchestration"
)

// In Lambda a step runs inside an X-Ray subsegment; what it returns, and the
// type of the error the state machines route on, must come out unchanged.
func TestTracedStepKeepsOutputAndErrorTypeInLambda(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "gennaker-tasks")
	t.Setenv("LAMBDA_TASK_ROOT", "/var/task")
	t.Setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000")
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	// The Lambda runtime hands the trace header to the handler this way.
	ctx = context.WithValue(ctx, xray.LambdaTraceHeaderKey, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")

	ok := Traced(log, func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"next":"done","backoff":0}`), nil
	})
	out, err := ok(ctx, json.RawMessage(`{"action":"runStage","executionId":"E","stageId":"S"}`))
	if err != nil || string(out) != `{"next":"done","backoff":0}` {
		t.Fatalf("out %s err %v", out, err)
	}

	failing := Traced(log, func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		return nil, &orchestration.TransientError{Err: errors.New("store busy")}
	})
	_, err = failing(ctx, json.RawMessage(`{"action":"runStage","executionId":"E"}`))
	var te *orchestration.TransientError
	if !errors.As(err, &te) {
		t.Fatalf("error type lost through tracing: %T %v", err, err)
	}
}
