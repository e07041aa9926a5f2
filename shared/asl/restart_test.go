package asl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/asl"
	"github.com/gennaker/gennaker/shared/asl/journaltest"
)

// frameField reads one field of an execution's root frame record.
func frameField(t testing.TB, j *journaltest.Memory, execArn, field string) (any, bool) {
	t.Helper()
	b, found, err := j.Get(context.Background(), "asl/fr/"+execArn+"/r")
	if err != nil || !found {
		return nil, false
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	v, ok := rec[field]
	return v, ok
}

// eventually polls cond until it holds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRestartKeepsWaitDeadline(t *testing.T) {
	j := journaltest.NewMemory()
	first := startHarness(t, j, nil, 1) // real seconds
	arn := first.register("sleeper", `{"StartAt":"Nap","States":{"Nap":{"Type":"Wait","Seconds":3,"Next":"Up"},"Up":{"Type":"Pass","Result":"awake","End":true}}}`)
	exec := first.start(arn, "nap-1", `{}`)
	eventually(t, "the Wait deadline is recorded", func() bool {
		_, ok := frameField(t, j, exec, "nb")
		return ok
	})
	raw, _ := frameField(t, j, exec, "nb")
	deadline, err := time.Parse(time.RFC3339Nano, raw.(string))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := first.rt.Close(); err != nil {
		t.Fatal(err)
	}
	if d, _ := first.rt.DescribeExecution(context.Background(), exec); d.Status != asl.StatusRunning {
		t.Fatalf("Close changed the execution to %s", d.Status)
	}

	// A new runtime on the same journal knows the machine and resumes the
	// Wait with its original deadline: about a second from now, where a
	// fresh Wait would take three.
	second := startHarness(t, j, nil, 1)
	d := second.wait(exec)
	wantSucceeded(t, d, `"awake"`)
	if d.StopDate.Before(deadline) {
		t.Fatalf("the execution ended at %v, before the Wait deadline %v", d.StopDate, deadline)
	}
	if late := d.StopDate.Sub(deadline); late > 1500*time.Millisecond {
		t.Fatalf("the execution ended %v after the original deadline: the Wait restarted", late)
	}
}

func TestRestartKeepsTaskToken(t *testing.T) {
	ctx := context.Background()
	j := journaltest.NewMemory()
	box := newInbox()
	var invocations counter
	fns := map[string]asl.Function{"notify-reviewer": invocations.wrap(box.fn)}
	first := startHarness(t, j, fns, testScale)
	arn := first.register("approval", readTestdata(t, "human-approval.asl.json"))
	exec := first.start(arn, "doc-7", `{"document":"d7"}`)
	token := box.next(t)
	eventually(t, "the task is recorded as waiting", func() bool {
		_, ok := frameField(t, j, exec, "w")
		return ok
	})
	if err := first.rt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.rt.SendTaskSuccess(ctx, token, json.RawMessage(`{}`)); err == nil {
		t.Fatal("a closed runtime accepted a task outcome")
	}

	second := startHarness(t, j, fns, testScale)
	if err := second.rt.SendTaskHeartbeat(ctx, token); err != nil {
		t.Fatalf("heartbeat with the old token after restart: %v", err)
	}
	if err := second.rt.SendTaskSuccess(ctx, token, json.RawMessage(`{"approved":true}`)); err != nil {
		t.Fatalf("SendTaskSuccess with the old token after restart: %v", err)
	}
	wantSucceeded(t, second.wait(exec), `{"document":"d7","decision":{"approved":true},"outcome":"published"}`)
	if invocations.count() != 1 {
		t.Fatalf("the notifier was invoked %d times; a waiting callback task must not be invoked again", invocations.count())
	}
}

func TestRestartReinvokesTaskInFlight(t *testing.T) {
	j := journaltest.NewMemory()
	var calls atomic.Int64
	entered := make(chan struct{}, 1)
	fns := map[string]asl.Function{"deploy": func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		if calls.Add(1) == 1 {
			entered <- struct{}{}
			<-ctx.Done() // killed mid-flight
			return nil, ctx.Err()
		}
		return json.RawMessage(`"deployed"`), nil
	}}
	first := startHarness(t, j, fns, testScale)
	arn := first.register("deployer", machine(`{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:deploy","End":true}`))
	exec := first.start(arn, "d1", `{}`)
	<-entered
	if err := first.rt.Close(); err != nil {
		t.Fatal(err)
	}
	second := startHarness(t, j, fns, testScale)
	wantSucceeded(t, second.wait(exec), `"deployed"`)
	if calls.Load() != 2 {
		t.Fatalf("deploy ran %d times; want 2 (at least once)", calls.Load())
	}
	// Ended executions stay describable from a fresh runtime.
	third := startHarness(t, j, fns, testScale)
	d, err := third.rt.DescribeExecution(context.Background(), exec)
	if err != nil || d.Status != asl.StatusSucceeded || string(d.Output) != `"deployed"` {
		t.Fatalf("describe after restart = %+v, %v", d, err)
	}
}

// crashWorkflow exercises every durable point: a retried task, a Parallel
// with a Map inside, a Wait, a callback task and a final task.
const crashWorkflow = `{"StartAt":"Prepare","States":{
	"Prepare":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"FunctionName":"step","Payload":{"step":"prepare","retry.$":"$$.State.RetryCount","items.$":"$.items"}},
		"ResultSelector":{"items.$":"$.Payload.items"},
		"Retry":[{"ErrorEquals":["FirstTryFails"],"IntervalSeconds":1}],"Next":"Fan"},
	"Fan":{"Type":"Parallel","Branches":[
		{"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":2,
			"ItemProcessor":{"StartAt":"Item","States":{"Item":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:step","End":true}}},"End":true}}},
		{"StartAt":"Side","States":{"Side":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"step","Payload":{"step":"side"}},"OutputPath":"$.Payload","Next":"Nap"},
			"Nap":{"Type":"Wait","Seconds":5,"End":true}}}
	],"Next":"Approve"},
	"Approve":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"approve","Payload":{"token.$":"$$.Task.Token"}},"ResultPath":"$[1]","Next":"Finish"},
	"Finish":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:step","End":true}}}`

// crashFunctions are deterministic, so every run of the workflow yields the
// same output; approve completes its own task from a goroutine.
func crashFunctions(rt func() *asl.Runtime, onCall func()) map[string]asl.Function {
	step := func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		onCall()
		var in struct {
			Step  string
			Retry int
			Items []any
		}
		_ = json.Unmarshal(p, &in)
		if in.Step == "prepare" && in.Retry == 0 {
			return nil, QuotaErrorAsFirstTry("first try fails")
		}
		return json.Marshal(map[string]any{"saw": json.RawMessage(p), "items": in.Items})
	}
	approve := func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		onCall()
		var in struct{ Token string }
		_ = json.Unmarshal(p, &in)
		go func() { _ = rt().SendTaskSuccess(context.Background(), in.Token, json.RawMessage(`"approved"`)) }()
		return json.RawMessage(`{}`), nil
	}
	return map[string]asl.Function{"step": step, "approve": approve}
}

// FirstTryFails is the error the crash workflow retries.
type FirstTryFails string

func (e FirstTryFails) Error() string { return string(e) }

// QuotaErrorAsFirstTry returns an error named FirstTryFails.
func QuotaErrorAsFirstTry(msg string) error { return FirstTryFails(msg) }

// TestCrashAtEveryInvocation simulates SIGKILL at every function
// invocation: it snapshots the journal there, resumes the snapshot in a new
// runtime and checks that the execution still produces the output of an
// uninterrupted run.
func TestCrashAtEveryInvocation(t *testing.T) {
	const input = `{"items":[1,2,3]}`
	var (
		mu        sync.Mutex
		snapshots []*journaltest.Memory
		j         = journaltest.NewMemory()
		h         *harness
	)
	fns := crashFunctions(func() *asl.Runtime { return h.rt }, func() {
		mu.Lock()
		snapshots = append(snapshots, j.Clone())
		mu.Unlock()
	})
	h = startHarness(t, j, fns, testScale)
	arn := h.register("crashy", crashWorkflow)
	exec := h.start(arn, "c1", input)
	reference := h.wait(exec)
	if reference.Status != asl.StatusSucceeded {
		t.Fatalf("uninterrupted run: %s %s %s", reference.Status, reference.Error, reference.Cause)
	}
	mu.Lock()
	snaps := snapshots
	mu.Unlock()
	if len(snaps) < 8 {
		t.Fatalf("only %d invocations; the workflow should make at least 8", len(snaps))
	}
	for i, snap := range snaps {
		t.Run(fmt.Sprintf("crash at invocation %d", i+1), func(t *testing.T) {
			// A resumed task may run before startHarness returns.
			ready := make(chan *asl.Runtime, 1)
			runtime := func() *asl.Runtime {
				rt := <-ready
				ready <- rt
				return rt
			}
			r := startHarness(t, snap, crashFunctions(runtime, func() {}), testScale)
			ready <- r.rt
			d := r.wait(exec)
			if d.Status != asl.StatusSucceeded || !jsonEq(t, d.Output, string(reference.Output)) {
				t.Fatalf("resumed run: %s %s %s\noutput %s\nwant   %s", d.Status, d.Error, d.Cause, d.Output, reference.Output)
			}
			if keys := snap.Keys("asl/fr/"); len(keys) != 0 {
				t.Fatalf("frame records left behind: %v", keys)
			}
		})
	}
}

func TestStartSweepsStaleFrames(t *testing.T) {
	j := journaltest.NewMemory()
	ctx := context.Background()
	// A frame of an execution that has ended, as a crash between the final
	// record and the cleanup leaves it.
	_ = j.Put(ctx, "asl/ex/arn:aws:states:local:000000000000:execution:m:done", []byte(`{"arn":"arn:aws:states:local:000000000000:execution:m:done","status":"SUCCEEDED","input":{}}`))
	_ = j.Put(ctx, "asl/fr/arn:aws:states:local:000000000000:execution:m:done/r", []byte(`{"s":"A"}`))
	startHarness(t, j, nil, testScale)
	if keys := j.Keys("asl/fr/"); len(keys) != 0 {
		t.Fatalf("stale frames survived Start: %v", keys)
	}
}

func TestJournalFailureStallsTheExecution(t *testing.T) {
	j := journaltest.NewMemory()
	h := startHarness(t, j, map[string]asl.Function{"echo": echo}, testScale)
	arn := h.register("stall", machine(`{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","End":true}`))
	j.FailPuts(fmt.Errorf("disk full"))
	if _, err := h.rt.StartExecution(context.Background(), arn, "s", nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("StartExecution with a failing journal = %v; want the journal's error", err)
	}
}

// snapshotting is a journal that keeps a copy of its content after every
// write, each one what a process killed right then would leave behind.
type snapshotting struct {
	*journaltest.Memory
	mu    sync.Mutex
	snaps []*journaltest.Memory
}

func (s *snapshotting) Put(ctx context.Context, key string, value []byte) error {
	if err := s.Memory.Put(ctx, key, value); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snaps = append(s.snaps, s.Memory.Clone())
	return nil
}

// TestCrashAfterEveryJournalWrite resumes the journal as it was after each
// write of an uninterrupted run and checks every resumed run ends alike.
func TestCrashAfterEveryJournalWrite(t *testing.T) {
	const input = `{"items":[1,2,3,4]}`
	j := &snapshotting{Memory: journaltest.NewMemory()}
	var rt *asl.Runtime
	ready := make(chan struct{})
	fns := crashFunctions(func() *asl.Runtime { <-ready; return rt }, func() {})
	var err error
	if rt, err = asl.New(asl.Options{Journal: j, Functions: fns}); err != nil {
		t.Fatal(err)
	}
	close(ready)
	asl.SetTimeScale(rt, testScale)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	h := &harness{t: t, rt: rt}
	exec := h.start(h.register("crashy", crashWorkflow), "w1", input)
	reference := h.wait(exec)
	if reference.Status != asl.StatusSucceeded {
		t.Fatalf("uninterrupted run: %s %s %s", reference.Status, reference.Error, reference.Cause)
	}
	j.mu.Lock()
	snaps := j.snaps
	j.mu.Unlock()
	for i, snap := range snaps {
		t.Run(fmt.Sprintf("crash after write %d", i+1), func(t *testing.T) {
			// Crashed after the notifier ran but before the outcome was
			// recorded: the worker's SendTaskSuccess failed, and it sends
			// again to the new runtime with the same token.
			tok, hasToken := frameField(t, snap, exec, "tk")
			_, invoked := frameField(t, snap, exec, "w")
			_, hasOutcome := frameField(t, snap, exec, "o")
			workerRetries := hasToken && invoked && !hasOutcome

			readyRT := make(chan *asl.Runtime, 1)
			runtime := func() *asl.Runtime {
				rt := <-readyRT
				readyRT <- rt
				return rt
			}
			r := startHarness(t, snap, crashFunctions(runtime, func() {}), testScale)
			readyRT <- r.rt
			if _, err := r.rt.DescribeExecution(context.Background(), exec); err != nil {
				return // the crash came before the execution was started
			}
			if workerRetries {
				if err := r.rt.SendTaskSuccess(context.Background(), tok.(string), json.RawMessage(`"approved"`)); err != nil {
					t.Fatalf("worker retry: %v", err)
				}
			}
			d := r.wait(exec)
			if d.Status != asl.StatusSucceeded || !jsonEq(t, d.Output, string(reference.Output)) {
				t.Fatalf("resumed run: %s %s %s\noutput %s\nwant   %s", d.Status, d.Error, d.Cause, d.Output, reference.Output)
			}
		})
	}
	t.Logf("%d journal writes, each resumed", len(snaps))
}

func TestRestartResumesSyncChild(t *testing.T) {
	j := journaltest.NewMemory()
	first := startHarness(t, j, nil, testScale)
	first.register("child", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":30,"Next":"P"},"P":{"Type":"Pass","Result":"child done","End":true}}}`)
	exec := first.start(first.register("parent", machine(`{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
		"Parameters":{"StateMachineArn":"arn:aws:states:local:000000000000:stateMachine:child","Input":{"from.$":"$$.Execution.Id"}},"OutputPath":"$.Output","End":true}`)), "p", `{}`)
	const children = "asl/ex/arn:aws:states:local:000000000000:execution:child:"
	eventually(t, "the child is waiting", func() bool {
		keys := j.Keys("asl/fr/arn:aws:states:local:000000000000:execution:child:")
		return len(keys) == 1
	})
	crashed := j.Clone() // killed while the parent waits for its child

	second := startHarness(t, crashed, nil, testScale)
	wantSucceeded(t, second.wait(exec), `"child done"`)
	if keys := crashed.Keys(children); len(keys) != 1 {
		t.Fatalf("child executions after the restart: %v; the resumed task must find its child, not start another", keys)
	}
}
