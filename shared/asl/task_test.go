package asl_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/asl"
)

// inbox is a Function that hands out the task token it receives in its
// payload's "token" field, as a notifier would.
type inbox struct{ tokens chan string }

func newInbox() *inbox { return &inbox{tokens: make(chan string, 16)} }

func (b *inbox) fn(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
	var in struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(p, &in); err != nil || in.Token == "" {
		return nil, errors.New("no token in payload")
	}
	b.tokens <- in.Token
	return json.RawMessage(`{}`), nil
}

func (b *inbox) next(t testing.TB) string {
	t.Helper()
	select {
	case tok := <-b.tokens:
		return tok
	case <-time.After(10 * time.Second):
		t.Fatal("no task token was handed out")
		return ""
	}
}

func TestCallbackHumanApproval(t *testing.T) {
	ctx := context.Background()
	box := newInbox()
	h := newHarness(t, map[string]asl.Function{"notify-reviewer": box.fn})
	arn := h.register("approval", readTestdata(t, "human-approval.asl.json"))

	t.Run("SendTaskSuccess", func(t *testing.T) {
		exec := h.start(arn, "approved", `{"document":"d1"}`)
		if err := h.rt.SendTaskSuccess(ctx, box.next(t), json.RawMessage(`{"approved":true,"by":"ana"}`)); err != nil {
			t.Fatal(err)
		}
		wantSucceeded(t, h.wait(exec), `{"document":"d1","decision":{"approved":true,"by":"ana"},"outcome":"published"}`)
	})
	t.Run("SendTaskFailure is caught", func(t *testing.T) {
		exec := h.start(arn, "rejected", `{"document":"d2"}`)
		if err := h.rt.SendTaskFailure(ctx, box.next(t), "Rejected", "not good enough"); err != nil {
			t.Fatal(err)
		}
		wantSucceeded(t, h.wait(exec), `{"document":"d2","rejection":{"Error":"Rejected","Cause":"not good enough"},"outcome":"archived"}`)
	})
	t.Run("SendTaskFailure not caught fails the execution", func(t *testing.T) {
		exec := h.start(arn, "broken", `{"document":"d3"}`)
		if err := h.rt.SendTaskFailure(ctx, box.next(t), "ReviewerGone", "left the company"); err != nil {
			t.Fatal(err)
		}
		d := h.wait(exec)
		wantFailed(t, d, "ReviewerGone")
		if d.Cause != "left the company" {
			t.Fatalf("cause = %q", d.Cause)
		}
	})
	t.Run("a used token has timed out", func(t *testing.T) {
		exec := h.start(arn, "twice", `{"document":"d4"}`)
		tok := box.next(t)
		if err := h.rt.SendTaskSuccess(ctx, tok, json.RawMessage(`{"approved":false}`)); err != nil {
			t.Fatal(err)
		}
		h.wait(exec)
		var timedOut *asl.TaskTimedOut
		if err := h.rt.SendTaskSuccess(ctx, tok, json.RawMessage(`{}`)); !errors.As(err, &timedOut) {
			t.Fatalf("second SendTaskSuccess = %v; want *TaskTimedOut", err)
		}
		if err := h.rt.SendTaskHeartbeat(ctx, tok); !errors.As(err, &timedOut) {
			t.Fatalf("SendTaskHeartbeat after completion = %v; want *TaskTimedOut", err)
		}
	})
	t.Run("invalid output", func(t *testing.T) {
		var invalid *asl.InvalidOutput
		if err := h.rt.SendTaskSuccess(ctx, "whatever", json.RawMessage(`{nope`)); !errors.As(err, &invalid) {
			t.Fatalf("SendTaskSuccess with bad JSON = %v; want *InvalidOutput", err)
		}
	})
}

func TestUnknownTaskToken(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	var missing *asl.TaskDoesNotExist
	for _, tok := range []string{"", "garbage!", "YXJuOmF3czpzdGF0ZXM6bG9jYWw6MDAwMDAwMDAwMDAwOmV4ZWN1dGlvbjpNOk4KcgphYmM"} {
		if err := h.rt.SendTaskSuccess(ctx, tok, json.RawMessage(`{}`)); !errors.As(err, &missing) {
			t.Errorf("SendTaskSuccess(%q) = %v; want *TaskDoesNotExist", tok, err)
		}
		if err := h.rt.SendTaskFailure(ctx, tok, "E", "C"); !errors.As(err, &missing) {
			t.Errorf("SendTaskFailure(%q) = %v; want *TaskDoesNotExist", tok, err)
		}
		if err := h.rt.SendTaskHeartbeat(ctx, tok); !errors.As(err, &missing) {
			t.Errorf("SendTaskHeartbeat(%q) = %v; want *TaskDoesNotExist", tok, err)
		}
	}
}

func callbackMachine(timers string) string {
	return `{"StartAt":"Wait for it","States":{"Wait for it":{"Type":"Task",
		"Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"notify","Payload":{"token.$":"$$.Task.Token"}}` + timers + `,"End":true}}}`
}

func TestCallbackTimers(t *testing.T) {
	ctx := context.Background()
	t.Run("heartbeats keep the task alive", func(t *testing.T) {
		box := newInbox()
		h := newHarness(t, map[string]asl.Function{"notify": box.fn})
		// HeartbeatSeconds 10 at testScale: 100ms. Beat every 20ms for 400ms.
		exec := h.start(h.register("hb", callbackMachine(`,"HeartbeatSeconds":10`)), "", `{}`)
		tok := box.next(t)
		for range 20 {
			time.Sleep(20 * time.Millisecond)
			if err := h.rt.SendTaskHeartbeat(ctx, tok); err != nil {
				t.Fatalf("heartbeat: %v", err)
			}
		}
		if err := h.rt.SendTaskSuccess(ctx, tok, json.RawMessage(`"alive"`)); err != nil {
			t.Fatal(err)
		}
		wantSucceeded(t, h.wait(exec), `"alive"`)
	})
	t.Run("missing heartbeat", func(t *testing.T) {
		box := newInbox()
		h := newHarness(t, map[string]asl.Function{"notify": box.fn})
		exec := h.start(h.register("nohb", callbackMachine(`,"HeartbeatSeconds":5`)), "", `{}`)
		tok := box.next(t)
		wantFailed(t, h.wait(exec), asl.ErrorHeartbeatTimeout)
		var timedOut *asl.TaskTimedOut
		if err := h.rt.SendTaskSuccess(ctx, tok, json.RawMessage(`{}`)); !errors.As(err, &timedOut) {
			t.Fatalf("SendTaskSuccess after the heartbeat timeout = %v; want *TaskTimedOut", err)
		}
	})
	t.Run("TimeoutSeconds", func(t *testing.T) {
		box := newInbox()
		h := newHarness(t, map[string]asl.Function{"notify": box.fn})
		exec := h.start(h.register("to", callbackMachine(`,"TimeoutSeconds":5`)), "", `{}`)
		box.next(t)
		wantFailed(t, h.wait(exec), asl.ErrorTimeout)
	})
	t.Run("TimeoutSecondsPath", func(t *testing.T) {
		box := newInbox()
		h := newHarness(t, map[string]asl.Function{"notify": box.fn})
		exec := h.start(h.register("top", callbackMachine(`,"TimeoutSecondsPath":"$.timeout"`)), "", `{"timeout":5}`)
		box.next(t)
		wantFailed(t, h.wait(exec), asl.ErrorTimeout)
	})
	t.Run("a retry hands out a new token", func(t *testing.T) {
		box := newInbox()
		h := newHarness(t, map[string]asl.Function{"notify": box.fn})
		exec := h.start(h.register("retry", callbackMachine(`,"Retry":[{"ErrorEquals":["Busy"]}]`)), "", `{}`)
		first := box.next(t)
		if err := h.rt.SendTaskFailure(ctx, first, "Busy", "try later"); err != nil {
			t.Fatal(err)
		}
		second := box.next(t)
		if second == first {
			t.Fatal("the retry reused the token")
		}
		var timedOut *asl.TaskTimedOut
		if err := h.rt.SendTaskSuccess(ctx, first, json.RawMessage(`{}`)); !errors.As(err, &timedOut) {
			t.Fatalf("SendTaskSuccess with the first token = %v; want *TaskTimedOut", err)
		}
		if err := h.rt.SendTaskSuccess(ctx, second, json.RawMessage(`2`)); err != nil {
			t.Fatal(err)
		}
		wantSucceeded(t, h.wait(exec), `2`)
	})
}

func TestCallbackFromInsideTheFunction(t *testing.T) {
	// A function may complete its own task before it returns.
	var h *harness
	notify := func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in struct{ Token string }
		_ = json.Unmarshal(p, &in)
		return nil, h.rt.SendTaskSuccess(ctx, in.Token, json.RawMessage(`{"sync":true}`))
	}
	h = newHarness(t, map[string]asl.Function{"notify": notify})
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"notify","Payload":{"Token.$":"$$.Task.Token"}},"End":true}}}`
	wantSucceeded(t, h.run(def, `{}`), `{"sync":true}`)
}

func TestCallbackFunctionFails(t *testing.T) {
	h := newHarness(t, map[string]asl.Function{"notify": failWith(&StageNotReady{Stage: "s"})})
	d := h.run(callbackMachine(""), `{}`)
	wantFailed(t, d, "StageNotReady")
}

func TestTaskTimeout(t *testing.T) {
	t.Run("a function that ignores its context", func(t *testing.T) {
		slow := func(context.Context, json.RawMessage) (json.RawMessage, error) {
			time.Sleep(300 * time.Millisecond)
			return json.RawMessage(`"late"`), nil
		}
		h := newHarness(t, map[string]asl.Function{"slow": slow})
		d := h.run(machine(`{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:slow","TimeoutSeconds":2,"End":true}`), `{}`)
		wantFailed(t, d, asl.ErrorTimeout)
	})
	t.Run("the function sees its deadline", func(t *testing.T) {
		var deadline time.Time
		fn := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			deadline, _ = ctx.Deadline()
			return json.RawMessage(`1`), nil
		}
		h := newHarness(t, map[string]asl.Function{"f": fn})
		d := h.run(machine(`{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","TimeoutSeconds":100,"End":true}`), `{}`)
		wantSucceeded(t, d, `1`)
		if deadline.IsZero() {
			t.Fatal("the function's context had no deadline")
		}
	})
	t.Run("caught timeout", func(t *testing.T) {
		block := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		h := newHarness(t, map[string]asl.Function{"block": block})
		def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:block","TimeoutSeconds":1,
			"Catch":[{"ErrorEquals":["States.Timeout"],"ResultPath":"$.err","Next":"Late"}],"End":true},"Late":{"Type":"Pass","OutputPath":"$.err.Error","End":true}}}`
		wantSucceeded(t, h.run(def, `{}`), `"States.Timeout"`)
	})
}

func TestLambdaInvokeVariants(t *testing.T) {
	got := make(chan json.RawMessage, 1)
	h := newHarness(t, map[string]asl.Function{
		"record": func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
			got <- p
			return nil, nil
		},
		"text": constant(`not json`),
	})
	t.Run("InvocationType Event", func(t *testing.T) {
		d := h.run(machine(`{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"record","InvocationType":"Event","Payload":{"a":1}},"End":true}`), `{}`)
		wantSucceeded(t, d, `{"Payload":"","StatusCode":202}`)
		select {
		case p := <-got:
			if string(p) != `{"a":1}` {
				t.Fatalf("payload = %s", p)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the function was not invoked")
		}
	})
	t.Run("empty output is null", func(t *testing.T) {
		d := h.run(machine(`{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:record:prod"},"End":true}`), `{}`)
		<-got
		wantSucceeded(t, d, `{"ExecutedVersion":"$LATEST","Payload":null,"StatusCode":200}`)
	})
	t.Run("output that is not JSON is a string", func(t *testing.T) {
		d := h.run(machine(`{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:text","End":true}`), `{}`)
		wantSucceeded(t, d, `"not json"`)
	})
}
