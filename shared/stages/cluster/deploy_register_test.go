package cluster

import (
	"testing"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

// Every stage type of the family decodes its configuration once per task
// call, and every task it may plan is registered.
func TestRegisterDeployments(t *testing.T) {
	t.Parallel()
	reg := stages.NewRegistry()
	RegisterDeployments(reg)
	want := []string{"cloneServerGroup", "createServerGroup", "deleteLoadBalancer", "deploy", "destroyServerGroup",
		"disableCluster", "disableServerGroup", "enableServerGroup", "findAmi", "findImage", "findImageFromCluster",
		"findImageFromTags", "resizeServerGroup", "rollbackCluster", "rollbackServerGroup", "scaleDownCluster", "shrinkCluster",
		"upsertImageTags", "upsertLoadBalancer"}
	if got := reg.StageTypes(); !equal(got, want) {
		t.Fatalf("stage types = %v, want %v", got, want)
	}
	for _, typ := range want {
		def, _ := reg.Definition(typ)
		if _, ok := def.(stages.Configurer); !ok {
			t.Errorf("%s has no typed configuration", typ)
		}
	}
	for _, task := range deploymentTasks() {
		if got, err := reg.Task(task.Name()); err != nil || got != task {
			t.Errorf("task %s is not registered: %v", task.Name(), err)
		}
	}
}

// A registry told of no providers accepts any account; told of them, it
// refuses unknown ones.
func TestUseProviders(t *testing.T) {
	t.Parallel()
	reg := stages.NewRegistry()
	RegisterDeployments(reg)
	e := newTestEnv(t)
	stage := `{"type": "deleteLoadBalancer", "account": "prod", "region": "r", "loadBalancerName": "lb"}`
	if _, probs := reg.ValidateStage(stagestest.StageFromJSON(t, stage)); len(probs) != 0 {
		t.Fatalf("without providers: %v", probs)
	}
	UseProviders(reg, e.provs)
	if _, probs := reg.ValidateStage(stagestest.StageFromJSON(t, stage)); len(probs) != 1 || probs[0].Path != "account" {
		t.Fatalf("with providers: %v", probs)
	}
	UseProviders(stages.NewRegistry(), e.provs) // no deployment stages: nothing to tell
}
