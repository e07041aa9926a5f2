package flow

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"

	"github.com/gennaker/gennaker/shared/model"
)

func TestManualJudgmentStageValidate(t *testing.T) {
	tests := []struct {
		name  string
		stage string
		want  []string
	}{
		{"plain", `{"refId":"1","type":"manualJudgment","instructions":"Check the canary dashboard"}`, nil},
		{"with inputs and notifications", `{"refId":"1","type":"manualJudgment","judgmentInputs":[{"value":"rollback"},{"value":"promote"}],"notifications":[{"type":"slack","address":"#deploys","when":["manualJudgment"]}],"propagateAuthenticationContext":true}`, nil},
		{"input without a value", `{"refId":"1","type":"manualJudgment","judgmentInputs":[{"value":"rollback"},{"value":""}]}`, []string{"judgmentInputs[1].value: must be a non-empty string"}},
		{"input listed twice", `{"refId":"1","type":"manualJudgment","judgmentInputs":[{"value":"a"},{"value":"a"}]}`, []string{`judgmentInputs[1].value: "a" is listed twice`}},
		{"inputs not a list", `{"refId":"1","type":"manualJudgment","judgmentInputs":"rollback"}`, []string{"judgmentInputs: must be a list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stagestest.CheckProblems(t, ManualJudgmentStage{}.Validate(stagestest.StageFromJSON(t, tt.stage)), tt.want...)
		})
	}
}

func TestWaitForJudgmentTask(t *testing.T) {
	tests := []struct {
		name         string
		ctx          map[string]any
		lastModified *model.LastModified
		wantStatus   model.Status
		wantError    string
	}{
		{name: "no judgment yet", ctx: map[string]any{"instructions": "look"}, wantStatus: model.StatusRunning},
		{name: "judgment cleared", ctx: map[string]any{"judgmentStatus": ""}, wantStatus: model.StatusRunning},
		{name: "continue", ctx: map[string]any{"judgmentStatus": "continue", "lastModifiedBy": "bob"}, wantStatus: model.StatusSucceeded},
		{name: "continue in capitals", ctx: map[string]any{"judgmentStatus": "CONTINUE"}, wantStatus: model.StatusSucceeded},
		{name: "stop names who stopped it", ctx: map[string]any{"judgmentStatus": "stop", "lastModifiedBy": "bob"}, wantStatus: model.StatusTerminal, wantError: "Manual judgment: stopped by bob"},
		{name: "stop with an input", ctx: map[string]any{"judgmentStatus": "stop", "judgmentInput": "rollback", "lastModifiedBy": "bob"}, wantStatus: model.StatusTerminal, wantError: `stopped by bob (judgment input "rollback")`},
		{name: "stop recorded on the stage", ctx: map[string]any{"judgmentStatus": "stop"}, lastModified: &model.LastModified{User: "carol"}, wantStatus: model.StatusTerminal, wantError: "stopped by carol"},
		{name: "stop by nobody known", ctx: map[string]any{"judgmentStatus": "stop"}, wantStatus: model.StatusTerminal, wantError: "stopped by an unknown user"},
		{name: "unknown status waits", ctx: map[string]any{"judgmentStatus": "maybe"}, wantStatus: model.StatusRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := stagestest.NewRun(tt.ctx)
			run.Stage.LastModified = tt.lastModified
			r, err := execute(WaitForJudgmentTask{}, run)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantError != "" {
				stagestest.CheckFailure(t, r, tt.wantStatus, tt.wantError)
				return
			}
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %s, want %s", r.Status, tt.wantStatus)
			}
			if r.Status == model.StatusRunning && (r.Wake != stages.Callback || r.Backoff < time.Hour) {
				t.Errorf("waiting judgment: wake %v after %v, want Callback with a long backoff", r.Wake, r.Backoff)
			}
		})
	}
}

func TestWaitForJudgmentTimeout(t *testing.T) {
	s := &model.StageExecution{Context: map[string]any{}}
	if got := (WaitForJudgmentTask{}).Timeout(s); got != 72*time.Hour {
		t.Errorf("default timeout = %v, want 72h", got)
	}
	s.Context["stageTimeoutMs"] = float64(7 * 24 * time.Hour / time.Millisecond)
	if got := (WaitForJudgmentTask{}).Timeout(s); got != 7*24*time.Hour {
		t.Errorf("timeout with stageTimeoutMs = %v, want a week", got)
	}
}

func TestValidateJudgment(t *testing.T) {
	withInputs := map[string]any{"judgmentInputs": []any{map[string]any{"value": "rollback"}, map[string]any{"value": "promote"}}}
	tests := []struct {
		name    string
		ctx     map[string]any
		status  string
		input   string
		wantErr string
	}{
		{name: "continue", ctx: map[string]any{}, status: "continue"},
		{name: "stop", ctx: map[string]any{}, status: "stop"},
		{name: "any case", ctx: map[string]any{}, status: "Continue"},
		{name: "input listed", ctx: withInputs, status: "continue", input: "promote"},
		{name: "no input chosen", ctx: withInputs, status: "stop"},
		{name: "free input when none listed", ctx: map[string]any{}, status: "continue", input: "anything"},
		{name: "unknown status", ctx: map[string]any{}, status: "approve", wantErr: `judgmentStatus must be "continue" or "stop", not "approve"`},
		{name: "input not listed", ctx: withInputs, status: "continue", input: "yolo", wantErr: `judgmentInput "yolo" is not one of the stage's inputs ("rollback", "promote")`},
		{name: "already judged", ctx: map[string]any{"judgmentStatus": "continue", "lastModifiedBy": "bob"}, status: "stop", wantErr: `already judged "continue" by bob`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateJudgment(tt.ctx, tt.status, tt.input)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidJudgment) {
				t.Errorf("err does not wrap ErrInvalidJudgment, so the API cannot answer 400")
			}
		})
	}
}
