package orchestration_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/asl"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/orchestration"
	"github.com/gennaker/gennaker/shared/runtime/local"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/builtin"
)

// fakeClusterStage is a stage type for this test only: it always acts
// through the kubernetes provider, and its one task succeeds at once.
type fakeClusterStage struct{}

func (fakeClusterStage) Type() string                          { return "fakeCluster" }
func (fakeClusterStage) Validate(*model.Stage) []model.Problem { return nil }
func (fakeClusterStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{"FakeApply"}, nil
}
func (fakeClusterStage) CloudProvider() string { return "kubernetes" }

type fakeApplyTask struct{}

func (fakeApplyTask) Name() string { return "FakeApply" }
func (fakeApplyTask) Execute(context.Context, *stages.Run) (stages.Result, error) {
	return stages.Succeeded(), nil
}

// A stage of a provider with a function of its own runs on that provider's
// stage machine; a machine carries on only with stages of its own provider,
// and every other stage that can start gets a machine of its own.
func TestStagesRunOnTheMachineOfTheirProvider(t *testing.T) {
	t.Parallel()
	reg := builtin.New()
	reg.Register(fakeClusterStage{}, fakeApplyTask{})
	rt, err := local.Open(context.Background(), local.Options{DataDir: t.TempDir(), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	rt.Orchestrator.SetMachines(orchestration.Machines{
		Pipeline: asl.StateMachineArn("pipeline"),
		Stage:    asl.StateMachineArn("stage"),
		Families: map[string]string{"kubernetes": asl.StateMachineArn("stage-kubernetes")},
	})
	// 1 → 2 (kubernetes) → 3 (kubernetes, carried) → 4; and 1 → 5 (carried by 1's machine).
	p := savePipeline(t, rt, `{"name": "families", "stages": [
	  {"refId": "1", "type": "wait", "name": "One", "waitTime": 0},
	  {"refId": "2", "type": "fakeCluster", "name": "Apply", "requisiteStageRefIds": ["1"]},
	  {"refId": "3", "type": "fakeCluster", "name": "Apply again", "requisiteStageRefIds": ["2"]},
	  {"refId": "4", "type": "wait", "name": "After", "waitTime": 0, "requisiteStageRefIds": ["3"]},
	  {"refId": "5", "type": "wait", "name": "Beside", "waitTime": 0, "requisiteStageRefIds": ["1"]}]}`)
	e := waitDone(t, rt, trigger(t, rt, p, nil), 30*time.Second)
	assertStatus(t, e, model.StatusSucceeded)
	ran := func(machine string, s *model.StageExecution) bool {
		d, err := rt.ASL.DescribeExecution(context.Background(), asl.ExecutionArn(machine, string(s.ID)+"-"+labelOf(s.Name)+"-1"))
		var missing *asl.ExecutionDoesNotExist
		if errors.As(err, &missing) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		return d.Status == asl.StatusSucceeded
	}
	one, apply, again, after, beside := stageNamed(t, e, "One"), stageNamed(t, e, "Apply"), stageNamed(t, e, "Apply again"), stageNamed(t, e, "After"), stageNamed(t, e, "Beside")
	for _, c := range []struct {
		machine string
		stage   *model.StageExecution
		own     bool
	}{
		{"stage", one, true},
		{"stage-kubernetes", apply, true},
		{"stage-kubernetes", again, false}, // carried by Apply's machine
		{"stage", after, true},             // its provider's machine is not Apply's
		{"stage", beside, false},           // carried by One's machine
		{"stage", apply, false},
	} {
		if got := ran(c.machine, c.stage); got != c.own {
			t.Errorf("stage %q has a run of its own on %s: %v, want %v", c.stage.Name, c.machine, got, c.own)
		}
	}
}

func labelOf(name string) string {
	out := []rune{}
	for _, r := range name {
		if r == ' ' {
			r = '_'
		}
		out = append(out, r)
	}
	return string(out)
}
