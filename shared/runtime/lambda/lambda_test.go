package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

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
	ctx = context.WithValue(ctx, traceHeaderKey, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")

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

// A sampled invocation sends the X-Ray daemon a subsegment per step,
// annotated with the run and stage, under the invocation's segment.
func TestTracedStepSendsASubsegmentToTheDaemon(t *testing.T) {
	daemon, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close()
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", daemon.LocalAddr().String())
	ctx := context.WithValue(context.Background(), traceHeaderKey, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	step := Traced(slog.New(slog.NewJSONHandler(io.Discard, nil)), func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{}`), nil
	})
	if _, err := step(ctx, json.RawMessage(`{"action":"runStage","executionId":"E1","stageId":"S1"}`)); err != nil {
		t.Fatal(err)
	}
	_ = daemon.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64<<10)
	n, _, err := daemon.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no subsegment reached the daemon: %v", err)
	}
	header, body, _ := strings.Cut(string(buf[:n]), "\n")
	var seg struct {
		Name        string            `json:"name"`
		TraceID     string            `json:"trace_id"`
		ParentID    string            `json:"parent_id"`
		Type        string            `json:"type"`
		Start       float64           `json:"start_time"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal([]byte(body), &seg); err != nil || !strings.Contains(header, `"format": "json"`) {
		t.Fatalf("daemon got %q: %v", buf[:n], err)
	}
	if seg.Name != "step runStage" || seg.TraceID != "1-5759e988-bd862e3fe1be46a994272793" || seg.ParentID != "53995c3f42cd8ad8" ||
		seg.Type != "subsegment" || seg.Annotations["executionId"] != "E1" || seg.Annotations["stageId"] != "S1" {
		t.Fatalf("subsegment %+v", seg)
	}
}
