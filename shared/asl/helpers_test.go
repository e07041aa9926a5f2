package asl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/asl"
	"github.com/gennaker/gennaker/shared/asl/journaltest"
)

// testScale shrinks definition durations: one definition second lasts 10ms.
const testScale = 0.01

// harness is a started runtime on an in-memory journal.
type harness struct {
	t       testing.TB
	rt      *asl.Runtime
	journal *journaltest.Memory
	fns     map[string]asl.Function
}

func newHarness(t testing.TB, fns map[string]asl.Function) *harness {
	t.Helper()
	return startHarness(t, journaltest.NewMemory(), fns, testScale)
}

func startHarness(t testing.TB, j *journaltest.Memory, fns map[string]asl.Function, scale float64) *harness {
	t.Helper()
	rt, err := asl.New(asl.Options{Journal: j, Functions: fns})
	if err != nil {
		t.Fatal(err)
	}
	asl.SetTimeScale(rt, scale)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return &harness{t: t, rt: rt, journal: j, fns: fns}
}

// register registers a definition given as a string.
func (h *harness) register(name, definition string) string {
	h.t.Helper()
	arn, err := h.rt.RegisterStateMachine(name, []byte(definition))
	if err != nil {
		h.t.Fatalf("register %s: %v", name, err)
	}
	return arn
}

// start starts an execution and returns its ARN.
func (h *harness) start(machineArn, name, input string) string {
	h.t.Helper()
	arn, err := h.rt.StartExecution(context.Background(), machineArn, name, json.RawMessage(input))
	if err != nil {
		h.t.Fatalf("start execution: %v", err)
	}
	return arn
}

// wait waits for an execution to end.
func (h *harness) wait(execArn string) asl.ExecutionDescription {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := h.rt.Wait(ctx, execArn)
	if err != nil {
		h.t.Fatalf("wait for %s: %v", execArn, err)
	}
	return d
}

// run registers definition under a unique name, runs it on input to the
// end and describes the execution.
func (h *harness) run(definition, input string) asl.ExecutionDescription {
	h.t.Helper()
	name := fmt.Sprintf("m%d", machineSeq.Add(1))
	return h.wait(h.start(h.register(name, definition), "", input))
}

var machineSeq atomic.Int64

// readTestdata returns testdata/name.
func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jsonEq reports whether two JSON texts are equal as values.
func jsonEq(t testing.TB, got json.RawMessage, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("output %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("expected %q is not JSON: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// wantSucceeded asserts the execution succeeded with the given output.
func wantSucceeded(t testing.TB, d asl.ExecutionDescription, output string) {
	t.Helper()
	if d.Status != asl.StatusSucceeded {
		t.Fatalf("status = %s (%s: %s); want SUCCEEDED", d.Status, d.Error, d.Cause)
	}
	if !jsonEq(t, d.Output, output) {
		t.Fatalf("output = %s\nwant     %s", d.Output, output)
	}
}

// wantFailed asserts the execution failed with the given error name.
func wantFailed(t testing.TB, d asl.ExecutionDescription, errorName string) {
	t.Helper()
	if d.Status != asl.StatusFailed || d.Error != errorName {
		t.Fatalf("status = %s, error = %q (cause %q); want FAILED with %q", d.Status, d.Error, d.Cause, errorName)
	}
}

// echo is a Function returning its payload.
func echo(_ context.Context, payload json.RawMessage) (json.RawMessage, error) {
	return payload, nil
}

// constant is a Function returning a fixed JSON document.
func constant(out string) asl.Function {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(out), nil
	}
}

// counter counts invocations of the functions it wraps.
type counter struct{ n atomic.Int64 }

func (c *counter) wrap(fn asl.Function) asl.Function {
	return func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		c.n.Add(1)
		return fn(ctx, p)
	}
}

func (c *counter) count() int { return int(c.n.Load()) }
