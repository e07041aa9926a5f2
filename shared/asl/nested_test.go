package asl_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/asl"
)

func TestStartExecutionIntegration(t *testing.T) {
	h := newHarness(t, nil)
	h.register("child", readTestdata(t, "nested-child.asl.json"))
	parent := h.register("parent", readTestdata(t, "nested-parent.asl.json"))

	t.Run(".sync:2 then fire and forget", func(t *testing.T) {
		exec := h.start(parent, "p1", `{"value":21}`)
		d := h.wait(exec)
		if d.Status != asl.StatusSucceeded {
			t.Fatalf("parent %s: %s %s", d.Status, d.Error, d.Cause)
		}
		var out struct {
			Value int
			Child struct {
				ChildOutput struct{ Doubled int }
				Status      string
			}
			Started struct {
				ExecutionArn string
				StartDate    int64
			}
		}
		if err := json.Unmarshal(d.Output, &out); err != nil {
			t.Fatal(err)
		}
		if out.Child.ChildOutput.Doubled != 42 || out.Child.Status != "SUCCEEDED" {
			t.Fatalf("child result = %+v; want doubled 42, SUCCEEDED", out.Child)
		}
		if !strings.HasPrefix(out.Started.ExecutionArn, "arn:aws:states:local:000000000000:execution:child:") || out.Started.StartDate < time.Now().Add(-time.Hour).UnixMilli() {
			t.Fatalf("fire-and-forget result = %+v", out.Started)
		}
		child := h.wait(out.Started.ExecutionArn)
		wantSucceeded(t, child, `{"doubled":0}`)
	})
	t.Run("the child sees the parent's execution ID", func(t *testing.T) {
		exec := h.start(parent, "p2", `{"value":1}`)
		h.wait(exec)
		// The child's name derives from the parent task, so it is stable.
		found := false
		for _, key := range h.journal.Keys("asl/ex/arn:aws:states:local:000000000000:execution:child:") {
			arn := strings.TrimPrefix(key, "asl/ex/")
			d, err := h.rt.DescribeExecution(context.Background(), arn)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(d.Input), `"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID":"`+exec+`"`) {
				found = true
			}
		}
		if !found {
			t.Fatal("no child execution carries the parent's execution ID")
		}
	})
	t.Run("a failed child fails the .sync:2 task", func(t *testing.T) {
		d := h.wait(h.start(parent, "p3", `{"value":-1}`))
		wantFailed(t, d, asl.ErrorTaskFailed)
		var cause struct {
			Status, Error, Cause string
		}
		if err := json.Unmarshal([]byte(d.Cause), &cause); err != nil {
			t.Fatalf("cause %q is not the child's description: %v", d.Cause, err)
		}
		if cause.Status != "FAILED" || cause.Error != "NegativeValue" || cause.Cause != "value must not be negative" {
			t.Fatalf("cause = %+v", cause)
		}
	})
}

func TestStartExecutionSyncV1AndCallback(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	h.register("child", readTestdata(t, "nested-child.asl.json"))
	t.Run(".sync returns Output as a string", func(t *testing.T) {
		d := h.run(machine(`{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync","Parameters":{"StateMachineArn":"arn:aws:states:local:000000000000:stateMachine:child","Input":{"value":2},"Name":"explicit-name"},"ResultSelector":{"out.$":"$.Output","name.$":"$.Name"},"End":true}`), `{}`)
		wantSucceeded(t, d, `{"out":"{\"doubled\":4}","name":"explicit-name"}`)
	})
	t.Run("Input as a JSON string", func(t *testing.T) {
		d := h.run(machine(`{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","Parameters":{"StateMachineArn":"arn:aws:states:local:000000000000:stateMachine:child","Input":"{\"value\":3}"},"OutputPath":"$.Output","End":true}`), `{}`)
		wantSucceeded(t, d, `{"doubled":6}`)
	})
	t.Run("unknown state machine", func(t *testing.T) {
		d := h.run(machine(`{"Type":"Task","Resource":"arn:aws:states:::states:startExecution","Parameters":{"StateMachineArn":"arn:aws:states:local:000000000000:stateMachine:ghost"},"End":true}`), `{}`)
		wantFailed(t, d, "StepFunctions.StateMachineDoesNotExistException")
	})
	t.Run(".waitForTaskToken", func(t *testing.T) {
		// The child hands the token back through its own output; the test
		// plays the child's last step and completes the parent's task.
		h.register("token-child", `{"StartAt":"Hold","States":{"Hold":{"Type":"Pass","End":true}}}`)
		exec := h.start(h.register("token-parent", machine(`{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.waitForTaskToken",
			"Parameters":{"StateMachineArn":"arn:aws:states:local:000000000000:stateMachine:token-child","Input":{"token.$":"$$.Task.Token"}},"End":true}`)), "", `{}`)
		var token string
		deadline := time.Now().Add(10 * time.Second)
		for token == "" && time.Now().Before(deadline) {
			for _, key := range h.journal.Keys("asl/ex/arn:aws:states:local:000000000000:execution:token-child:") {
				d, _ := h.rt.DescribeExecution(ctx, strings.TrimPrefix(key, "asl/ex/"))
				var out struct{ Token string }
				if d.Status == asl.StatusSucceeded && json.Unmarshal(d.Output, &out) == nil {
					token = out.Token
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		if token == "" {
			t.Fatal("the child execution never ran")
		}
		if err := h.rt.SendTaskSuccess(ctx, token, json.RawMessage(`{"answer":42}`)); err != nil {
			t.Fatal(err)
		}
		wantSucceeded(t, h.wait(exec), `{"answer":42}`)
	})
}

func TestStoppingParentStopsSyncChild(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	h.register("slow-child", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100000,"End":true}}}`)
	parent := h.start(h.register("waiting-parent", machine(`{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
		"Parameters":{"StateMachineArn":"arn:aws:states:local:000000000000:stateMachine:slow-child","Name":"the-child"},"End":true}`)), "", `{}`)
	child := asl.ExecutionArn("slow-child", "the-child")
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := h.rt.DescribeExecution(ctx, child); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := h.rt.StopExecution(ctx, parent, "Cancelled", "by the test"); err != nil {
		t.Fatal(err)
	}
	if d := h.wait(parent); d.Status != asl.StatusAborted || d.Error != "Cancelled" {
		t.Fatalf("parent: %s %s", d.Status, d.Error)
	}
	if d := h.wait(child); d.Status != asl.StatusAborted {
		t.Fatalf("child: %s; want ABORTED", d.Status)
	}
}
