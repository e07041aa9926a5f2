package orchestration_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/orchestration"
	"github.com/gennaker/gennaker/shared/store"
)

func TestLinearPipelineSucceedsWithOutputsAndExpressions(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	p := savePipeline(t, rt, `{
	  "name": "linear",
	  "parameterConfig": [{"name": "env", "default": "staging"}],
	  "stages": [
	    {"refId": "1", "type": "evaluateVariables", "name": "Vars",
	     "variables": [{"key": "target", "value": "${parameters.env + '-eu'}"}]},
	    {"refId": "2", "type": "wait", "name": "Wait", "requisiteStageRefIds": ["1"], "waitTime": 1},
	    {"refId": "3", "type": "evaluateVariables", "name": "Use", "requisiteStageRefIds": ["2"],
	     "variables": [{"key": "echo", "value": "${target}"}, {"key": "fromStage", "value": "${#stage('Vars')['outputs']['target']}"}]}
	  ]}`)
	id := trigger(t, rt, p, nil)
	e := waitDone(t, rt, id, 20*time.Second)
	assertStatus(t, e, model.StatusSucceeded)
	use := stageNamed(t, e, "Use")
	if use.Outputs["echo"] != "staging-eu" || use.Outputs["fromStage"] != "staging-eu" {
		t.Fatalf("outputs of Use = %v, want echo and fromStage = staging-eu", use.Outputs)
	}
	wait := stageNamed(t, e, "Wait")
	if d := wait.EndTime - wait.StartTime; d < 1000 {
		t.Fatalf("wait of 1s lasted %d ms", d)
	}
	if e.StartTime == 0 || e.EndTime < e.StartTime {
		t.Fatalf("run times not recorded: start %d end %d", e.StartTime, e.EndTime)
	}
}

func TestBranchesDoNotWaitForEachOther(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	// A1 -> A2 and a long B1: A2 must start long before B1 ends.
	p := savePipeline(t, rt, `{
	  "name": "dag",
	  "stages": [
	    {"refId": "a1", "type": "wait", "name": "A1", "waitTime": 1},
	    {"refId": "a2", "type": "wait", "name": "A2", "waitTime": 1, "requisiteStageRefIds": ["a1"]},
	    {"refId": "b1", "type": "wait", "name": "B1", "waitTime": 4},
	    {"refId": "j", "type": "noop", "name": "Join", "requisiteStageRefIds": ["a2", "b1"]}
	  ]}`)
	e := waitDone(t, rt, trigger(t, rt, p, nil), 30*time.Second)
	assertStatus(t, e, model.StatusSucceeded)
	a2, b1, join := stageNamed(t, e, "A2"), stageNamed(t, e, "B1"), stageNamed(t, e, "Join")
	if a2.StartTime >= b1.EndTime {
		t.Fatalf("A2 started at %d, not before B1 ended at %d: branches waited for each other", a2.StartTime, b1.EndTime)
	}
	if a2.EndTime >= b1.EndTime {
		t.Fatalf("A2 ended at %d, after B1 ended at %d", a2.EndTime, b1.EndTime)
	}
	if join.StartTime < b1.EndTime || join.StartTime < a2.EndTime {
		t.Fatalf("Join started at %d before its requisites ended (A2 %d, B1 %d)", join.StartTime, a2.EndTime, b1.EndTime)
	}
}

// failing is a stage that fails at once: a precondition that does not hold.
func failing(refID, name, flags string, reqs ...string) string {
	req := ""
	if len(reqs) > 0 {
		req = fmt.Sprintf(`, "requisiteStageRefIds": ["%s"]`, strings.Join(reqs, `","`))
	}
	return fmt.Sprintf(`{"refId": %q, "type": "checkPreconditions", "name": %q%s%s,
	  "preconditions": [{"type": "expression", "failPipeline": true, "context": {"expression": "${1 == 2}", "failureMessage": "one is not two"}}]}`,
		refID, name, flags, req)
}

func TestFailureBehaviours(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		flags       string
		wantStage   model.Status
		wantRun     model.Status
		afterStatus model.Status // the stage after the failed one in the same branch
		otherStatus model.Status // the long stage in the other branch
	}{
		{"halt the pipeline", ``, model.StatusTerminal, model.StatusTerminal, model.StatusNotStarted, model.StatusCanceled},
		{"halt this branch", `, "failPipeline": false`, model.StatusStopped, model.StatusSucceeded, model.StatusNotStarted, model.StatusSucceeded},
		{"halt branch then fail", `, "failPipeline": false, "completeOtherBranchesThenFail": true`, model.StatusStopped, model.StatusTerminal, model.StatusNotStarted, model.StatusSucceeded},
		{"ignore the failure", `, "failPipeline": false, "continuePipeline": true`, model.StatusFailedContinue, model.StatusSucceeded, model.StatusSucceeded, model.StatusSucceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rt := newRuntime(t)
			p := savePipeline(t, rt, `{"name": "fail", "stages": [`+
				failing("1", "Check", tc.flags)+`,
				{"refId": "2", "type": "noop", "name": "After", "requisiteStageRefIds": ["1"]},
				{"refId": "3", "type": "wait", "name": "Other", "waitTime": 2}
			]}`)
			e := waitDone(t, rt, trigger(t, rt, p, nil), 20*time.Second)
			assertStatus(t, e, tc.wantRun)
			assertStage(t, e, "Check", tc.wantStage)
			assertStage(t, e, "After", tc.afterStatus)
			assertStage(t, e, "Other", tc.otherStatus)
			if !strings.Contains(describe(e), "one is not two") {
				t.Fatalf("failure message missing from the stage: %s", describe(e))
			}
		})
	}
}

func TestCancelStopsRunningStages(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	p := savePipeline(t, rt, `{"name": "cancel", "stages": [
	  {"refId": "1", "type": "wait", "name": "Long", "waitTime": 600},
	  {"refId": "2", "type": "manualJudgment", "name": "Judge"},
	  {"refId": "3", "type": "noop", "name": "Never", "requisiteStageRefIds": ["1"]}]}`)
	id := trigger(t, rt, p, nil)
	waitFor(t, rt, id, 10*time.Second, "both stages running", func(e *model.Execution) bool {
		return stageStatus(e, "Long") == model.StatusRunning && stageStatus(e, "Judge") == model.StatusRunning
	})
	if err := rt.Orchestrator.Cancel(context.Background(), id, "alice", "changed my mind"); err != nil {
		t.Fatal(err)
	}
	e := waitDone(t, rt, id, 10*time.Second)
	assertStatus(t, e, model.StatusCanceled)
	assertStage(t, e, "Long", model.StatusCanceled)
	assertStage(t, e, "Judge", model.StatusCanceled)
	assertStage(t, e, "Never", model.StatusNotStarted)
	if e.CanceledBy != "alice" || e.CancellationReason != "changed my mind" {
		t.Fatalf("cancel not recorded: by %q reason %q", e.CanceledBy, e.CancellationReason)
	}
}

func TestManualJudgment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		judgment string
		want     model.Status
	}{{"continue", model.StatusSucceeded}, {"stop", model.StatusTerminal}} {
		t.Run(tc.judgment, func(t *testing.T) {
			t.Parallel()
			rt := newRuntime(t)
			p := savePipeline(t, rt, `{"name": "judge", "stages": [
			  {"refId": "1", "type": "manualJudgment", "name": "Approve", "judgmentInputs": [{"value": "ship"}, {"value": "hold"}]},
			  {"refId": "2", "type": "evaluateVariables", "name": "After", "requisiteStageRefIds": ["1"],
			   "variables": [{"key": "choice", "value": "${#judgment('Approve')}"}]}]}`)
			id := trigger(t, rt, p, nil)
			e := waitFor(t, rt, id, 10*time.Second, "judgment awaited", func(e *model.Execution) bool {
				return stageStatus(e, "Approve") == model.StatusRunning
			})
			time.Sleep(200 * time.Millisecond) // judged after the stage parked
			stage := stageNamed(t, e, "Approve")
			if _, err := rt.Orchestrator.PatchStage(context.Background(), id, stage.ID, "bob", map[string]any{"judgmentStatus": tc.judgment, "judgmentInput": "ship"}); err != nil {
				t.Fatal(err)
			}
			e = waitDone(t, rt, id, 10*time.Second)
			assertStatus(t, e, tc.want)
			if tc.want == model.StatusSucceeded {
				if got := stageNamed(t, e, "After").Outputs["choice"]; got != "ship" {
					t.Fatalf("#judgment('Approve') = %v, want ship", got)
				}
			}
		})
	}
}

func TestPauseAndResume(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	p := savePipeline(t, rt, `{"name": "pause", "stages": [
	  {"refId": "1", "type": "wait", "name": "W", "waitTime": 1},
	  {"refId": "2", "type": "noop", "name": "Next", "requisiteStageRefIds": ["1"]}]}`)
	id := trigger(t, rt, p, nil)
	waitFor(t, rt, id, 10*time.Second, "wait running", func(e *model.Execution) bool { return stageStatus(e, "W") == model.StatusRunning })
	if err := rt.Orchestrator.Pause(context.Background(), id, "carol"); err != nil {
		t.Fatal(err)
	}
	e := waitFor(t, rt, id, 10*time.Second, "stage paused", func(e *model.Execution) bool { return stageStatus(e, "W") == model.StatusPaused })
	assertStatus(t, e, model.StatusPaused)
	time.Sleep(1500 * time.Millisecond) // longer than the wait: a paused run must not move
	e, _ = rt.Store.Executions().Get(context.Background(), id)
	assertStage(t, e, "Next", model.StatusNotStarted)
	if err := rt.Orchestrator.Resume(context.Background(), id, "carol"); err != nil {
		t.Fatal(err)
	}
	e = waitDone(t, rt, id, 10*time.Second)
	assertStatus(t, e, model.StatusSucceeded)
	if e.Paused == nil || e.Paused.PausedMs < 1000 || e.Paused.ResumedBy != "carol" {
		t.Fatalf("pause not recorded: %+v", e.Paused)
	}
	if err := rt.Orchestrator.Pause(context.Background(), id, "carol"); !errors.Is(err, orchestration.ErrNotRunning) {
		t.Fatalf("pausing a finished run: err = %v, want ErrNotRunning", err)
	}
}

func TestSkipWait(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	p := savePipeline(t, rt, `{"name": "skip", "stages": [{"refId": "1", "type": "wait", "name": "W", "waitTime": 3600}]}`)
	id := trigger(t, rt, p, nil)
	e := waitFor(t, rt, id, 10*time.Second, "wait running", func(e *model.Execution) bool { return stageStatus(e, "W") == model.StatusRunning })
	time.Sleep(200 * time.Millisecond)
	if _, err := rt.Orchestrator.PatchStage(context.Background(), id, stageNamed(t, e, "W").ID, "dan", map[string]any{"skipRemainingWait": true}); err != nil {
		t.Fatal(err)
	}
	e = waitDone(t, rt, id, 10*time.Second)
	assertStatus(t, e, model.StatusSucceeded)
}

func TestRestartStageRunsItAndDownstreamAgain(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	p := savePipeline(t, rt, `{"name": "restart", "stages": [
	  {"refId": "1", "type": "evaluateVariables", "name": "First", "variables": [{"key": "a", "value": "1"}]},
	  {"refId": "2", "type": "manualJudgment", "name": "Gate", "requisiteStageRefIds": ["1"]},
	  {"refId": "3", "type": "noop", "name": "After", "requisiteStageRefIds": ["2"]}]}`)
	id := trigger(t, rt, p, nil)
	e := waitFor(t, rt, id, 10*time.Second, "gate running", func(e *model.Execution) bool { return stageStatus(e, "Gate") == model.StatusRunning })
	gate := stageNamed(t, e, "Gate")
	if _, err := rt.Orchestrator.PatchStage(context.Background(), id, gate.ID, "eve", map[string]any{"judgmentStatus": "stop"}); err != nil {
		t.Fatal(err)
	}
	e = waitDone(t, rt, id, 10*time.Second)
	assertStatus(t, e, model.StatusTerminal)
	firstEnd := stageNamed(t, e, "First").EndTime

	if err := rt.Orchestrator.RestartStage(context.Background(), id, gate.ID, "eve"); err != nil {
		t.Fatal(err)
	}
	e = waitFor(t, rt, id, 10*time.Second, "gate running again", func(e *model.Execution) bool {
		return e.Status == model.StatusRunning && stageStatus(e, "Gate") == model.StatusRunning
	})
	assertStage(t, e, "After", model.StatusNotStarted)
	time.Sleep(200 * time.Millisecond)
	if _, err := rt.Orchestrator.PatchStage(context.Background(), id, gate.ID, "eve", map[string]any{"judgmentStatus": "continue"}); err != nil {
		t.Fatal(err)
	}
	e = waitDone(t, rt, id, 10*time.Second)
	assertStatus(t, e, model.StatusSucceeded)
	assertStage(t, e, "After", model.StatusSucceeded)
	if got := stageNamed(t, e, "First").EndTime; got != firstEnd {
		t.Fatalf("the upstream stage ran again (end %d, was %d)", got, firstEnd)
	}
}

func TestConcurrencyModes(t *testing.T) {
	t.Parallel()
	t.Run("newest waiting run supersedes the others", func(t *testing.T) {
		t.Parallel()
		rt := newRuntime(t)
		p := savePipeline(t, rt, `{"name": "serial", "limitConcurrent": true, "keepWaitingPipelines": false,
		  "stages": [{"refId": "1", "type": "wait", "name": "W", "waitTime": 1}]}`)
		first := trigger(t, rt, p, nil)
		waitFor(t, rt, first, 10*time.Second, "first running", func(e *model.Execution) bool { return e.Status == model.StatusRunning })
		second := trigger(t, rt, p, nil)
		waitFor(t, rt, second, 10*time.Second, "second queued", func(e *model.Execution) bool { return e.Orchestration.Token != "" })
		third := trigger(t, rt, p, nil)
		e2 := waitDone(t, rt, second, 10*time.Second)
		assertStatus(t, e2, model.StatusCanceled)
		e1 := waitDone(t, rt, first, 10*time.Second)
		e3 := waitDone(t, rt, third, 10*time.Second)
		assertStatus(t, e1, model.StatusSucceeded)
		assertStatus(t, e3, model.StatusSucceeded)
		if e3.StartTime < e1.EndTime {
			t.Fatalf("third started at %d before first ended at %d", e3.StartTime, e1.EndTime)
		}
	})
	t.Run("keepWaitingPipelines runs every waiting run in order", func(t *testing.T) {
		t.Parallel()
		rt := newRuntime(t)
		p := savePipeline(t, rt, `{"name": "fifo", "limitConcurrent": true, "keepWaitingPipelines": true,
		  "stages": [{"refId": "1", "type": "wait", "name": "W", "waitTime": 1}]}`)
		var ids []model.ExecutionID
		for range 3 {
			ids = append(ids, trigger(t, rt, p, nil))
			time.Sleep(20 * time.Millisecond)
		}
		var prev *model.Execution
		for _, id := range ids {
			e := waitDone(t, rt, id, 20*time.Second)
			assertStatus(t, e, model.StatusSucceeded)
			if prev != nil && e.StartTime < prev.EndTime {
				t.Fatalf("run %s started at %d before the previous ended at %d", e.ID, e.StartTime, prev.EndTime)
			}
			prev = e
		}
	})
	t.Run("maxConcurrentExecutions allows that many at once", func(t *testing.T) {
		t.Parallel()
		rt := newRuntime(t)
		p := savePipeline(t, rt, `{"name": "two", "limitConcurrent": true, "maxConcurrentExecutions": 2, "keepWaitingPipelines": true,
		  "stages": [{"refId": "1", "type": "wait", "name": "W", "waitTime": 2}]}`)
		a, b, c := trigger(t, rt, p, nil), trigger(t, rt, p, nil), trigger(t, rt, p, nil)
		ea, eb, ec := waitDone(t, rt, a, 20*time.Second), waitDone(t, rt, b, 20*time.Second), waitDone(t, rt, c, 20*time.Second)
		if eb.StartTime >= ea.EndTime {
			t.Fatalf("second run waited although two may run at once")
		}
		if ec.StartTime < min(ea.EndTime, eb.EndTime) {
			t.Fatalf("third run started before a slot was free")
		}
	})
	t.Run("limitConcurrent false runs at once", func(t *testing.T) {
		t.Parallel()
		rt := newRuntime(t)
		p := savePipeline(t, rt, `{"name": "free", "limitConcurrent": false,
		  "stages": [{"refId": "1", "type": "wait", "name": "W", "waitTime": 2}]}`)
		a, b := trigger(t, rt, p, nil), trigger(t, rt, p, nil)
		ea, eb := waitDone(t, rt, a, 20*time.Second), waitDone(t, rt, b, 20*time.Second)
		if eb.StartTime >= ea.EndTime {
			t.Fatalf("runs of a pipeline without limitConcurrent waited for each other")
		}
	})
}

func TestTriggerChecks(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	p := savePipeline(t, rt, `{"name": "params", "parameterConfig": [
	  {"name": "env", "required": true, "hasOptions": true, "options": [{"value": "dev"}, {"value": "prod"}]},
	  {"name": "region", "default": "eu-west-1"}],
	  "stages": [{"refId": "1", "type": "evaluateVariables", "name": "V", "variables": [{"key": "r", "value": "${parameters.region}"}]}]}`)
	ctx := context.Background()
	_, err := rt.Orchestrator.TriggerPipeline(ctx, p, model.ExecutionTrigger{Parameters: map[string]any{}}, "")
	var te *orchestration.TriggerError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), `parameters.env: required parameter "env"`) {
		t.Fatalf("missing required parameter: err = %v", err)
	}
	_, err = rt.Orchestrator.TriggerPipeline(ctx, p, model.ExecutionTrigger{Parameters: map[string]any{"env": "qa"}}, "")
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "qa is not one of the options") {
		t.Fatalf("value outside options: err = %v", err)
	}
	runs, _ := rt.Store.Executions().ListByPipeline(ctx, p.ID, store.ListOptions{})
	if len(runs) != 0 {
		t.Fatalf("refused triggers stored %d runs", len(runs))
	}
	id := trigger(t, rt, p, map[string]any{"env": "prod"})
	e := waitDone(t, rt, id, 10*time.Second)
	assertStatus(t, e, model.StatusSucceeded)
	if got := stageNamed(t, e, "V").Outputs["r"]; got != "eu-west-1" {
		t.Fatalf("default parameter not applied: r = %v", got)
	}

	p.Disabled = true
	if _, err := rt.Orchestrator.TriggerPipeline(ctx, p, model.ExecutionTrigger{Parameters: map[string]any{"env": "dev"}}, ""); !errors.Is(err, orchestration.ErrPipelineDisabled) {
		t.Fatalf("disabled pipeline: err = %v", err)
	}
}

func TestStageEnabledAndTimeouts(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	p := savePipeline(t, rt, `{"name": "cond", "parameterConfig": [{"name": "env", "default": "dev"}], "stages": [
	  {"refId": "1", "type": "noop", "name": "ProdOnly", "stageEnabled": {"type": "expression", "expression": "parameters.env == 'prod'"}},
	  {"refId": "2", "type": "noop", "name": "DevOnly", "stageEnabled": {"type": "expression", "expression": "${parameters.env == 'dev'}"}},
	  {"refId": "3", "type": "manualJudgment", "name": "Slow", "stageTimeoutMs": 1500, "failPipeline": false, "continuePipeline": true}]}`)
	e := waitDone(t, rt, trigger(t, rt, p, nil), 20*time.Second)
	assertStage(t, e, "ProdOnly", model.StatusSkipped)
	assertStage(t, e, "DevOnly", model.StatusSucceeded)
	assertStage(t, e, "Slow", model.StatusFailedContinue)
	if !strings.Contains(describe(e), "timed out") {
		t.Fatalf("timeout message missing: %s", describe(e))
	}
	assertStatus(t, e, model.StatusSucceeded)
}

func TestBadExpressionFailsTheStageWithFieldAndExpression(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	p := savePipeline(t, rt, `{"name": "badexpr", "stages": [
	  {"refId": "1", "type": "wait", "name": "W", "waitTime": "${#nope('x')}"}]}`)
	e := waitDone(t, rt, trigger(t, rt, p, nil), 10*time.Second)
	assertStatus(t, e, model.StatusTerminal)
	msg := describe(e)
	if !strings.Contains(msg, "waitTime") || !strings.Contains(msg, "#nope") {
		t.Fatalf("message should name the field and the expression: %s", msg)
	}
}

func TestExecutionWindowWaitsAndCanBeSkipped(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	// A window that is closed now: the hour two hours from now, UTC.
	h := (time.Now().UTC().Hour() + 2) % 24
	p := savePipeline(t, rt, fmt.Sprintf(`{"name": "window", "stages": [
	  {"refId": "1", "type": "noop", "name": "Windowed", "restrictExecutionDuringTimeWindow": true,
	   "restrictedExecutionWindow": {"whitelist": [{"startHour": %d, "startMin": 0, "endHour": %d, "endMin": 30}], "timeZone": "UTC"}}]}`, h, h))
	id := trigger(t, rt, p, nil)
	e := waitFor(t, rt, id, 10*time.Second, "window waiting", func(e *model.Execution) bool {
		s := stageNamed(t, e, "Windowed")
		return s.Status == model.StatusRunning && len(s.Tasks) > 0 && s.Tasks[0].Status == model.StatusRunning
	})
	time.Sleep(300 * time.Millisecond)
	e, _ = rt.Store.Executions().Get(context.Background(), id)
	assertStage(t, e, "Windowed", model.StatusRunning)
	if _, err := rt.Orchestrator.PatchStage(context.Background(), id, stageNamed(t, e, "Windowed").ID, "ops", map[string]any{"skipRemainingWait": true}); err != nil {
		t.Fatal(err)
	}
	e = waitDone(t, rt, id, 10*time.Second)
	assertStatus(t, e, model.StatusSucceeded)
}

func TestPipelineStageRunsChildAndCancelReachesIt(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	child := savePipeline(t, rt, `{"name": "child", "application": "other", "parameterConfig": [{"name": "who"}], "stages": [
	  {"refId": "1", "type": "evaluateVariables", "name": "Greet", "variables": [{"key": "greeting", "value": "${'hello ' + parameters.who}"}]}]}`)
	parent := savePipeline(t, rt, fmt.Sprintf(`{"name": "parent", "stages": [
	  {"refId": "1", "type": "pipeline", "name": "Run child", "application": "other", "pipeline": %q, "pipelineParameters": {"who": "world"}}]}`, child.ID))
	e := waitDone(t, rt, trigger(t, rt, parent, nil), 20*time.Second)
	assertStatus(t, e, model.StatusSucceeded)
	childID, _ := stageNamed(t, e, "Run child").Context["executionId"].(string)
	ce, err := rt.Store.Executions().Get(context.Background(), model.ExecutionID(childID))
	if err != nil {
		t.Fatalf("child run %q: %v", childID, err)
	}
	assertStatus(t, ce, model.StatusSucceeded)
	if got := stageNamed(t, ce, "Greet").Outputs["greeting"]; got != "hello world" {
		t.Fatalf("child did not get its parameters: greeting = %v", got)
	}

	slow := savePipeline(t, rt, `{"name": "slowchild", "application": "other", "stages": [{"refId": "1", "type": "wait", "name": "W", "waitTime": 600}]}`)
	parent2 := savePipeline(t, rt, fmt.Sprintf(`{"name": "parent2", "stages": [
	  {"refId": "1", "type": "pipeline", "name": "Run slow", "application": "other", "pipeline": %q}]}`, slow.ID))
	id := trigger(t, rt, parent2, nil)
	e = waitFor(t, rt, id, 10*time.Second, "child started", func(e *model.Execution) bool {
		_, ok := stageNamed(t, e, "Run slow").Context["executionId"].(string)
		return ok
	})
	childID = stageNamed(t, e, "Run slow").Context["executionId"].(string)
	waitFor(t, rt, model.ExecutionID(childID), 10*time.Second, "child running", func(e *model.Execution) bool { return e.Status == model.StatusRunning })
	if err := rt.Orchestrator.Cancel(context.Background(), id, "frank", ""); err != nil {
		t.Fatal(err)
	}
	assertStatus(t, waitDone(t, rt, id, 10*time.Second), model.StatusCanceled)
	assertStatus(t, waitDone(t, rt, model.ExecutionID(childID), 10*time.Second), model.StatusCanceled)
}

func TestJudgingAStageThatHasNotStartedIsRefused(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	p := savePipeline(t, rt, `{"name": "early", "stages": [
	  {"refId": "1", "type": "wait", "name": "W", "waitTime": 600},
	  {"refId": "2", "type": "manualJudgment", "name": "Later", "requisiteStageRefIds": ["1"]}]}`)
	id := trigger(t, rt, p, nil)
	e := waitFor(t, rt, id, 10*time.Second, "wait running", func(e *model.Execution) bool { return stageStatus(e, "W") == model.StatusRunning })
	_, err := rt.Orchestrator.PatchStage(context.Background(), id, stageNamed(t, e, "Later").ID, "zed", map[string]any{"judgmentStatus": "continue"})
	if !errors.Is(err, orchestration.ErrNotRunning) {
		t.Fatalf("judging a stage that has not started: err = %v, want ErrNotRunning", err)
	}
	e, _ = rt.Store.Executions().Get(context.Background(), id)
	if _, judged := stageNamed(t, e, "Later").Context["judgmentStatus"]; judged {
		t.Fatalf("the refused judgment was recorded")
	}
	if err := rt.Orchestrator.Cancel(context.Background(), id, "zed", ""); err != nil {
		t.Fatal(err)
	}
	assertStatus(t, waitDone(t, rt, id, 10*time.Second), model.StatusCanceled)
}
