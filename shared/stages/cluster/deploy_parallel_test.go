package cluster

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestDeployExpandsIntoParts(t *testing.T) {
	t.Parallel()
	deploy := &DeployStage{env: &deployEnv{}, typ: "deploy"}
	cases := []struct {
		name  string
		stage string
		want  []stages.Synthetic
	}{
		{"one cluster deploys itself", `{"type": "deploy", "clusters": [{"application": "hello"}]}`, nil},
		{"clusters from an expression deploy themselves", `{"type": "deploy", "clusters": "${parameters.clusters}"}`, nil},
		{"two clusters, each a part", `{"type": "deploy", "stageTimeoutMs": 60000, "clusters": [
		  {"application": "hello", "stack": "prod", "account": "a1", "region": "eu"},
		  {"application": "hello", "stack": "canary", "freeFormDetails": "x", "account": "a2", "regions": ["us"]}]}`,
			[]stages.Synthetic{
				{Type: "createServerGroup", Name: "Deploy hello-prod in a1/eu", Context: map[string]any{"application": "hello", "stack": "prod", "account": "a1", "region": "eu", "stageTimeoutMs": 60000.0}},
				{Type: "createServerGroup", Name: "Deploy hello-canary-x in a2/us", Context: map[string]any{"application": "hello", "stack": "canary", "freeFormDetails": "x", "account": "a2", "regions": []any{"us"}, "stageTimeoutMs": 60000.0}},
			}},
		{"the older cluster field takes the stage's account", `{"type": "deploy", "account": "prod", "cloudProvider": "aws", "cluster": {"application": "hello"}}`,
			[]stages.Synthetic{{Type: "createServerGroup", Name: "Deploy hello in prod", Context: map[string]any{"application": "hello", "account": "prod", "cloudProvider": "aws"}}}},
		{"a cluster's own account wins", `{"type": "deploy", "account": "prod", "cluster": {"application": "hello", "account": "test"}}`,
			[]stages.Synthetic{{Type: "createServerGroup", Name: "Deploy hello in test", Context: map[string]any{"application": "hello", "account": "test"}}}},
		{"a cluster that is no object is left to validation", `{"type": "deploy", "clusters": [{"application": "a"}, "b"]}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s model.Stage
			if err := json.Unmarshal([]byte(tc.stage), &s); err != nil {
				t.Fatal(err)
			}
			got := deploy.Expand(&s)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parts\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if got := (&DeployStage{env: &deployEnv{}, typ: "createServerGroup"}).Expand(&model.Stage{Type: "createServerGroup"}); got != nil {
		t.Fatalf("createServerGroup expanded: %v", got)
	}
}

// The deploy that ran as parts ends with every part's new server groups as
// its own outputs.
func TestCompleteParallelDeployGathersWhatThePartsDeployed(t *testing.T) {
	t.Parallel()
	run := stagestest.NewRun(map[string]any{"clusters": []any{map[string]any{}, map[string]any{}}})
	run.Execution.Stages = []model.StageExecution{
		{ID: "p1", ParentStageID: run.Stage.ID, Outputs: map[string]any{"deploy.server.groups": map[string]any{"eu": []any{"hello-prod-v001"}}}},
		{ID: "p2", ParentStageID: run.Stage.ID, Outputs: map[string]any{"deploy.server.groups": map[string]any{"eu": []any{"hello-canary-v000"}, "us": []any{"hello-canary-v000"}}}},
		{ID: "other", Outputs: map[string]any{"deploy.server.groups": map[string]any{"eu": []any{"unrelated-v000"}}}},
		*run.Stage,
	}
	r, err := CompleteParallelDeployTask{}.Execute(context.Background(), run)
	if err != nil || r.Status != model.StatusSucceeded {
		t.Fatalf("result %+v, %v", r, err)
	}
	want := map[string]any{"eu": []any{"hello-prod-v001", "hello-canary-v000"}, "us": []any{"hello-canary-v000"}}
	if got := r.Outputs["deploy.server.groups"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("deploy.server.groups = %v, want %v", got, want)
	}
}
