package orchestration_test

import (
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
)

// Older Spinnaker pipelines list their stages without refIds; orca ran them
// one after another, and so does gennaker.
func TestLinearPipelineRunsItsStagesInOrder(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	p := savePipeline(t, rt, `{"name": "linear", "parallel": false, "stages": [
	  {"type": "wait", "name": "First", "waitTime": 1},
	  {"type": "evaluateVariables", "name": "Second", "variables": [{"key": "k", "value": "v"}]},
	  {"type": "wait", "name": "Third", "waitTime": 0, "stageEnabled": {}}]}`)
	e := waitDone(t, rt, trigger(t, rt, p, nil), 20*time.Second)
	assertStatus(t, e, model.StatusSucceeded)
	first, second, third := stageNamed(t, e, "First"), stageNamed(t, e, "Second"), stageNamed(t, e, "Third")
	if second.StartTime < first.EndTime || third.StartTime < second.EndTime {
		t.Fatalf("stages overlapped: first %d-%d, second %d-%d, third %d-%d",
			first.StartTime, first.EndTime, second.StartTime, second.EndTime, third.StartTime, third.EndTime)
	}
	// stageEnabled without an expression leaves the stage enabled.
	assertStage(t, e, "Third", model.StatusSucceeded)
}
