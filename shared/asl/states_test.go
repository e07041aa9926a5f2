package asl_test

import (
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/asl"
)

// machine wraps one state (named "S", ending the execution) in a definition.
func machine(state string) string {
	return `{"StartAt":"S","States":{"S":` + state + `}}`
}

func TestPass(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name, state, input, want string
	}{
		{"passes input through", `{"Type":"Pass","End":true}`, `{"a":1}`, `{"a":1}`},
		{"Result replaces input", `{"Type":"Pass","Result":{"x":"y"},"End":true}`, `{"a":1}`, `{"x":"y"}`},
		{"Result at ResultPath", `{"Type":"Pass","Result":"done","ResultPath":"$.status","End":true}`, `{"a":1}`, `{"a":1,"status":"done"}`},
		{"ResultPath creates nested objects", `{"Type":"Pass","Result":1,"ResultPath":"$.x.y.z","End":true}`, `{}`, `{"x":{"y":{"z":1}}}`},
		{"ResultPath null keeps input", `{"Type":"Pass","Result":1,"ResultPath":null,"End":true}`, `{"a":1}`, `{"a":1}`},
		{"Parameters shape the result", `{"Type":"Pass","Parameters":{"b.$":"$.a","lit":true},"End":true}`, `{"a":7}`, `{"b":7,"lit":true}`},
		{"Result wins over Parameters", `{"Type":"Pass","Parameters":{"b.$":"$.a"},"Result":"r","End":true}`, `{"a":7}`, `"r"`},
		{"InputPath selects", `{"Type":"Pass","InputPath":"$.in","End":true}`, `{"in":{"v":2}}`, `{"v":2}`},
		{"InputPath null gives empty object", `{"Type":"Pass","InputPath":null,"End":true}`, `{"a":1}`, `{}`},
		{"OutputPath selects", `{"Type":"Pass","OutputPath":"$.a","End":true}`, `{"a":[1,2]}`, `[1,2]`},
		{"OutputPath null gives empty object", `{"Type":"Pass","OutputPath":null,"End":true}`, `{"a":1}`, `{}`},
		{"non-object input", `{"Type":"Pass","End":true}`, `"text"`, `"text"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantSucceeded(t, h.run(machine(tt.state), tt.input), tt.want)
		})
	}
}

func TestSucceedAndFail(t *testing.T) {
	h := newHarness(t, nil)
	t.Run("Succeed applies InputPath and OutputPath", func(t *testing.T) {
		d := h.run(machine(`{"Type":"Succeed","InputPath":"$.a","OutputPath":"$.b"}`), `{"a":{"b":"ok"}}`)
		wantSucceeded(t, d, `"ok"`)
	})
	tests := []struct {
		name, state, input, wantError, wantCause string
	}{
		{"static", `{"Type":"Fail","Error":"Oops","Cause":"it broke"}`, `{}`, "Oops", "it broke"},
		{"paths", `{"Type":"Fail","ErrorPath":"$.e","CausePath":"$.c"}`, `{"e":"E1","c":"C1"}`, "E1", "C1"},
		{"intrinsic cause", `{"Type":"Fail","Error":"Bad","CausePath":"States.Format('stage {} failed', $.stage)"}`, `{"stage":"deploy"}`, "Bad", "stage deploy failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := h.run(machine(tt.state), tt.input)
			wantFailed(t, d, tt.wantError)
			if d.Cause != tt.wantCause {
				t.Fatalf("cause = %q; want %q", d.Cause, tt.wantCause)
			}
		})
	}
	t.Run("ErrorPath not a string is a runtime error", func(t *testing.T) {
		d := h.run(machine(`{"Type":"Fail","ErrorPath":"$.e"}`), `{"e":1}`)
		wantFailed(t, d, asl.ErrorRuntime)
	})
}

func TestWait(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name, state, input string
	}{
		{"Seconds", `{"Type":"Wait","Seconds":2,"End":true}`, `{"a":1}`},
		{"SecondsPath", `{"Type":"Wait","SecondsPath":"$.s","End":true}`, `{"a":1,"s":3}`},
		{"Timestamp in the past", `{"Type":"Wait","Timestamp":"2020-01-01T00:00:00Z","End":true}`, `{"a":1}`},
		{"TimestampPath", `{"Type":"Wait","TimestampPath":"$.ts","End":true}`, `{"a":1,"ts":"2021-06-01T10:00:00.5+02:00"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := h.run(machine(tt.state), tt.input)
			if d.Status != asl.StatusSucceeded || !jsonEq(t, d.Output, tt.input) {
				t.Fatalf("got %s %s %s; want SUCCEEDED with the input", d.Status, d.Output, d.Cause)
			}
		})
	}
	t.Run("Seconds elapse", func(t *testing.T) {
		// 100 definition seconds at testScale last a second.
		d := h.run(machine(`{"Type":"Wait","Seconds":100,"End":true}`), `{}`)
		if elapsed := d.StopDate.Sub(d.StartDate); elapsed < 900_000_000 {
			t.Fatalf("execution took %v; a Wait of 100 scaled seconds lasts 1s", elapsed)
		}
	})
	bad := []struct {
		name, state, input string
	}{
		{"SecondsPath missing", `{"Type":"Wait","SecondsPath":"$.s","End":true}`, `{}`},
		{"SecondsPath negative", `{"Type":"Wait","SecondsPath":"$.s","End":true}`, `{"s":-1}`},
		{"TimestampPath not a timestamp", `{"Type":"Wait","TimestampPath":"$.ts","End":true}`, `{"ts":"tomorrow"}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			d := h.run(machine(tt.state), tt.input)
			wantFailed(t, d, asl.ErrorRuntime)
			if !strings.Contains(d.Cause, "'S'") {
				t.Fatalf("cause %q does not name the state", d.Cause)
			}
		})
	}
}
