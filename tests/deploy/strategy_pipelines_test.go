package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// Deploys that run other pipelines: the custom strategy, and a rolling
// red/black's pipelineBeforeCleanup.

// save stores a pipeline of the application under id without running it.
func (e *env) save(id, src string) {
	e.t.Helper()
	var p model.Pipeline
	if err := json.Unmarshal([]byte(src), &p); err != nil {
		e.t.Fatalf("pipeline JSON: %v\n%s", err, src)
	}
	p.ID, p.Application = model.PipelineID(id), model.ApplicationName(e.app)
	if _, err := e.rt.Store.Pipelines().Save(context.Background(), &p, "tester", 0); err != nil {
		e.t.Fatalf("save pipeline %s: %v", id, err)
	}
}

// runsOf returns the pipeline's runs, oldest first.
func (e *env) runsOf(id string) []model.Execution {
	e.t.Helper()
	runs, err := e.rt.Store.Executions().ListByPipeline(context.Background(), model.PipelineID(id), store.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(runs)
	return runs
}

// redBlackByStrategy is a strategy pipeline: deploy the parent's cluster
// (with the given trafficOptions), check the promote parameter, then
// disable all but parameters.keep server groups of the cluster.
const redBlackByStrategy = `{"name": "Red/black by strategy", "strategy": true, "stages": [
  {"refId": "1", "type": "deploy", "name": "Deploy", "clusters": [], "trafficOptions": %q},
  {"refId": "2", "requisiteStageRefIds": ["1"], "type": "checkPreconditions", "name": "Promote?",
   "preconditions": [{"type": "expression", "failPipeline": true,
     "context": {"expression": "${parameters.promote}", "failureMessage": "not promoted"}}]},
  {"refId": "3", "requisiteStageRefIds": ["2"], "type": "disableCluster", "name": "Disable the others",
   "cloudProvider": "${parameters.cloudProvider}", "credentials": "${parameters.credentials}",
   "regions": ["${parameters.region}"], "cluster": "${parameters.cluster}",
   "remainingEnabledServerGroups": "${parameters.keep}"}]}`

func TestCustomStrategyRunsItsPipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deployAll("redblack", []string{"v1"}, 2)
	e.save("rb-strategy", fmt.Sprintf(redBlackByStrategy, "inherit"))
	tr := startTraffic(e.lb)
	ex := e.run(deployStage("v2", "custom", 2, "", `, "strategyApplication": "hello", "strategyPipeline": "rb-strategy",
	  "pipelineParameters": {"keep": 1, "promote": true}`))
	versions, failures := tr.finishAfter(50)
	assertStatus(t, ex, model.StatusSucceeded)
	assertNoFailures(t, versions, failures)
	assertState(t, e, "after the custom strategy", "v000:disabled:2 v001:enabled:2")
	assertServes(t, e.lb, "v2")

	// The strategy pipeline ran once, with orca's parameters and ours.
	runs := e.runsOf("rb-strategy")
	if len(runs) != 1 {
		t.Fatalf("the strategy pipeline ran %d times", len(runs))
	}
	child := runs[0]
	p := child.Trigger.Parameters
	for k, want := range map[string]any{
		"application": "hello", "credentials": "local", "cluster": "hello-prod", "region": "local",
		"cloudProvider": "local", "strategy": true, "clone": false, "keep": float64(1),
		"parentPipelineId": string(ex.ID), "parentStageId": string(ex.Stages[0].ID),
	} {
		if p[k] != want {
			t.Errorf("strategy parameter %s = %#v, want %#v", k, p[k], want)
		}
	}
	if child.Trigger.Type != "pipeline" || child.Trigger.ParentExecutionID != ex.ID {
		t.Errorf("strategy trigger = %+v", child.Trigger)
	}
	// The server group is the strategy's deploy's, and the parent deploy
	// reports it as its own.
	if g := e.group("v001"); g.Provenance.ExecutionID != child.ID {
		t.Errorf("v001 was created by %s, want the strategy run %s", g.Provenance.ExecutionID, child.ID)
	}
	deployed, _ := json.Marshal(ex.Stages[0].Outputs["deploy.server.groups"])
	if !strings.Contains(string(deployed), "hello-prod-v001") {
		t.Errorf("the deploy's outputs do not name the new server group: %s", deployed)
	}
}

func TestCustomStrategyFailureFailsTheDeploy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deployAll("redblack", []string{"v1"})
	// The strategy creates the new server group out of rotation, and stops
	// before enabling anything: the parent fails with its reason.
	e.save("rb-strategy", fmt.Sprintf(redBlackByStrategy, "disable"))
	tr := startTraffic(e.lb)
	ex := e.run(deployStage("v2", "custom", 1, "", `, "strategyApplication": "hello", "strategyPipeline": "rb-strategy",
	  "pipelineParameters": {"keep": 1, "promote": false}`))
	versions, failures := tr.finishAfter(50)
	assertStatus(t, ex, model.StatusTerminal)
	if msg := describe(ex); !strings.Contains(msg, "custom strategy: child pipeline") || !strings.Contains(msg, "not promoted") {
		t.Fatalf("the deploy's failure does not say why its strategy failed: %s", msg)
	}
	assertNoFailures(t, versions, failures)
	if versions["v2"] != 0 {
		t.Fatalf("the server group deployed out of rotation took traffic: %v", versions)
	}
	assertState(t, e, "after the failed strategy", "v000:enabled:1 v001:disabled:1")
	if g := e.group("v001"); g.Counts.OutOfService != 1 {
		t.Fatalf("the disabled new server group is not up and out of service: %+v", g.Counts)
	}
	assertServes(t, e.lb, "v1")
}

// validation is a pipelineBeforeCleanup: it checks the parameters a rolling
// red/black passes and fails from the failAt percentage on.
const validation = `{"name": "Validate", "stages": [
  {"refId": "1", "type": "checkPreconditions", "name": "Check",
   "preconditions": [
     {"type": "expression", "failPipeline": true, "context": {
       "expression": "${parameters.deployedServerGroup.serverGroupName == 'hello-prod-v001' && parameters.sourceServerGroup.serverGroupName == 'hello-prod-v000' && parameters.deployedServerGroup.account == 'local'}",
       "failureMessage": "wrong server groups"}},
     {"type": "expression", "failPipeline": true, "context": {
       "expression": "${parameters.percentageComplete < parameters.failAt}",
       "failureMessage": "the new version failed validation"}}]}]}`

func TestRollingRedBlackRunsPipelineBeforeCleanup(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		failAt  int
		status  model.Status
		want    string
		serves  string
		percent []float64 // percentageComplete of each validation run
	}{
		{"validation passes", 1000, model.StatusSucceeded, "v000:disabled:2 v001:enabled:2", "v2", []float64{50, 100}},
		{"validation fails and rolls back", 100, model.StatusTerminal, "v000:enabled:2", "v1", []float64{50, 100}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.deployAll("rollingredblack", []string{"v1"}, 2)
			e.save("validate", validation)
			tr := startTraffic(e.lb)
			ex := e.run(deployStage("v2", "rollingredblack", 2, "", fmt.Sprintf(`, "targetPercentages": [50, 100],
			  "rollback": {"onFailure": true},
			  "pipelineBeforeCleanup": {"application": "hello", "pipelineId": "validate", "pipelineParameters": {"failAt": %d}}`, tc.failAt)))
			versions, failures := tr.finishAfter(50)
			assertStatus(t, ex, tc.status)
			assertNoFailures(t, versions, failures)
			if versions["v2"] == 0 {
				t.Fatalf("the first step's instances took no traffic: %v", versions)
			}
			assertState(t, e, "after the rolling red/black", tc.want)
			assertServes(t, e.lb, tc.serves)
			var got []float64
			for _, r := range e.runsOf("validate") {
				got = append(got, r.Trigger.Parameters["percentageComplete"].(float64))
			}
			if !slices.Equal(got, tc.percent) {
				t.Fatalf("validation runs at %v%%, want %v", got, tc.percent)
			}
			if tc.status == model.StatusTerminal {
				if msg := describe(ex); !strings.Contains(msg, "pipelineBeforeCleanup failed") || !strings.Contains(msg, "the new version failed validation") {
					t.Fatalf("the failure does not name the validation: %s", msg)
				}
			}
		})
	}
}
