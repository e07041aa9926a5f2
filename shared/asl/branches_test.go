package asl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/asl"
)

func TestParallel(t *testing.T) {
	h := newHarness(t, map[string]asl.Function{
		"echo": echo,
		"fail": failWith(&StageNotReady{Stage: "b"}),
	})
	tests := []struct {
		name, state, input, want string
	}{
		{
			name: "results in branch order",
			state: `{"Type":"Parallel","Branches":[
				{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":3,"Next":"A2"},"A2":{"Type":"Pass","Result":"a","End":true}}},
				{"StartAt":"B","States":{"B":{"Type":"Pass","Result":"b","End":true}}},
				{"StartAt":"C","States":{"C":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","End":true}}}
			],"End":true}`,
			input: `{"x":1}`,
			want:  `["a","b",{"x":1}]`,
		},
		{
			name: "Parameters, ResultSelector and ResultPath",
			state: `{"Type":"Parallel","Parameters":{"v.$":"$.x"},"Branches":[
				{"StartAt":"A","States":{"A":{"Type":"Pass","OutputPath":"$.v","End":true}}},
				{"StartAt":"B","States":{"B":{"Type":"Pass","Parameters":{"twice.$":"States.MathAdd($.v, $.v)"},"End":true}}}
			],"ResultSelector":{"first.$":"$[0]","second.$":"$[1].twice"},"ResultPath":"$.out","End":true}`,
			input: `{"x":21}`,
			want:  `{"x":21,"out":{"first":21,"second":42}}`,
		},
		{
			name: "a failed branch is caught",
			state: `{"Type":"Parallel","Branches":[
				{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":1000,"End":true}}},
				{"StartAt":"B","States":{"B":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:fail","End":true}}}
			],"Catch":[{"ErrorEquals":["StageNotReady"],"Next":"Caught"}],"End":true}`,
			input: `{}`,
			want:  `{"Error":"StageNotReady","Cause":"stage b is not ready"}`,
		},
		{
			name: "nested Parallel",
			state: `{"Type":"Parallel","Branches":[
				{"StartAt":"In","States":{"In":{"Type":"Parallel","Branches":[
					{"StartAt":"X","States":{"X":{"Type":"Pass","Result":1,"End":true}}},
					{"StartAt":"Y","States":{"Y":{"Type":"Pass","Result":2,"End":true}}}],"End":true}}}
			],"End":true}`,
			input: `{}`,
			want:  `[[1,2]]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := machine(tt.state)
			if strings.Contains(tt.state, `"Caught"`) {
				def = `{"StartAt":"S","States":{"S":` + tt.state + `,"Caught":{"Type":"Pass","End":true}}}`
			}
			start := time.Now()
			wantSucceeded(t, h.run(def, tt.input), tt.want)
			if strings.Contains(tt.name, "caught") && time.Since(start) > 5*time.Second {
				t.Fatal("the waiting sibling branch was not cancelled")
			}
		})
	}
	t.Run("an uncaught branch failure fails the execution with the branch's error", func(t *testing.T) {
		d := h.run(machine(`{"Type":"Parallel","Branches":[
			{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}},
			{"StartAt":"B","States":{"B":{"Type":"Fail","Error":"BranchBroke","Cause":"b"}}}],"End":true}`), `{}`)
		wantFailed(t, d, "BranchBroke")
	})
}

func TestParallelRetry(t *testing.T) {
	var calls atomic.Int64
	flaky := func(context.Context, json.RawMessage) (json.RawMessage, error) {
		if calls.Add(1) == 1 {
			return nil, &StageNotReady{Stage: "first"}
		}
		return json.RawMessage(`"ok"`), nil
	}
	h := newHarness(t, map[string]asl.Function{"flaky": flaky})
	d := h.run(machine(`{"Type":"Parallel","Branches":[
		{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:flaky","End":true}}}
	],"Retry":[{"ErrorEquals":["StageNotReady"]}],"End":true}`), `{}`)
	wantSucceeded(t, d, `["ok"]`)
	if calls.Load() != 2 {
		t.Fatalf("branch task ran %d times; want 2", calls.Load())
	}
}

func TestMap(t *testing.T) {
	h := newHarness(t, map[string]asl.Function{"echo": echo})
	iterator := `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`
	tests := []struct {
		name, state, input, want string
	}{
		{
			name:  "input array",
			state: `{"Type":"Map","ItemProcessor":{"StartAt":"Double","States":{"Double":{"Type":"Pass","Parameters":{"v.$":"States.MathAdd($, $)"},"End":true}}},"End":true}`,
			input: `[1,2,3]`,
			want:  `[{"v":2},{"v":4},{"v":6}]`,
		},
		{
			name:  "ItemsPath, ItemSelector with $$.Map.Item, ResultPath",
			state: `{"Type":"Map","ItemsPath":"$.items","ItemSelector":{"index.$":"$$.Map.Item.Index","value.$":"$$.Map.Item.Value","batch.$":"$.batch"},"ItemProcessor":` + iterator + `,"ResultPath":"$.results","End":true}`,
			input: `{"batch":"b1","items":["x","y"]}`,
			want:  `{"batch":"b1","items":["x","y"],"results":[{"index":0,"value":"x","batch":"b1"},{"index":1,"value":"y","batch":"b1"}]}`,
		},
		{
			// The developer guide's context object example, with the
			// legacy Iterator and Parameters fields.
			name:  "legacy Iterator and Parameters",
			state: `{"Type":"Map","Parameters":{"ContextIndex.$":"$$.Map.Item.Index","ContextValue.$":"$$.Map.Item.Value"},"Iterator":{"StartAt":"TestPass","States":{"TestPass":{"Type":"Pass","End":true}}},"End":true}`,
			input: `[{"who":"bob"},{"who":"meg"},{"who":"joe"}]`,
			want:  `[{"ContextIndex":0,"ContextValue":{"who":"bob"}},{"ContextIndex":1,"ContextValue":{"who":"meg"}},{"ContextIndex":2,"ContextValue":{"who":"joe"}}]`,
		},
		{
			name:  "empty array",
			state: `{"Type":"Map","ItemProcessor":` + iterator + `,"End":true}`,
			input: `[]`,
			want:  `[]`,
		},
		{
			name:  "tasks in iterations and ResultSelector",
			state: `{"Type":"Map","ItemsPath":"$.n","MaxConcurrency":1,"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","End":true}}},"ResultSelector":{"count.$":"States.ArrayLength($)","first.$":"$[0]"},"End":true}`,
			input: `{"n":[5,6,7]}`,
			want:  `{"count":3,"first":5}`,
		},
		{
			name:  "nested Map",
			state: `{"Type":"Map","ItemProcessor":{"StartAt":"Inner","States":{"Inner":{"Type":"Map","ItemProcessor":` + iterator + `,"End":true}}},"End":true}`,
			input: `[[1,2],[3]]`,
			want:  `[[1,2],[3]]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantSucceeded(t, h.run(machine(tt.state), tt.input), tt.want)
		})
	}
	t.Run("items that are not an array", func(t *testing.T) {
		wantFailed(t, h.run(machine(`{"Type":"Map","ItemProcessor":`+iterator+`,"End":true}`), `{"a":1}`), asl.ErrorRuntime)
	})
	t.Run("a failed iteration fails the Map", func(t *testing.T) {
		d := h.run(machine(`{"Type":"Map","ItemProcessor":{"StartAt":"C","States":{
			"C":{"Type":"Choice","Choices":[{"Variable":"$","NumericEquals":2,"Next":"F"}],"Default":"P"},
			"F":{"Type":"Fail","Error":"ItemTwo"},"P":{"Type":"Pass","End":true}}},"End":true}`), `[1,2,3]`)
		wantFailed(t, d, "ItemTwo")
	})
}

func TestMapMaxConcurrency(t *testing.T) {
	for _, limit := range []int{1, 3} {
		t.Run(fmt.Sprintf("MaxConcurrency %d", limit), func(t *testing.T) {
			var running, peak atomic.Int64
			work := func(context.Context, json.RawMessage) (json.RawMessage, error) {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(20 * time.Millisecond)
				running.Add(-1)
				return json.RawMessage(`"done"`), nil
			}
			h := newHarness(t, map[string]asl.Function{"work": work})
			def := machine(fmt.Sprintf(`{"Type":"Map","MaxConcurrency":%d,"ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:work","End":true}}},"OutputPath":"$[9]","End":true}`, limit))
			wantSucceeded(t, h.run(def, `[0,1,2,3,4,5,6,7,8,9]`), `"done"`)
			if got := peak.Load(); got > int64(limit) {
				t.Fatalf("%d iterations ran at once; MaxConcurrency is %d", got, limit)
			}
			if limit > 1 && peak.Load() < 2 {
				t.Fatalf("iterations never overlapped (peak %d)", peak.Load())
			}
		})
	}
	t.Run("MaxConcurrency 0 is unbounded", func(t *testing.T) {
		var running, peak atomic.Int64
		release := make(chan struct{})
		work := func(context.Context, json.RawMessage) (json.RawMessage, error) {
			if n := running.Add(1); n == 8 {
				close(release)
			}
			<-release // every iteration must run at once for any to finish
			return json.RawMessage(`1`), nil
		}
		h := newHarness(t, map[string]asl.Function{"work": work})
		def := machine(`{"Type":"Map","MaxConcurrency":0,"ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:work","End":true}}},"End":true}`)
		wantSucceeded(t, h.run(def, `[0,1,2,3,4,5,6,7]`), `[1,1,1,1,1,1,1,1]`)
		_ = peak.Load()
	})
}

func TestMapToleratedFailures(t *testing.T) {
	h := newHarness(t, nil)
	iterator := `{"StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[{"Variable":"$","StringEquals":"bad","Next":"F"}],"Default":"P"},
		"F":{"Type":"Fail","Error":"BadItem","Cause":"bad"},"P":{"Type":"Pass","End":true}}}`
	tests := []struct {
		name, tolerance, input string
		want                   string // output, or an error name prefixed with "!"
	}{
		{"count within", `"ToleratedFailureCount":1`, `["ok","bad","ok"]`, `["ok",{"Error":"BadItem","Cause":"bad"},"ok"]`},
		{"count exceeded", `"ToleratedFailureCount":1`, `["bad","bad","ok"]`, "!" + asl.ErrorExceedToleratedFailures},
		{"percentage within", `"ToleratedFailurePercentage":50`, `["bad","ok"]`, `[{"Error":"BadItem","Cause":"bad"},"ok"]`},
		{"percentage exceeded", `"ToleratedFailurePercentage":50`, `["bad","bad","ok"]`, "!" + asl.ErrorExceedToleratedFailures},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := h.run(machine(`{"Type":"Map",`+tt.tolerance+`,"MaxConcurrency":1,"ItemProcessor":`+iterator+`,"End":true}`), tt.input)
			if name, ok := strings.CutPrefix(tt.want, "!"); ok {
				wantFailed(t, d, name)
				return
			}
			wantSucceeded(t, d, tt.want)
		})
	}
}

func TestOrderProcessingWorkflow(t *testing.T) {
	var charges atomic.Int64
	fns := map[string]asl.Function{
		"validate-order": func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
			var in struct{ Order struct{ Total float64 } }
			_ = json.Unmarshal(p, &in)
			if in.Order.Total > 1000 {
				return json.RawMessage(`{"valid":false,"reason":"too expensive"}`), nil
			}
			return json.RawMessage(`{"valid":true}`), nil
		},
		"charge-card": func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
			var in struct {
				OrderID        string  `json:"orderId"`
				Amount         float64 `json:"amount"`
				IdempotencyKey string  `json:"idempotencyKey"`
			}
			_ = json.Unmarshal(p, &in)
			if charges.Add(1) == 1 {
				return nil, QuotaError("busy") // not retried: only PaymentGatewayBusy is
			}
			if in.Amount == 13 {
				return nil, &CardDeclined{Reason: "unlucky amount"}
			}
			return json.Marshal(map[string]string{"chargeId": "ch-" + in.IdempotencyKey})
		},
		"ship-item": func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
			var in struct {
				Item struct{ Sku string } `json:"item"`
				Line int                  `json:"line"`
			}
			_ = json.Unmarshal(p, &in)
			return json.Marshal(fmt.Sprintf("%d:%s", in.Line, in.Item.Sku))
		},
	}
	h := newHarness(t, fns)
	arn := h.register("orders", readTestdata(t, "order-processing.asl.json"))

	d := h.wait(h.start(arn, "o-quota", `{"order":{"id":"o1","total":10,"items":[]}}`))
	wantFailed(t, d, "QuotaError")

	d = h.wait(h.start(arn, "o-ok", `{"order":{"id":"o2","total":10,"items":[{"sku":"a"},{"sku":"b"},{"sku":"c"}]}}`))
	// The OutputPath is a JSONPath union, which selects an array.
	wantSucceeded(t, d, `[
		{"id":"o2","total":10,"items":[{"sku":"a"},{"sku":"b"},{"sku":"c"}]},
		{"chargeId":"ch-o-ok-o2"},
		{"email":"email sent","ledger":{"shipped":3}}]`)

	d = h.wait(h.start(arn, "o-declined", `{"order":{"id":"o3","total":13,"items":[]}}`))
	wantSucceeded(t, d, `{"orderId":"o3","status":"DECLINED","reason":"card declined: unlucky amount"}`)

	d = h.wait(h.start(arn, "o-invalid", `{"order":{"id":"o4","total":5000,"items":[]}}`))
	wantFailed(t, d, "OrderInvalid")
	if d.Cause != "order o4 is invalid: too expensive" {
		t.Fatalf("cause = %q", d.Cause)
	}
}

// CardDeclined is the payment function's business error.
type CardDeclined struct{ Reason string }

func (e *CardDeclined) Error() string { return "card declined: " + e.Reason }
