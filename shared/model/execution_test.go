package model

import (
	"encoding/json"
	"reflect"
	"testing"
)

// A run built by gennaker writes every declared field; one decoded from
// elsewhere writes what it had, until a field is given a value.
func TestExecutionFieldsWritten(t *testing.T) {
	cases := []struct {
		name string
		in   func() any
		want string
	}{
		{"built in Go", func() any {
			return &TaskExecution{ID: "1", Name: "wait", Status: StatusSucceeded}
		}, `{"id":"1","name":"wait","status":"SUCCEEDED","stageStart":false,"stageEnd":false}`},
		{"decoded without declared fields", func() any {
			var task TaskExecution
			mustDecode(t, `{"id":"1","status":"SUCCEEDED","loopStart":false}`, &task)
			return &task
		}, `{"id":"1","status":"SUCCEEDED","loopStart":false}`},
		{"decoded, then given a value", func() any {
			var task TaskExecution
			mustDecode(t, `{"id":"1","status":"SUCCEEDED"}`, &task)
			task.Name = "wait"
			return &task
		}, `{"id":"1","name":"wait","status":"SUCCEEDED"}`},
		{"explicit nulls kept", func() any {
			var s StageExecution
			mustDecode(t, `{"id":"s","context":null,"tasks":null,"type":null}`, &s)
			return &s
		}, `{"id":"s","context":null,"tasks":null,"type":null}`},
		{"decoded without a trigger or bookkeeping", func() any {
			var e Execution
			mustDecode(t, `{"id":"x","stages":[{"id":"s"}],"partition":null}`, &e)
			return &e
		}, `{"id":"x","stages":[{"id":"s"}],"partition":null}`},
		{"a trigger made gennaker's own", func() any {
			var tr ExecutionTrigger
			mustDecode(t, `{"user":"alice","digest":"sha"}`, &tr)
			own := tr.Own()
			return &own
		}, `{"type":"","user":"alice","parameters":{},"artifacts":[],"digest":"sha"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := json.Marshal(c.in())
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			mustDecode(t, string(out), &got)
			mustDecode(t, c.want, &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %s\nwant %s", out, c.want)
			}
		})
	}
}

func mustDecode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatal(err)
	}
}
