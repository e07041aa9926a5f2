package flow

import (
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"

	"github.com/gennaker/gennaker/shared/model"
)

func TestWaitStageValidate(t *testing.T) {
	tests := []struct {
		name  string
		stage string
		want  []string
	}{
		{"seconds as a number", `{"refId":"1","type":"wait","waitTime":30}`, nil},
		{"seconds as a numeric string", `{"refId":"1","type":"wait","waitTime":"30"}`, nil},
		{"zero seconds", `{"refId":"1","type":"wait","waitTime":0}`, nil},
		{"an expression", `{"refId":"1","type":"wait","waitTime":"${parameters.delay}"}`, nil},
		{"missing waits no time, as in orca", `{"refId":"1","type":"wait"}`, nil},
		{"empty string from Deck", `{"refId":"1","type":"wait","waitTime":""}`, nil},
		{"negative", `{"refId":"1","type":"wait","waitTime":-5}`, []string{"waitTime: must not be negative"}},
		{"not a number", `{"refId":"1","type":"wait","waitTime":"soon"}`, []string{`waitTime: must be a number, not "soon"`}},
		{"fractional", `{"refId":"1","type":"wait","waitTime":1.5}`, []string{"waitTime: 1.5 is not a whole number"}},
		{"skip text not a string", `{"refId":"1","type":"wait","waitTime":1,"skipWaitText":3}`, []string{"skipWaitText: must be a string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stagestest.CheckProblems(t, WaitStage{}.Validate(stagestest.StageFromJSON(t, tt.stage)), tt.want...)
		})
	}
}

func TestWaitTask(t *testing.T) {
	tests := []struct {
		name        string
		ctx         map[string]any
		elapsed     time.Duration // since the stage started
		taskStarted time.Duration // after the stage started; 0 means with it
		taskListed  bool          // the start is only in the stage's task list
		wantStatus  model.Status
		wantBackoff time.Duration
		wantError   string
	}{
		{name: "just started", ctx: map[string]any{"waitTime": 30.0}, wantStatus: model.StatusRunning, wantBackoff: 30 * time.Second},
		{name: "part way", ctx: map[string]any{"waitTime": 30.0}, elapsed: 12 * time.Second, wantStatus: model.StatusRunning, wantBackoff: 18 * time.Second},
		{name: "time is up", ctx: map[string]any{"waitTime": 30.0}, elapsed: 30 * time.Second, wantStatus: model.StatusSucceeded},
		{name: "long past", ctx: map[string]any{"waitTime": 30.0}, elapsed: time.Hour, wantStatus: model.StatusSucceeded},
		{name: "numeric string", ctx: map[string]any{"waitTime": "45"}, elapsed: 5 * time.Second, wantStatus: model.StatusRunning, wantBackoff: 40 * time.Second},
		{name: "zero", ctx: map[string]any{"waitTime": 0.0}, wantStatus: model.StatusSucceeded},
		{name: "skipped by a user", ctx: map[string]any{"waitTime": 3600.0, "skipRemainingWait": true}, wantStatus: model.StatusSucceeded},
		{name: "skipped, as a string", ctx: map[string]any{"waitTime": 3600.0, "skipRemainingWait": "true"}, wantStatus: model.StatusSucceeded},
		{name: "skip cleared", ctx: map[string]any{"waitTime": 60.0, "skipRemainingWait": false}, wantStatus: model.StatusRunning, wantBackoff: time.Minute},
		{
			name: "measured from the task start after an execution window", ctx: map[string]any{"waitTime": 60.0},
			elapsed: 2 * time.Hour, taskStarted: 2*time.Hour - 10*time.Second,
			wantStatus: model.StatusRunning, wantBackoff: 50 * time.Second,
		},
		{
			name: "measured from the task's entry in the task list", ctx: map[string]any{"waitTime": 60.0},
			elapsed: 2 * time.Hour, taskStarted: 2*time.Hour - 45*time.Second, taskListed: true,
			wantStatus: model.StatusRunning, wantBackoff: 15 * time.Second,
		},
		{name: "missing waitTime waits no time", ctx: map[string]any{}, wantStatus: model.StatusSucceeded},
		{name: "negative waitTime", ctx: map[string]any{"waitTime": -1.0}, wantStatus: model.StatusTerminal, wantError: "waitTime must not be negative"},
		{name: "waitTime not a number", ctx: map[string]any{"waitTime": "later"}, wantStatus: model.StatusTerminal, wantError: `waitTime: must be a number, not "later"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := stagestest.NewRun(tt.ctx)
			run.Now = stagestest.T0.Add(tt.elapsed)
			switch {
			case tt.taskListed:
				run.Stage.Tasks = []model.TaskExecution{
					{Name: ExecutionWindowTaskName, Status: model.StatusSucceeded, StartTime: stagestest.T0.UnixMilli()},
					{Name: "Wait", Status: model.StatusRunning, StartTime: stagestest.T0.Add(tt.taskStarted).UnixMilli()},
				}
			case tt.taskStarted > 0:
				run.Stage.Orchestration.TaskStartTime = stagestest.T0.Add(tt.taskStarted).UnixMilli()
			}
			r, err := execute(WaitTask{}, run)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantError != "" {
				stagestest.CheckFailure(t, r, tt.wantStatus, tt.wantError)
				return
			}
			if r.Status != tt.wantStatus || r.Backoff != tt.wantBackoff {
				t.Fatalf("got %s after %v, want %s after %v", r.Status, r.Backoff, tt.wantStatus, tt.wantBackoff)
			}
			if r.Status == model.StatusRunning && r.Wake != stages.Sleep {
				t.Errorf("wake = %v, want Sleep so that a skip ends the wait at once", r.Wake)
			}
		})
	}
}

func TestWaitTaskNeedsAStartTime(t *testing.T) {
	run := stagestest.NewRun(map[string]any{"waitTime": 5.0})
	run.Stage.StartTime = 0
	if _, err := execute(WaitTask{}, run); err == nil {
		t.Fatal("a stage without a start time waited; want an error naming the stage")
	}
}
