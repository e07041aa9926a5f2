package flow

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// fakePipelines is an in-memory Pipelines for unit tests of the pipeline
// stage's decisions: it starts "runs" that the test then moves along.
type fakePipelines struct {
	mu       sync.Mutex
	configs  map[model.PipelineID]string // id -> pipeline name
	runs     map[model.ExecutionID]*model.Execution
	byKey    map[string]model.ExecutionID
	requests []stages.TriggerRequest
	canceled map[model.ExecutionID]string // -> canceled by
	failGet  error
}

func newFakePipelines() *fakePipelines {
	return &fakePipelines{
		configs:  map[model.PipelineID]string{"deploy-db": "Deploy database"},
		runs:     map[model.ExecutionID]*model.Execution{},
		byKey:    map[string]model.ExecutionID{},
		canceled: map[model.ExecutionID]string{},
	}
}

func (f *fakePipelines) Trigger(_ context.Context, req stages.TriggerRequest) (model.ExecutionID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	if id, ok := f.byKey[req.IdempotencyKey]; ok && req.IdempotencyKey != "" {
		return id, nil
	}
	name, ok := f.configs[req.PipelineID]
	if !ok {
		return "", fmt.Errorf("pipeline %s: %w", req.PipelineID, store.ErrNotFound)
	}
	id := model.ExecutionID(fmt.Sprintf("child-%d", len(f.runs)+1))
	f.runs[id] = &model.Execution{ID: id, Application: req.Application, Name: name, Status: model.StatusRunning, Trigger: req.Trigger}
	f.byKey[req.IdempotencyKey] = id
	return id, nil
}

func (f *fakePipelines) Get(_ context.Context, id model.ExecutionID) (*model.Execution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failGet != nil {
		return nil, f.failGet
	}
	run, ok := f.runs[id]
	if !ok {
		return nil, fmt.Errorf("execution %s: %w", id, store.ErrNotFound)
	}
	c := *run
	return &c, nil
}

func (f *fakePipelines) Cancel(_ context.Context, id model.ExecutionID, user, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.runs[id]; !ok {
		return fmt.Errorf("execution %s: %w", id, store.ErrNotFound)
	}
	f.canceled[id] = user
	return nil
}

var _ stages.Pipelines = (*fakePipelines)(nil)

func TestPipelineStageValidate(t *testing.T) {
	tests := []struct {
		name  string
		stage string
		want  []string
	}{
		{"complete", `{"refId":"1","type":"pipeline","application":"db","pipeline":"deploy-db","pipelineParameters":{"version":"1.2"},"waitForCompletion":true}`, nil},
		{"expressions", `{"refId":"1","type":"pipeline","application":"${trigger.parameters.app}","pipeline":"${parameters.pipelineId}","pipelineParameters":"${parameters.params}"}`, nil},
		{"no application", `{"refId":"1","type":"pipeline","pipeline":"deploy-db"}`, []string{"application: is required"}},
		{"no pipeline", `{"refId":"1","type":"pipeline","application":"db"}`, []string{"pipeline: is required"}},
		{"parameters not an object", `{"refId":"1","type":"pipeline","application":"db","pipeline":"deploy-db","pipelineParameters":["a"]}`, []string{"pipelineParameters: must be an object"}},
		{"waitForCompletion not a boolean", `{"refId":"1","type":"pipeline","application":"db","pipeline":"deploy-db","waitForCompletion":"yes"}`, []string{"waitForCompletion: must be true or false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stagestest.CheckProblems(t, PipelineStage{}.Validate(stagestest.StageFromJSON(t, tt.stage)), tt.want...)
		})
	}
}

func TestPipelineStagePlan(t *testing.T) {
	tests := []struct {
		name    string
		ctx     map[string]any
		want    []string
		wantErr bool
	}{
		{"waits by default", map[string]any{}, []string{"StartPipeline", "MonitorPipeline"}, false},
		{"waits when asked", map[string]any{"waitForCompletion": true}, []string{"StartPipeline", "MonitorPipeline"}, false},
		{"fire and forget", map[string]any{"waitForCompletion": false}, []string{"StartPipeline"}, false},
		{"evaluated expression", map[string]any{"waitForCompletion": "false"}, []string{"StartPipeline"}, false},
		{"nonsense", map[string]any{"waitForCompletion": "perhaps"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PipelineStage{}.Plan(&model.StageExecution{Context: tt.ctx})
			if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("plan = %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func pipelineRun(ctx map[string]any, f *fakePipelines) *stages.Run {
	run := stagestest.NewRun(ctx)
	run.Services.Pipelines = f
	run.Stage.Orchestration.Attempt = 1
	return run
}

func TestStartPipelineTask(t *testing.T) {
	tests := []struct {
		name      string
		ctx       map[string]any
		wantApp   model.ApplicationName
		wantError string
	}{
		{name: "starts the child", ctx: map[string]any{"application": "db", "pipeline": "deploy-db", "pipelineParameters": map[string]any{"version": "1.2"}}, wantApp: "db"},
		{name: "pipelineApplication wins", ctx: map[string]any{"application": "shop", "pipelineApplication": "db", "pipeline": "deploy-db"}, wantApp: "db"},
		{name: "defaults to the parent's application", ctx: map[string]any{"pipeline": "deploy-db"}, wantApp: "shop"},
		{name: "unknown pipeline", ctx: map[string]any{"application": "db", "pipeline": "no-such"}, wantError: "pipeline no-such of application db was not found"},
		{name: "no pipeline", ctx: map[string]any{"application": "db"}, wantError: "pipeline is required"},
		{name: "parameters of the wrong shape", ctx: map[string]any{"application": "db", "pipeline": "deploy-db", "pipelineParameters": "v=1"}, wantError: "pipelineParameters: must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePipelines()
			r, err := execute(StartPipelineTask{}, pipelineRun(tt.ctx, f))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantError != "" {
				stagestest.CheckFailure(t, r, model.StatusTerminal, tt.wantError)
				return
			}
			if r.Status != model.StatusSucceeded || r.Context["executionId"] != "child-1" || r.Context["executionName"] != "Deploy database" {
				t.Fatalf("got %s with context %v; want SUCCEEDED naming child-1 \"Deploy database\"", r.Status, r.Context)
			}
			req := f.requests[0]
			if req.Application != tt.wantApp || req.PipelineID != "deploy-db" {
				t.Errorf("triggered %s/%s, want %s/deploy-db", req.Application, req.PipelineID, tt.wantApp)
			}
			tr := req.Trigger
			if tr.Type != "pipeline" || tr.ParentExecutionID != "parent-exec" || tr.ParentStageID != "stage-1" || tr.User != "alice" {
				t.Errorf("trigger = %+v; want type pipeline from parent-exec/stage-1 by alice", tr)
			}
			if want := tt.ctx["pipelineParameters"]; want != nil && !reflect.DeepEqual(tr.Parameters, want) {
				t.Errorf("parameters = %v, want %v", tr.Parameters, want)
			}
			if got := string(tr.Extra["parentPipelineId"]); got != `"parent-exec"` {
				t.Errorf("trigger parentPipelineId = %s, want the parent execution id as Spinnaker sets it", got)
			}
		})
	}
}

// A retried start finds the child the first try started; a restarted stage
// starts a new one.
func TestStartPipelineTaskIsIdempotent(t *testing.T) {
	f := newFakePipelines()
	ctx := map[string]any{"application": "db", "pipeline": "deploy-db"}
	run := pipelineRun(ctx, f)
	first, _ := execute(StartPipelineTask{}, run)
	retry, _ := execute(StartPipelineTask{}, run)
	if first.Context["executionId"] != retry.Context["executionId"] || len(f.runs) != 1 {
		t.Fatalf("a retry started another child: %v then %v (%d runs)", first.Context["executionId"], retry.Context["executionId"], len(f.runs))
	}
	run.Stage.Orchestration.Attempt = 2
	restarted, _ := execute(StartPipelineTask{}, run)
	if restarted.Context["executionId"] == first.Context["executionId"] {
		t.Fatal("a restarted stage reused the old child")
	}
}

func TestMonitorPipelineTask(t *testing.T) {
	succeeded := &model.Execution{
		ID: "child-1", Name: "Deploy database", Status: model.StatusSucceeded,
		Stages: []model.StageExecution{
			// Stored out of order: outputs merge in dependency order.
			{ID: "s2", RefID: "2", Name: "Smoke test", Status: model.StatusSucceeded, RequisiteStageRefIDs: []string{"1"},
				Outputs: map[string]any{"version": "1.2", "hosts": []any{"b", "c"}}},
			{ID: "s1", RefID: "1", Name: "Deploy", Status: model.StatusSucceeded,
				Outputs: map[string]any{"version": "1.1", "hosts": []any{"a", "b"}, "endpoint": "db.internal"}},
			{ID: "s1a", RefID: "1<1", Name: "synthetic", ParentStageID: "s1", Status: model.StatusSucceeded,
				Outputs: map[string]any{"version": "ignored"}},
		},
	}
	failed := &model.Execution{
		ID: "child-1", Name: "Deploy database", Status: model.StatusTerminal,
		Stages: []model.StageExecution{
			{ID: "s1", RefID: "1", Name: "Deploy", Status: model.StatusSucceeded, Outputs: map[string]any{"endpoint": "db.internal"}},
			{ID: "s2", RefID: "2", Name: "Migrate schema", Status: model.StatusTerminal, RequisiteStageRefIDs: []string{"1"},
				Context: stages.ExceptionContext("migration 42 failed: column exists")},
		},
	}
	tests := []struct {
		name        string
		child       *model.Execution
		ctx         map[string]any
		failGet     error
		wantStatus  model.Status
		wantBackoff time.Duration
		wantOutputs map[string]any
		wantErrors  []string
	}{
		{name: "child still running", child: &model.Execution{ID: "child-1", Status: model.StatusRunning}, wantStatus: model.StatusRunning, wantBackoff: 2 * time.Second},
		{name: "child paused", child: &model.Execution{ID: "child-1", Status: model.StatusPaused}, wantStatus: model.StatusRunning, wantBackoff: 2 * time.Second},
		{
			name: "child succeeded: its outputs become ours", child: succeeded, wantStatus: model.StatusSucceeded,
			wantOutputs: map[string]any{"version": "1.2", "hosts": []any{"a", "b", "c"}, "endpoint": "db.internal"},
		},
		{
			name: "child failed", child: failed, wantStatus: model.StatusTerminal,
			wantOutputs: map[string]any{"endpoint": "db.internal"},
			wantErrors: []string{
				`child pipeline "Deploy database" (execution child-1) is TERMINAL; stage "Migrate schema" failed`,
				"Exception in child pipeline stage (Deploy database: Migrate schema): migration 42 failed: column exists",
			},
		},
		{
			name: "child canceled", child: &model.Execution{ID: "child-1", Name: "Deploy database", Status: model.StatusCanceled, CanceledBy: "dave"},
			wantStatus: model.StatusCanceled, wantErrors: []string{`child pipeline "Deploy database" (execution child-1) was canceled by dave`},
		},
		{name: "child gone", ctx: map[string]any{"executionId": "child-9"}, wantStatus: model.StatusTerminal, wantErrors: []string{"child pipeline execution child-9 was not found"}},
		{name: "nothing started", ctx: map[string]any{}, wantStatus: model.StatusTerminal, wantErrors: []string{"executionId is not set"}},
		{name: "store hiccup: look again", child: &model.Execution{ID: "child-1", Status: model.StatusRunning}, failGet: errors.New("throttled"), wantStatus: model.StatusRunning, wantBackoff: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePipelines()
			if tt.child != nil {
				f.runs[tt.child.ID] = tt.child
			}
			f.failGet = tt.failGet
			ctx := tt.ctx
			if ctx == nil {
				ctx = map[string]any{"executionId": "child-1"}
			}
			r, err := execute(MonitorPipelineTask{}, pipelineRun(ctx, f))
			if err != nil {
				t.Fatal(err)
			}
			stagestest.CheckFailure(t, r, tt.wantStatus, tt.wantErrors...)
			if r.Backoff != tt.wantBackoff {
				t.Errorf("backoff = %v, want %v", r.Backoff, tt.wantBackoff)
			}
			if tt.wantOutputs != nil && !reflect.DeepEqual(r.Outputs, tt.wantOutputs) {
				t.Errorf("outputs = %v, want %v", r.Outputs, tt.wantOutputs)
			}
		})
	}
}

func TestMonitorPipelineTaskFailureNamesTheFailedStage(t *testing.T) {
	f := newFakePipelines()
	f.runs["child-1"] = &model.Execution{ID: "child-1", Name: "Deploy database", Status: model.StatusTerminal, Stages: []model.StageExecution{
		{ID: "s1", RefID: "1", Name: "Deploy", Status: model.StatusTerminal, Context: map[string]any{}},
	}}
	r, _ := execute(MonitorPipelineTask{}, pipelineRun(map[string]any{"executionId": "child-1"}, f))
	source := r.Context["exception"].(map[string]any)["source"].(map[string]any)
	if source["executionId"] != "child-1" || source["stageName"] != "Deploy" || source["stageIndex"] != 0.0 {
		t.Errorf("exception.source = %v; want the child execution and its failed stage", source)
	}
}

func TestMonitorPipelineTaskCancelsTheChild(t *testing.T) {
	tests := []struct {
		name       string
		ctx        map[string]any
		canceledBy string
		wantUser   string
	}{
		{"by the user who canceled the parent", map[string]any{"executionId": "child-1"}, "erin", "erin"},
		{"by the system", map[string]any{"executionId": "child-1"}, "", "parent pipeline"},
		{"nothing started yet", map[string]any{}, "erin", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePipelines()
			f.runs["child-1"] = &model.Execution{ID: "child-1", Status: model.StatusRunning}
			run := pipelineRun(tt.ctx, f)
			run.Execution.Canceled, run.Execution.CanceledBy = true, tt.canceledBy
			if _, err := cancel(MonitorPipelineTask{}, run); err != nil {
				t.Fatal(err)
			}
			if got := f.canceled["child-1"]; got != tt.wantUser {
				t.Fatalf("child canceled by %q, want %q", got, tt.wantUser)
			}
		})
	}
}

// A whole pipeline stage: start the child, watch it run, take its outcome.
func TestPipelineStageRunsTheChildToTheEnd(t *testing.T) {
	f := newFakePipelines()
	run := pipelineRun(map[string]any{"application": "db", "pipeline": "deploy-db"}, f)
	tasks, err := PipelineStage{}.Plan(run.Stage)
	if err != nil {
		t.Fatal(err)
	}
	reg := stages.NewRegistry()
	RegisterFlowControl(reg)
	var statuses []string
	for _, name := range tasks {
		task, err := reg.Task(name)
		if err != nil {
			t.Fatal(err)
		}
		for step := 0; ; step++ {
			r, err := execute(task, run)
			if err != nil {
				t.Fatal(err)
			}
			stagestest.Apply(run, r)
			statuses = append(statuses, name+":"+string(r.Status))
			if r.Status != model.StatusRunning {
				break
			}
			f.runs["child-1"].Status = model.StatusSucceeded // the child finishes
		}
	}
	want := "StartPipeline:SUCCEEDED MonitorPipeline:RUNNING MonitorPipeline:SUCCEEDED"
	if got := strings.Join(statuses, " "); got != want {
		t.Fatalf("tasks went %s, want %s", got, want)
	}
	if run.Stage.Context["status"] != "SUCCEEDED" {
		t.Errorf("context.status = %v, want SUCCEEDED", run.Stage.Context["status"])
	}
}
