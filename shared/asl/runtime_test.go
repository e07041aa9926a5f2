package asl_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gennaker/gennaker/shared/asl"
	"github.com/gennaker/gennaker/shared/asl/journaltest"
)

func TestStartExecutionIsIdempotent(t *testing.T) {
	ctx := context.Background()
	box := newInbox()
	h := newHarness(t, map[string]asl.Function{"notify": box.fn})
	arn := h.register("idem", callbackMachine(""))

	first := h.start(arn, "run-1", `{"a":1}`)
	if first != "arn:aws:states:local:000000000000:execution:idem:run-1" {
		t.Fatalf("execution ARN = %s", first)
	}
	again, err := h.rt.StartExecution(ctx, arn, "run-1", json.RawMessage(`{ "a" : 1 }`))
	if err != nil || again != first {
		t.Fatalf("same name and input while running = %q, %v; want %q, nil", again, err, first)
	}
	var exists *asl.ExecutionAlreadyExists
	if _, err := h.rt.StartExecution(ctx, arn, "run-1", json.RawMessage(`{"a":2}`)); !errors.As(err, &exists) {
		t.Fatalf("same name, other input = %v; want *ExecutionAlreadyExists", err)
	}
	if err := h.rt.SendTaskSuccess(ctx, box.next(t), json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	h.wait(first)
	if _, err := h.rt.StartExecution(ctx, arn, "run-1", json.RawMessage(`{"a":1}`)); !errors.As(err, &exists) {
		t.Fatalf("same name and input after the execution ended = %v; want *ExecutionAlreadyExists (as Step Functions)", err)
	}
}

func TestStartExecutionValidation(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	arn := h.register("valid", machine(`{"Type":"Pass","End":true}`))
	generated := h.start(arn, "", ``)
	if !regexp.MustCompile(`:execution:valid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(generated) {
		t.Fatalf("generated execution ARN %s does not end in a UUID", generated)
	}
	wantSucceeded(t, h.wait(generated), `{}`)

	var (
		badName   *asl.InvalidName
		badInput  *asl.InvalidExecutionInput
		noMachine *asl.StateMachineDoesNotExist
		noExec    *asl.ExecutionDoesNotExist
	)
	if _, err := h.rt.StartExecution(ctx, arn, "has space", nil); !errors.As(err, &badName) {
		t.Errorf("name with a space: %v", err)
	}
	if _, err := h.rt.StartExecution(ctx, arn, strings.Repeat("n", 81), nil); !errors.As(err, &badName) {
		t.Errorf("81-character name: %v", err)
	}
	if _, err := h.rt.StartExecution(ctx, arn, "x", json.RawMessage(`{oops`)); !errors.As(err, &badInput) {
		t.Errorf("invalid input: %v", err)
	}
	if _, err := h.rt.StartExecution(ctx, asl.StateMachineArn("ghost"), "x", nil); !errors.As(err, &noMachine) {
		t.Errorf("unknown machine: %v", err)
	}
	if _, err := h.rt.DescribeExecution(ctx, asl.ExecutionArn("valid", "never")); !errors.As(err, &noExec) {
		t.Errorf("describe unknown execution: %v", err)
	}
	// A state machine ARN from a real account resolves by name.
	d := h.wait(h.start("arn:aws:states:eu-west-1:123456789012:stateMachine:valid", "by-name", `[1]`))
	wantSucceeded(t, d, `[1]`)
}

func TestRuntimeLifecycle(t *testing.T) {
	ctx := context.Background()
	j := journaltest.NewMemory()
	rt, err := asl.New(asl.Options{Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	arn, err := rt.RegisterStateMachine("life", []byte(machine(`{"Type":"Pass","End":true}`)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.StartExecution(ctx, arn, "early", nil); !errors.Is(err, asl.ErrNotStarted) {
		t.Fatalf("StartExecution before Start = %v; want ErrNotStarted", err)
	}
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(ctx); err == nil {
		t.Fatal("a second Start succeeded")
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := rt.StartExecution(ctx, arn, "late", nil); !errors.Is(err, asl.ErrClosed) {
		t.Fatalf("StartExecution after Close = %v; want ErrClosed", err)
	}
	if _, err := asl.New(asl.Options{}); err == nil {
		t.Fatal("New without a Journal succeeded")
	}
}

func TestStopExecution(t *testing.T) {
	ctx := context.Background()
	box := newInbox()
	h := newHarness(t, map[string]asl.Function{"notify": box.fn})
	exec := h.start(h.register("stoppable", callbackMachine("")), "s1", `{}`)
	tok := box.next(t)
	if err := h.rt.StopExecution(ctx, exec, "Operator.Abort", "changed my mind"); err != nil {
		t.Fatal(err)
	}
	d := h.wait(exec)
	if d.Status != asl.StatusAborted || d.Error != "Operator.Abort" || d.Cause != "changed my mind" || d.StopDate.IsZero() {
		t.Fatalf("after stop: %+v", d)
	}
	var timedOut *asl.TaskTimedOut
	if err := h.rt.SendTaskSuccess(ctx, tok, json.RawMessage(`{}`)); !errors.As(err, &timedOut) {
		t.Fatalf("SendTaskSuccess after stop = %v; want *TaskTimedOut", err)
	}
	if err := h.rt.StopExecution(ctx, exec, "", ""); err != nil {
		t.Fatalf("stopping an ended execution = %v; want nil", err)
	}
	var noExec *asl.ExecutionDoesNotExist
	if err := h.rt.StopExecution(ctx, asl.ExecutionArn("stoppable", "nope"), "", ""); !errors.As(err, &noExec) {
		t.Fatalf("stopping an unknown execution = %v", err)
	}
}

func TestExecutionTimeout(t *testing.T) {
	h := newHarness(t, nil)
	d := h.run(`{"StartAt":"W","TimeoutSeconds":2,"States":{"W":{"Type":"Wait","Seconds":100000,"End":true}}}`, `{}`)
	if d.Status != asl.StatusTimedOut || d.Error != asl.ErrorTimeout {
		t.Fatalf("status %s, error %q; want TIMED_OUT with States.Timeout", d.Status, d.Error)
	}
}

func TestHistoryEventLimit(t *testing.T) {
	j := journaltest.NewMemory()
	rt, err := asl.New(asl.Options{Journal: j, MaxHistoryEvents: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	h := &harness{t: t, rt: rt, journal: j}
	arn := h.register("loop", readTestdata(t, "counter-loop.asl.json"))

	d := h.wait(h.start(arn, "short", `{"limit":5}`))
	wantSucceeded(t, d, `5`)
	if d.HistoryEventCount < 20 || d.HistoryEventCount > 100 {
		t.Fatalf("HistoryEventCount = %d for a 5-round loop; want roughly 2 per state", d.HistoryEventCount)
	}
	d = h.wait(h.start(arn, "long", `{"limit":1000}`))
	wantFailed(t, d, asl.ErrorRuntime)
	if !strings.Contains(d.Cause, "maximum number of history events (100)") {
		t.Fatalf("cause = %q", d.Cause)
	}
}

func TestContextObject(t *testing.T) {
	box := newInbox()
	var payload json.RawMessage
	var mu sync.Mutex
	capture := func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		mu.Lock()
		payload = p
		mu.Unlock()
		return box.fn(ctx, p)
	}
	h := newHarness(t, map[string]asl.Function{"capture": capture})
	arn := h.register("ctxmachine", `{"StartAt":"Look","States":{
		"Look":{"Type":"Pass","Parameters":{"ctx.$":"$$"},"Next":"Ask"},
		"Ask":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
			"Parameters":{"FunctionName":"capture","Payload":{"token.$":"$$.Task.Token","state.$":"$$.State.Name"}},"ResultPath":null,"End":true}}}`)
	exec := h.start(arn, "ctx-run", `{"in":true}`)
	if err := h.rt.SendTaskSuccess(context.Background(), box.next(t), json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	d := h.wait(exec)
	var out struct {
		Ctx struct {
			Execution struct {
				Id, Name, RoleArn, StartTime string
				Input                        map[string]bool
			}
			State struct {
				Name, EnteredTime string
				RetryCount        int
			}
			StateMachine struct{ Id, Name string }
			Task         *struct{ Token string }
		}
	}
	if err := json.Unmarshal(d.Output, &out); err != nil {
		t.Fatal(err)
	}
	c := out.Ctx
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	switch {
	case c.Execution.Id != exec, c.Execution.Name != "ctx-run", !c.Execution.Input["in"],
		!strings.HasPrefix(c.Execution.RoleArn, "arn:aws:iam::"), !stamp.MatchString(c.Execution.StartTime):
		t.Errorf("Execution = %+v", c.Execution)
	case c.State.Name != "Look", c.State.RetryCount != 0, !stamp.MatchString(c.State.EnteredTime):
		t.Errorf("State = %+v", c.State)
	case c.StateMachine.Id != arn, c.StateMachine.Name != "ctxmachine":
		t.Errorf("StateMachine = %+v", c.StateMachine)
	case c.Task != nil:
		t.Errorf("Task is set outside a task: %+v", c.Task)
	}
	var p struct{ Token, State string }
	mu.Lock()
	_ = json.Unmarshal(payload, &p)
	mu.Unlock()
	if p.Token == "" || p.State != "Ask" {
		t.Errorf("task payload = %+v", p)
	}
}

func TestFunctionsRunConcurrentlyAcrossExecutions(t *testing.T) {
	const n = 12
	var wg sync.WaitGroup
	wg.Add(n)
	barrier := func(context.Context, json.RawMessage) (json.RawMessage, error) {
		wg.Done()
		wg.Wait() // returns only once all n executions are inside the function
		return json.RawMessage(`"met"`), nil
	}
	h := newHarness(t, map[string]asl.Function{"barrier": barrier})
	arn := h.register("meet", machine(`{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:barrier","End":true}`))
	var execs []string
	for range n {
		execs = append(execs, h.start(arn, "", `{}`))
	}
	for _, e := range execs {
		wantSucceeded(t, h.wait(e), `"met"`)
	}
}

func TestJournalWritesPerTransition(t *testing.T) {
	// Ten tasks separated by Pass and Choice states: one write when the
	// execution starts, one before each task, one when it ends.
	var states []string
	for i := range 10 {
		next := "P" + itoa(i)
		states = append(states,
			`"T`+itoa(i)+`":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","Next":"`+next+`"}`,
			`"P`+itoa(i)+`":{"Type":"Pass","Result":{"i":`+itoa(i)+`},"Next":"C`+itoa(i)+`"}`,
			`"C`+itoa(i)+`":{"Type":"Choice","Choices":[{"Variable":"$.i","NumericEquals":-1,"Next":"Fail"}],"Default":"`+nextTask(i)+`"}`)
	}
	def := `{"StartAt":"T0","States":{` + strings.Join(states, ",") + `,"Fail":{"Type":"Fail"},"End":{"Type":"Succeed"}}}`
	h := newHarness(t, map[string]asl.Function{"echo": echo})
	arn := h.register("writes", def)
	before := h.journal.Puts()
	d := h.wait(h.start(arn, "", `{}`))
	wantSucceeded(t, d, `{"i":9}`)
	if puts := h.journal.Puts() - before; puts != 12 {
		t.Fatalf("%d journal writes for 10 tasks and 30 states; want 12", puts)
	}
	if keys := h.journal.Keys("asl/fr/"); len(keys) != 0 {
		t.Fatalf("frame records left behind: %v", keys)
	}
	if d.HistoryEventCount < 2*30 {
		t.Fatalf("HistoryEventCount = %d; want at least 2 per state", d.HistoryEventCount)
	}
}

func nextTask(i int) string {
	if i == 9 {
		return "End"
	}
	return "T" + itoa(i+1)
}

func itoa(i int) string { return strconv.Itoa(i) }
