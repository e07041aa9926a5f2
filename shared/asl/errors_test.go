package asl_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/gennaker/gennaker/shared/asl"
)

// StageNotReady is a custom error a function returns by pointer.
type StageNotReady struct{ Stage string }

func (e *StageNotReady) Error() string { return "stage " + e.Stage + " is not ready" }

// QuotaError is a custom error returned by value.
type QuotaError string

func (e QuotaError) Error() string { return string(e) }

// script is a Function that fails with the given errors, in order, then
// succeeds; it records each payload it was called with.
type script struct {
	mu       sync.Mutex
	errs     []error
	payloads []json.RawMessage
	calls    []time.Time
}

func (s *script) fn(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payloads = append(s.payloads, p)
	s.calls = append(s.calls, time.Now())
	if n := len(s.payloads); n <= len(s.errs) && s.errs[n-1] != nil {
		return nil, s.errs[n-1]
	}
	return json.RawMessage(`{"ok":true}`), nil
}

func (s *script) attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.payloads)
}

func named(name string) error {
	return messages.InvokeResponse_Error{Type: name, Message: name + " happened"}
}

// taskWith builds a machine around one lambda:invoke task with the given
// Retry/Catch fields; catchers may go to "Caught" or "Other".
func taskWith(retryCatch string) string {
	extra := ""
	if strings.Contains(retryCatch, `"Caught"`) {
		extra += `,"Caught":{"Type":"Pass","End":true}`
	}
	if strings.Contains(retryCatch, `"Other"`) {
		extra += `,"Other":{"Type":"Pass","Result":"other","End":true}`
	}
	return `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
			"Parameters":{"FunctionName":"f","Payload":{"retry.$":"$$.State.RetryCount"}},
			"OutputPath":"$.Payload"` + retryCatch + `,"Next":"Done"},
		"Done":{"Type":"Succeed"}` + extra + `}}`
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name         string
		retryCatch   string
		errs         []error
		wantAttempts int
		wantStatus   asl.ExecutionStatus
		wantOutput   string // when SUCCEEDED
		wantError    string // when FAILED
	}{
		{
			name:         "recovers within MaxAttempts",
			retryCatch:   `,"Retry":[{"ErrorEquals":["Busy"],"IntervalSeconds":1,"MaxAttempts":3}]`,
			errs:         []error{named("Busy"), named("Busy"), named("Busy")},
			wantAttempts: 4, wantStatus: asl.StatusSucceeded, wantOutput: `{"ok":true}`,
		},
		{
			name:         "MaxAttempts defaults to 3",
			retryCatch:   `,"Retry":[{"ErrorEquals":["Busy"]}]`,
			errs:         []error{named("Busy"), named("Busy"), named("Busy"), named("Busy")},
			wantAttempts: 4, wantStatus: asl.StatusFailed, wantError: "Busy",
		},
		{
			name:         "MaxAttempts 0 never retries",
			retryCatch:   `,"Retry":[{"ErrorEquals":["Busy"],"MaxAttempts":0}]`,
			errs:         []error{named("Busy")},
			wantAttempts: 1, wantStatus: asl.StatusFailed, wantError: "Busy",
		},
		{
			name:         "non-matching error is not retried",
			retryCatch:   `,"Retry":[{"ErrorEquals":["Busy"]}]`,
			errs:         []error{named("Broken")},
			wantAttempts: 1, wantStatus: asl.StatusFailed, wantError: "Broken",
		},
		{
			name:         "States.ALL retries any error",
			retryCatch:   `,"Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":2}]`,
			errs:         []error{named("A"), errors.New("b")},
			wantAttempts: 3, wantStatus: asl.StatusSucceeded, wantOutput: `{"ok":true}`,
		},
		{
			// The developer guide's example: ErrorA, ErrorB, ErrorC, ErrorB.
			// The first retrier allows two retries across A and B, so the
			// fourth error is not retried and the catcher takes over.
			name:         "retrier attempts count across the errors it matches",
			retryCatch:   `,"Retry":[{"ErrorEquals":["ErrorA","ErrorB"],"MaxAttempts":2},{"ErrorEquals":["ErrorC"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}]`,
			errs:         []error{named("ErrorA"), named("ErrorB"), named("ErrorC"), named("ErrorB"), named("ErrorB")},
			wantAttempts: 4, wantStatus: asl.StatusSucceeded, wantOutput: `{"Error":"ErrorB","Cause":"ErrorB happened"}`,
		},
		{
			name:         "the first matching retrier decides",
			retryCatch:   `,"Retry":[{"ErrorEquals":["Busy"],"MaxAttempts":1},{"ErrorEquals":["States.ALL"],"MaxAttempts":5}]`,
			errs:         []error{named("Busy"), named("Busy")},
			wantAttempts: 2, wantStatus: asl.StatusFailed, wantError: "Busy",
		},
		{
			name:         "States.TaskFailed does not retry States.Timeout",
			retryCatch:   `,"TimeoutSeconds":1,"Retry":[{"ErrorEquals":["States.TaskFailed"]}]`,
			errs:         nil, // the function below sleeps past the timeout
			wantAttempts: 1, wantStatus: asl.StatusFailed, wantError: asl.ErrorTimeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{errs: tt.errs}
			fn := s.fn
			if tt.wantError == asl.ErrorTimeout {
				fn = func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
					s.fn(ctx, p)
					<-ctx.Done()
					return nil, ctx.Err()
				}
			}
			h := newHarness(t, map[string]asl.Function{"f": fn})
			d := h.run(taskWith(tt.retryCatch), `{}`)
			if got := s.attempts(); got != tt.wantAttempts {
				t.Errorf("function called %d times; want %d", got, tt.wantAttempts)
			}
			if tt.wantStatus == asl.StatusSucceeded {
				wantSucceeded(t, d, tt.wantOutput)
			} else {
				wantFailed(t, d, tt.wantError)
			}
		})
	}
}

func TestRetryCountInContext(t *testing.T) {
	s := &script{errs: []error{named("Busy"), named("Busy")}}
	h := newHarness(t, map[string]asl.Function{"f": s.fn})
	d := h.run(taskWith(`,"Retry":[{"ErrorEquals":["Busy"]}]`), `{}`)
	wantSucceeded(t, d, `{"ok":true}`)
	for i, p := range s.payloads {
		if want := fmt.Sprintf(`{"retry":%d}`, i); string(p) != want {
			t.Errorf("attempt %d payload = %s; want %s", i+1, p, want)
		}
	}
}

func TestRetryWaitsBetweenAttempts(t *testing.T) {
	// IntervalSeconds 20 and BackoffRate 2 at testScale: 200ms then 400ms.
	s := &script{errs: []error{named("Busy"), named("Busy")}}
	h := newHarness(t, map[string]asl.Function{"f": s.fn})
	d := h.run(taskWith(`,"Retry":[{"ErrorEquals":["Busy"],"IntervalSeconds":20,"BackoffRate":2}]`), `{}`)
	wantSucceeded(t, d, `{"ok":true}`)
	first, second := s.calls[1].Sub(s.calls[0]), s.calls[2].Sub(s.calls[1])
	if first < 190*time.Millisecond || second < 390*time.Millisecond {
		t.Fatalf("retries came after %v and %v; want at least 200ms and 400ms", first, second)
	}
}

func TestCatch(t *testing.T) {
	tests := []struct {
		name       string
		retryCatch string
		err        error
		want       string
	}{
		{
			name:       "error output replaces the input by default",
			retryCatch: `,"Catch":[{"ErrorEquals":["Broken"],"Next":"Caught"}]`,
			err:        named("Broken"),
			want:       `{"Error":"Broken","Cause":"Broken happened"}`,
		},
		{
			name:       "ResultPath adds the error output to the input",
			retryCatch: `,"Catch":[{"ErrorEquals":["Broken"],"ResultPath":"$.error-info","Next":"Caught"}]`,
			err:        named("Broken"),
			want:       `{"in":1,"error-info":{"Error":"Broken","Cause":"Broken happened"}}`,
		},
		{
			name:       "ResultPath null keeps the input",
			retryCatch: `,"Catch":[{"ErrorEquals":["Broken"],"ResultPath":null,"Next":"Caught"}]`,
			err:        named("Broken"),
			want:       `{"in":1}`,
		},
		{
			name:       "catchers are scanned in order",
			retryCatch: `,"Catch":[{"ErrorEquals":["Other"],"Next":"Other"},{"ErrorEquals":["Broken","X"],"ResultPath":null,"Next":"Caught"},{"ErrorEquals":["States.ALL"],"Next":"Other"}]`,
			err:        named("Broken"),
			want:       `{"in":1}`,
		},
		{
			name:       "States.TaskFailed catches a function error",
			retryCatch: `,"Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.e","Next":"Caught"}]`,
			err:        &StageNotReady{Stage: "deploy"},
			want:       `{"in":1,"e":{"Error":"StageNotReady","Cause":"stage deploy is not ready"}}`,
		},
		{
			name:       "retries exhausted, then caught",
			retryCatch: `,"Retry":[{"ErrorEquals":["Broken"],"MaxAttempts":1}],"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.e","Next":"Caught"}]`,
			err:        named("Broken"),
			want:       `{"in":1,"e":{"Error":"Broken","Cause":"Broken happened"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, tt.err }
			h := newHarness(t, map[string]asl.Function{"f": f})
			wantSucceeded(t, h.run(taskWith(tt.retryCatch), `{"in":1}`), tt.want)
		})
	}
}

func TestStatesRuntimeIsNeitherRetriedNorCaught(t *testing.T) {
	s := &script{}
	h := newHarness(t, map[string]asl.Function{"f": s.fn})
	def := `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload":{"x.$":"$.missing"}},
			"Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true},
		"Caught":{"Type":"Succeed"}}}`
	d := h.run(def, `{}`)
	wantFailed(t, d, asl.ErrorRuntime)
	if s.attempts() != 0 {
		t.Fatalf("function called %d times; want 0", s.attempts())
	}
}

func TestFunctionErrorNames(t *testing.T) {
	// Names follow aws-lambda-go: the dynamic type's name, without the
	// pointer; an InvokeResponse_Error keeps its own type.
	tests := []struct {
		name              string
		fn                asl.Function
		wantName, wantCau string
	}{
		{"errors.New", failWith(errors.New("boom")), "errorString", "boom"},
		{"fmt.Errorf %w", failWith(fmt.Errorf("wrapped: %w", errors.New("inner"))), "wrapError", "wrapped: inner"},
		{"custom pointer type", failWith(&StageNotReady{Stage: "canary"}), "StageNotReady", "stage canary is not ready"},
		{"custom value type", failWith(QuotaError("quota exceeded")), "QuotaError", "quota exceeded"},
		{"InvokeResponse_Error", failWith(messages.InvokeResponse_Error{Type: "Custom.Name", Message: "custom message"}), "Custom.Name", "custom message"},
		{"panic with a string", func(context.Context, json.RawMessage) (json.RawMessage, error) { panic("kaboom") }, "string", "kaboom"},
		{"panic with an error", func(context.Context, json.RawMessage) (json.RawMessage, error) { panic(&StageNotReady{Stage: "x"}) }, "StageNotReady", "stage x is not ready"},
		{"nil dereference", func(context.Context, json.RawMessage) (json.RawMessage, error) {
			var p *StageNotReady
			return nil, errors.New(p.Stage)
		}, "errorString", "runtime error: invalid memory address or nil pointer dereference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, map[string]asl.Function{"f": tt.fn})
			d := h.run(machine(`{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}`), `{}`)
			wantFailed(t, d, tt.wantName)
			if d.Cause != tt.wantCau {
				t.Fatalf("cause = %q; want %q", d.Cause, tt.wantCau)
			}
		})
	}
}

func failWith(err error) asl.Function {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, err }
}

func TestUnknownFunctionAtRuntime(t *testing.T) {
	h := newHarness(t, map[string]asl.Function{})
	d := h.run(machine(`{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName.$":"$.fn"},"End":true}`), `{"fn":"ghost"}`)
	wantFailed(t, d, "Lambda.ResourceNotFoundException")
	if !strings.Contains(d.Cause, "function:ghost") {
		t.Fatalf("cause %q does not name the function", d.Cause)
	}
}

func TestChoiceState(t *testing.T) {
	h := newHarness(t, nil)
	def := `{"StartAt":"Route","States":{
		"Route":{"Type":"Choice","InputPath":"$.order","OutputPath":"$.kind","Choices":[
			{"Variable":"$.kind","StringEquals":"express","Next":"Express"},
			{"And":[{"Variable":"$.weight","IsPresent":true},{"Variable":"$.weight","NumericGreaterThan":20}],"Next":"Freight"}
		],"Default":"Standard"},
		"Express":{"Type":"Pass","Result":"express","End":true},
		"Freight":{"Type":"Pass","Parameters":{"via":"freight","kind.$":"$"},"End":true},
		"Standard":{"Type":"Pass","Parameters":{"via":"standard","kind.$":"$"},"End":true}}}`
	tests := []struct{ name, input, want string }{
		{"first rule", `{"order":{"kind":"express"}}`, `"express"`},
		{"second rule", `{"order":{"kind":"bulk","weight":25}}`, `{"via":"freight","kind":"bulk"}`},
		{"Default", `{"order":{"kind":"bulk"}}`, `{"via":"standard","kind":"bulk"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantSucceeded(t, h.run(def, tt.input), tt.want)
		})
	}
	t.Run("no match and no Default", func(t *testing.T) {
		d := h.run(`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"E"}]},"E":{"Type":"Succeed"}}}`, `{"x":2}`)
		wantFailed(t, d, asl.ErrorNoChoiceMatched)
	})
	t.Run("missing Variable", func(t *testing.T) {
		d := h.run(`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"E"}],"Default":"E"},"E":{"Type":"Succeed"}}}`, `{}`)
		wantFailed(t, d, asl.ErrorRuntime)
	})
}
