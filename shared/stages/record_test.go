package stages_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gennaker/gennaker/shared/stages"
)

func TestRecord(t *testing.T) {
	type capacity struct {
		Min     int `json:"min"`
		Desired int `json:"desired"`
	}
	type shape struct {
		Status      string         `json:"status"`
		ExecutionID string         `json:"executionId,omitempty"`
		Count       int            `json:"count"`
		Capacity    *capacity      `json:"capacity,omitempty"`
		Names       []string       `json:"names,omitempty"`
		Body        map[string]any `json:"body,omitempty"`
	}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"numbers as the store returns them", shape{Status: "RUNNING", Count: 3},
			`{"status": "RUNNING", "count": 3}`},
		{"omitted empty fields", shape{Status: "SUCCEEDED", ExecutionID: "e-1"},
			`{"status": "SUCCEEDED", "executionId": "e-1", "count": 0}`},
		{"nested structs and lists", shape{Capacity: &capacity{Min: 1, Desired: 2}, Names: []string{"a", "b"}},
			`{"status": "", "count": 0, "capacity": {"min": 1, "desired": 2}, "names": ["a", "b"]}`},
		{"free-form JSON kept as it is", shape{Body: map[string]any{"ok": true, "n": 1.5}},
			`{"status": "", "count": 0, "body": {"ok": true, "n": 1.5}}`},
		{"a map", map[string]int{"a": 1}, `{"a": 1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want map[string]any
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if got := stages.Record(tt.in); !reflect.DeepEqual(got, want) {
				t.Errorf("Record(%+v) = %#v, want %#v", tt.in, got, want)
			}
		})
	}
}

func TestRecordPanicsOnNonObject(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Record of a string did not panic")
		}
	}()
	stages.Record("not an object")
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		ctx  string
		want []string
	}{
		{"no exception", `{}`, nil},
		{"errors listed", `{"exception": {"details": {"error": "a; b", "errors": ["a", "b"]}}}`, []string{"a", "b"}},
		{"only error", `{"exception": {"details": {"error": "boom"}}}`, []string{"boom"}},
		{"empty errors fall back to error", `{"exception": {"details": {"error": "boom", "errors": [""]}}}`, []string{"boom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctx map[string]any
			if err := json.Unmarshal([]byte(tt.ctx), &ctx); err != nil {
				t.Fatal(err)
			}
			if got := stages.Errors(ctx); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Errors = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		name string
		ctx  map[string]any
	}{
		{"on a failure", stages.Failed("first").Context},
		{"without an exception", map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stages.SetErrors(tt.ctx, []string{"first", "second"})
			got, _ := json.Marshal(tt.ctx)
			want := `{"exception":{"details":{"error":"first; second","errors":["first","second"]},"exceptionType":"gennaker","shouldRetry":false}}`
			if string(got) != want {
				t.Errorf("context = %s, want %s", got, want)
			}
			if msgs := stages.Errors(tt.ctx); !reflect.DeepEqual(msgs, []string{"first", "second"}) {
				t.Errorf("Errors read back %q", msgs)
			}
		})
	}
}
