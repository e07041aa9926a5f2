package flow

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
)

// TestPatchDecisions runs Gate's PATCH bodies through the registry, as the
// API does, and checks the answer a user gets: the fields set, or the
// message with 400 (a wrong change) or 409 (a stage not in a state to take
// it).
func TestPatchDecisions(t *testing.T) {
	const (
		ok       = 0
		bad      = 400
		conflict = 409
	)
	judgment := func(status model.Status, ctx map[string]any) *model.StageExecution {
		return &model.StageExecution{Name: "Approve", Type: "manualJudgment", Status: status, Context: ctx}
	}
	wait := func(status model.Status) *model.StageExecution {
		return &model.StageExecution{Name: "Pause", Type: "wait", Status: status, Context: map[string]any{"waitTime": 600.0}}
	}
	deploy := func(status model.Status, ctx map[string]any) *model.StageExecution {
		return &model.StageExecution{Name: "Deploy", Type: "deploy", Status: status, Context: ctx}
	}
	inputs := map[string]any{"judgmentInputs": []any{map[string]any{"value": "rollback"}, map[string]any{"value": "promote"}}}
	windowed := map[string]any{"restrictExecutionDuringTimeWindow": true}

	tests := []struct {
		name       string
		stage      *model.StageExecution
		patch      map[string]any
		wantFields map[string]any
		wantCode   int
		wantMsg    string
	}{
		{
			name: "continue", stage: judgment(model.StatusRunning, map[string]any{}),
			patch:      map[string]any{"judgmentStatus": "continue", "lastModifiedBy": "bob"},
			wantFields: map[string]any{"judgmentStatus": "continue"},
		},
		{
			name: "stop in capitals, with an input", stage: judgment(model.StatusRunning, inputs),
			patch:      map[string]any{"judgmentStatus": " STOP ", "judgmentInput": "rollback"},
			wantFields: map[string]any{"judgmentStatus": "stop", "judgmentInput": "rollback"},
		},
		{
			name: "a null input is no input", stage: judgment(model.StatusRunning, inputs),
			patch:      map[string]any{"judgmentStatus": "continue", "judgmentInput": nil},
			wantFields: map[string]any{"judgmentStatus": "continue"},
		},
		{
			name: "empty body", stage: judgment(model.StatusRunning, map[string]any{}),
			patch: map[string]any{}, wantCode: bad,
			wantMsg: "the body must set judgmentStatus (and judgmentInput) for a manual judgment, or skipRemainingWait for a wait",
		},
		{
			name: "a field that cannot change", stage: judgment(model.StatusRunning, map[string]any{}),
			patch: map[string]any{"judgmentStatus": "continue", "waitTime": 5.0}, wantCode: bad,
			wantMsg: "waitTime: cannot be changed on a running stage; send judgmentStatus and judgmentInput for a manual judgment, or skipRemainingWait for a wait",
		},
		{
			name: "status not a string", stage: judgment(model.StatusRunning, map[string]any{}),
			patch: map[string]any{"judgmentStatus": true}, wantCode: bad,
			wantMsg: `judgmentStatus: must be "continue" or "stop", not true`,
		},
		{
			name: "input not a string", stage: judgment(model.StatusRunning, map[string]any{}),
			patch: map[string]any{"judgmentStatus": "continue", "judgmentInput": 3.0}, wantCode: bad,
			wantMsg: "judgmentInput: must be a string, not the number 3",
		},
		{
			name: "unknown status", stage: judgment(model.StatusRunning, map[string]any{}),
			patch: map[string]any{"judgmentStatus": "approve"}, wantCode: bad,
			wantMsg: `invalid judgment: judgmentStatus must be "continue" or "stop", not "approve"`,
		},
		{
			name: "input not offered", stage: judgment(model.StatusRunning, inputs),
			patch: map[string]any{"judgmentStatus": "continue", "judgmentInput": "yolo"}, wantCode: bad,
			wantMsg: `invalid judgment: judgmentInput "yolo" is not one of the stage's inputs ("rollback", "promote")`,
		},
		{
			name: "already judged", stage: judgment(model.StatusRunning, map[string]any{"judgmentStatus": "continue", "lastModifiedBy": "bob"}),
			patch: map[string]any{"judgmentStatus": "stop"}, wantCode: bad,
			wantMsg: `invalid judgment: the stage was already judged "continue" by bob`,
		},
		{
			name: "judgment of a finished stage", stage: judgment(model.StatusSucceeded, map[string]any{}),
			patch: map[string]any{"judgmentStatus": "continue"}, wantCode: conflict,
			wantMsg: `stage "Approve" is SUCCEEDED; a judgment can be made only while the stage is RUNNING (waiting for judgment)`,
		},
		{
			name: "input without a status", stage: judgment(model.StatusRunning, inputs),
			patch: map[string]any{"judgmentInput": "rollback"}, wantCode: bad,
			wantMsg: `judgmentInput: send it together with judgmentStatus ("continue" or "stop")`,
		},
		{
			name: "judgment of a wait", stage: wait(model.StatusRunning),
			patch: map[string]any{"judgmentStatus": "continue"}, wantCode: bad,
			wantMsg: `stage "Pause" is a wait stage, not a manual judgment; judgmentStatus applies only to manualJudgment stages`,
		},
		{
			name: "judgment of a deploy", stage: deploy(model.StatusRunning, map[string]any{}),
			patch: map[string]any{"judgmentStatus": "continue"}, wantCode: bad,
			wantMsg: `stage "Deploy" is a deploy stage, not a manual judgment; judgmentStatus applies only to manualJudgment stages`,
		},
		{
			name: "skip a wait", stage: wait(model.StatusRunning),
			patch:      map[string]any{"skipRemainingWait": true, "lastModifiedBy": "bob"},
			wantFields: map[string]any{"skipRemainingWait": true},
		},
		{
			name: "skip a finished wait", stage: wait(model.StatusSucceeded),
			patch: map[string]any{"skipRemainingWait": true}, wantCode: conflict,
			wantMsg: `stage "Pause" is SUCCEEDED; only a RUNNING wait can be skipped`,
		},
		{
			name: "skip not a boolean", stage: wait(model.StatusRunning),
			patch: map[string]any{"skipRemainingWait": "yes"}, wantCode: bad,
			wantMsg: `skipRemainingWait: must be true or false, not the string "yes"`,
		},
		{
			name: "not skipping changes nothing", stage: wait(model.StatusRunning),
			patch: map[string]any{"skipRemainingWait": false}, wantCode: bad,
			wantMsg: "the body changes nothing; send judgmentStatus for a manual judgment or skipRemainingWait: true for a wait",
		},
		{
			name: "only lastModifiedBy changes nothing", stage: wait(model.StatusRunning),
			patch: map[string]any{"lastModifiedBy": "bob"}, wantCode: bad,
			wantMsg: "the body changes nothing; send judgmentStatus for a manual judgment or skipRemainingWait: true for a wait",
		},
		{
			name: "skip the window of a deploy", stage: deploy(model.StatusRunning, windowed),
			patch:      map[string]any{"skipRemainingWait": true},
			wantFields: map[string]any{"skipRemainingWait": true},
		},
		{
			name: "skip a window set by an expression", stage: deploy(model.StatusRunning, map[string]any{"restrictExecutionDuringTimeWindow": "true"}),
			patch:      map[string]any{"skipRemainingWait": true},
			wantFields: map[string]any{"skipRemainingWait": true},
		},
		{
			name: "skip the window of a judgment", stage: judgment(model.StatusRunning, windowed),
			patch:      map[string]any{"skipRemainingWait": true},
			wantFields: map[string]any{"skipRemainingWait": true},
		},
		{
			name: "judge and skip the window together", stage: judgment(model.StatusRunning, windowed),
			patch:      map[string]any{"judgmentStatus": "continue", "skipRemainingWait": true},
			wantFields: map[string]any{"judgmentStatus": "continue", "skipRemainingWait": true},
		},
		{
			name: "skip a window stage", stage: &model.StageExecution{Name: "Window", Type: "restrictExecutionDuringTimeWindow", Status: model.StatusRunning},
			patch:      map[string]any{"skipRemainingWait": true},
			wantFields: map[string]any{"skipRemainingWait": true},
		},
		{
			name: "skip a finished window", stage: deploy(model.StatusSucceeded, windowed),
			patch: map[string]any{"skipRemainingWait": true}, wantCode: conflict,
			wantMsg: `stage "Deploy" is SUCCEEDED; only a RUNNING wait can be skipped`,
		},
		{
			name: "nothing to skip on a deploy", stage: deploy(model.StatusRunning, map[string]any{}),
			patch: map[string]any{"skipRemainingWait": true}, wantCode: bad,
			wantMsg: `stage "Deploy" is a deploy stage with nothing to skip; skipRemainingWait applies to wait stages and stages held by an execution window`,
		},
		{
			name: "nothing to skip on a judgment", stage: judgment(model.StatusRunning, map[string]any{}),
			patch: map[string]any{"skipRemainingWait": true}, wantCode: bad,
			wantMsg: `stage "Approve" is a manualJudgment stage with nothing to skip; skipRemainingWait applies to wait stages and stages held by an execution window`,
		},
	}
	r := stages.NewRegistry()
	RegisterFlowControl(r)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields, err := r.Patch(tt.stage, tt.patch)
			if tt.wantCode == ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !reflect.DeepEqual(fields, tt.wantFields) {
					t.Fatalf("fields = %v, want %v", fields, tt.wantFields)
				}
				return
			}
			var pe *stages.PatchError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (fields %v), want a *stages.PatchError", err, fields)
			}
			if code := map[bool]int{false: bad, true: conflict}[pe.Conflict]; code != tt.wantCode {
				t.Errorf("answer %d, want %d", code, tt.wantCode)
			}
			if pe.Message != tt.wantMsg {
				t.Errorf("message = %q\nwant      %q", pe.Message, tt.wantMsg)
			}
		})
	}
}

// A long string in a PATCH body is cut in the message, as the API cuts it.
func TestDescribePatchValueCutsLongStrings(t *testing.T) {
	got := describePatchValue("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz")
	if want := `the string "abcdefghijklmnopqrstuvwxyzabcdefghijklmn…"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
