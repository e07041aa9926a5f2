package cluster

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
	"github.com/gennaker/gennaker/shared/store"
)

// fakePipelines records the runs a deploy starts; it stands in for the
// runtime's pipelines in tests of what a deploy asks for.
type fakePipelines struct {
	requests []stages.TriggerRequest
	runs     map[model.ExecutionID]*model.Execution
}

func (f *fakePipelines) Trigger(_ context.Context, req stages.TriggerRequest) (model.ExecutionID, error) {
	if req.PipelineID == "missing" {
		return "", store.ErrNotFound
	}
	f.requests = append(f.requests, req)
	id := model.ExecutionID(req.IdempotencyKey)
	if f.runs == nil {
		f.runs = map[model.ExecutionID]*model.Execution{}
	}
	f.runs[id] = &model.Execution{ID: id, Name: "child of " + string(req.PipelineID), Status: model.StatusRunning}
	return id, nil
}

func (f *fakePipelines) Get(_ context.Context, id model.ExecutionID) (*model.Execution, error) {
	if e, ok := f.runs[id]; ok {
		return e, nil
	}
	return nil, store.ErrNotFound
}

func (f *fakePipelines) Cancel(context.Context, model.ExecutionID, string, string) error { return nil }

func TestStartChildPipeline(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		child   childPipeline
		wantErr string
	}{
		{"strategy", childPipeline{Application: "hello", PipelineID: "s", Parameters: map[string]any{"strategy": true}, Key: "strategy"}, ""},
		{"validation", childPipeline{Application: "hello", PipelineID: "v", Key: "beforeCleanup/0"}, ""},
		{"missing", childPipeline{Application: "hello", PipelineID: "missing", Key: "strategy"}, "pipeline missing of application hello was not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pipes := &fakePipelines{}
			run := stagestest.NewRun(nil)
			run.Services.Pipelines = pipes
			id, name, err := startChildPipeline(context.Background(), run, tc.child)
			if tc.wantErr != "" {
				if err == nil || err.Error()[:len(tc.wantErr)] != tc.wantErr {
					t.Fatalf("start = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			req := pipes.requests[0]
			if want := "parent-exec/stage-1/0/" + tc.child.Key; req.IdempotencyKey != want || string(id) != want {
				t.Errorf("idempotency key = %s, want %s", req.IdempotencyKey, want)
			}
			if name != "child of "+tc.child.PipelineID {
				t.Errorf("name = %q", name)
			}
			tr := req.Trigger
			if tr.Type != "pipeline" || tr.ParentExecutionID != "parent-exec" || tr.ParentStageID != "stage-1" || tr.User != "alice" {
				t.Errorf("trigger = %+v", tr)
			}
			var strategy bool
			if err := json.Unmarshal(tr.Extra["strategy"], &strategy); err != nil || strategy != (tc.child.Parameters["strategy"] == true) {
				t.Errorf("trigger strategy = %s", tr.Extra["strategy"])
			}
		})
	}
}

// A deploy watching its child pipeline takes on the child's outcome, read
// from the child's own run whatever the deploy's configuration holds.
func TestWatchChildPipeline(t *testing.T) {
	t.Parallel()
	run := stagestest.NewRun(map[string]any{"clusters": []any{}})
	pipes := &fakePipelines{runs: map[model.ExecutionID]*model.Execution{
		"running": {ID: "running", Name: "strategy", Status: model.StatusRunning},
		"done":    {ID: "done", Name: "strategy", Status: model.StatusSucceeded},
	}}
	run.Services.Pipelines = pipes
	for id, want := range map[string]model.Status{"running": model.StatusRunning, "done": model.StatusSucceeded, "gone": model.StatusTerminal} {
		r, err := watchChildPipeline(context.Background(), run, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if r.Status != want {
			t.Errorf("child %s: status %s, want %s", id, r.Status, want)
		}
	}
	if _, ok := run.Stage.Context["executionId"]; ok {
		t.Fatal("watching the child changed the deploy's own context")
	}
}
