package awslambda_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/mototest"
)

// A new build is deployed as version 2, the alias live shifts to it
// 10% → 50% → 100% with waits between the steps, and is rolled back to
// version 1. At each step, what AWS reports is checked while the run waits.
func TestWeightedShiftAndRollback(t *testing.T) {
	e := newEnv(t, mototest.Shared(t))

	first := e.run(e.deployStage("deploy", "1"),
		routeStage("live", "Route live to 1", `"deploymentStrategy": "$SIMPLE", "versionNameA": "$LATEST"`, "deploy"))
	assertStatus(t, first, model.StatusSucceeded)
	if got := e.versions("shop-api"); got != "1" {
		t.Fatalf("versions after the first deploy = %q, want 1", got)
	}
	if got := e.alias("shop-api", "live"); got != "1" {
		t.Fatalf("live after the first deploy = %q, want 1", got)
	}
	out := stage(first, "deploy").Outputs
	if out["lambdaCreated"] != true || out["functionName"] != "shop-api" || out["versionId"] != "1" {
		t.Errorf("deployment outputs = %v, want lambdaCreated, functionName shop-api, versionId 1", out)
	}

	id := e.start(e.deployStage("deploy", "2"),
		routeStage("10", "10% to the new build", `"deploymentStrategy": "$WEIGHTED", "versionNameA": "$PREVIOUS", "trafficPercentA": 90, "versionNameB": "$LATEST"`, "deploy"),
		waitStage("w10", "10"),
		routeStage("50", "50% to the new build", `"deploymentStrategy": "$WEIGHTED", "versionNameA": "$PREVIOUS", "trafficPercentA": "50", "versionNameB": "$LATEST"`, "w10"),
		waitStage("w50", "50"),
		routeStage("100", "All to the new build", `"deploymentStrategy": "$SIMPLE", "versionNameA": "$LATEST"`, "w50"),
		waitStage("w100", "100"),
		routeStage("rollback", "Roll back", `"deploymentStrategy": "$SIMPLE", "versionNameA": "$PREVIOUS"`, "w100"))

	for _, step := range []struct{ wait, alias string }{
		{"w10", "1 2=0.10"},
		{"w50", "1 2=0.50"},
		{"w100", "2"},
	} {
		e.until(id, func(ex *model.Execution) bool {
			s := stage(ex, step.wait)
			return s != nil && s.Status == model.StatusRunning
		})
		if got := e.versions("shop-api"); got != "1 2" {
			t.Errorf("at %s: versions = %q, want 1 2", step.wait, got)
		}
		if got := e.alias("shop-api", "live"); got != step.alias {
			t.Errorf("at %s: live = %q, want %q", step.wait, got, step.alias)
		}
		e.skipWait(id, step.wait)
	}
	ex := e.until(id, func(ex *model.Execution) bool { return ex.Status.IsComplete() && ex.Orchestration.Finalized })
	assertStatus(t, ex, model.StatusSucceeded)
	if got := e.alias("shop-api", "live"); got != "1" {
		t.Errorf("live after the rollback = %q, want 1", got)
	}
	if got := e.versions("shop-api"); got != "1 2" {
		t.Errorf("versions after the rollback = %q, want 1 2", got)
	}
	if out := stage(ex, "10").Outputs; out["deployment:majorVersionDeployed"] != "1" || out["deployment:minorVersionDeployed"] != "2" ||
		out["deployment:strategyUsed"] != "WeightedDeploymentStrategy" || out["deployment:aliasDeployed"] != "live" {
		t.Errorf("weighted stage outputs = %v", out)
	}
	if out := stage(ex, "deploy").Outputs; out["lambdaCreated"] != false || out["lambdaVersionPublished"] != true || out["versionId"] != "2" {
		t.Errorf("second deployment outputs = %v, want lambdaCreated false, a version 2 published", out)
	}
}

// skipWait skips the rest of a running wait stage, as a user does.
func (e *env) skipWait(id model.ExecutionID, refID string) {
	e.t.Helper()
	ex, err := e.rt.Store.Executions().Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.rt.Orchestrator.PatchStage(context.Background(), id, stage(ex, refID).ID, "tester", map[string]any{"skipRemainingWait": true}); err != nil {
		e.t.Fatalf("skip %s: %v", refID, err)
	}
}

// Blue/green invokes the new version before moving the alias. An unhealthy
// answer (moto's canned invocation result) leaves live on the old version,
// taking away the share a canary gave the new one, and fails the stage; a
// healthy answer moves all of live to the new version.
func TestBlueGreenHealthCheck(t *testing.T) {
	e := newEnv(t, mototest.Shared(t))
	assertStatus(t, e.run(e.deployStage("deploy", "1"),
		routeStage("live", "Route live to 1", `"deploymentStrategy": "$SIMPLE", "versionNameA": "$LATEST"`, "deploy")), model.StatusSucceeded)
	assertStatus(t, e.run(e.deployStage("deploy", "2"),
		routeStage("canary", "10% to 2", `"deploymentStrategy": "$WEIGHTED", "versionNameA": "$PREVIOUS", "trafficPercentA": 90, "versionNameB": "$LATEST"`, "deploy")), model.StatusSucceeded)
	if got := e.alias("shop-api", "live"); got != "1 2=0.10" {
		t.Fatalf("live after the canary = %q, want 1 2=0.10", got)
	}

	blueGreen := routeStage("bg", "Blue/green", `"deploymentStrategy": "$BLUEGREEN", "healthCheckType": "$LAMBDA", "timeout": 30,
	  "lambdaPayload": "{\"path\": \"/health\"}", "lambdaOutput": "ok"`)
	e.cannedAnswer(`{"statusCode": 500, "body": "down"}`)
	failed := e.run(blueGreen)
	assertStatus(t, failed, model.StatusTerminal)
	msg := strings.Join(stageErrors(stage(failed, "bg")), " ")
	if !strings.Contains(msg, "version 2 failed") || !strings.Contains(msg, "statusCode 500") || !strings.Contains(msg, "moved back to version 1") {
		t.Errorf("failure message = %q, want it to name version 2, the status 500 and the move back", msg)
	}
	if got := e.alias("shop-api", "live"); got != "1" {
		t.Errorf("live after a failed health check = %q, want all of it back on 1", got)
	}

	e.cannedAnswer(`{"statusCode": 200, "body": "ok"}`)
	passed := e.run(blueGreen)
	assertStatus(t, passed, model.StatusSucceeded)
	if got := e.alias("shop-api", "live"); got != "2" {
		t.Errorf("live after a passed health check = %q, want 2", got)
	}
	if out := stage(passed, "bg").Outputs; out["deployment:strategyUsed"] != "BlueGreenDeploymentStrategy" || out["deployment:majorVersionDeployed"] != "2" {
		t.Errorf("blue/green outputs = %v", out)
	}

	// With destroyOnFail, a version that fails its check is deleted too.
	assertStatus(t, e.run(e.deployStage("deploy", "3")), model.StatusSucceeded)
	if got := e.versions("shop-api"); got != "1 2 3" {
		t.Fatalf("versions after a third deploy = %q, want 1 2 3", got)
	}
	e.cannedAnswer(`{"statusCode": 200, "body": "degraded"}`)
	destroyed := e.run(strings.Replace(blueGreen, `"timeout": 30`, `"timeout": 30, "destroyOnFail": true`, 1))
	assertStatus(t, destroyed, model.StatusTerminal)
	if msg := strings.Join(stageErrors(stage(destroyed, "bg")), " "); !strings.Contains(msg, "answered degraded, not the expected ok") || !strings.Contains(msg, "version 3 deleted") {
		t.Errorf("failure message = %q, want the unexpected answer and the deletion", msg)
	}
	if got := e.versions("shop-api"); got != "1 2" {
		t.Errorf("versions after a failed check with destroyOnFail = %q, want 1 2", got)
	}
	if got := e.alias("shop-api", "live"); got != "2" {
		t.Errorf("live after a failed check of 3 = %q, want it left on 2", got)
	}
}

func stageErrors(s *model.StageExecution) []string {
	exc, _ := s.Context["exception"].(map[string]any)
	details, _ := exc["details"].(map[string]any)
	list, _ := details["errors"].([]any)
	var out []string
	for _, e := range list {
		if m, ok := e.(string); ok {
			out = append(out, m)
		}
	}
	return out
}

// A stage with bad input saves with warnings that name each field to fix by
// its JSON path, the run is refused, and nothing is created in AWS.
func TestBadInputIsRefusedBeforeAnythingIsDeployed(t *testing.T) {
	e := newEnv(t, mototest.Shared(t))
	p, warnings := e.save(`{"refId": "1", "type": "Aws.LambdaDeploymentStage", "name": "Deploy",
	  "account": "lambda-prod", "region": "us-east-1", "functionName": "api", "runtime": "python3.11",
	  "handler": "index.handler", "role": "`+e.role+`", "s3bucket": "`+e.bucket+`", "s3key": "api/1.zip",
	  "memorySize": "lots", "aliases": [7]}`,
		`{"refId": "3", "type": "Aws.LambdaInvokeStage", "name": "Invoke", "account": "lambda-prod", "region": "eu-west-1", "functionName": "api"}`,
		`{"refId": "2", "requisiteStageRefIds": ["1"], "type": "Aws.LambdaTrafficRoutingStage", "name": "Route",
	  "account": "lambda-staging", "region": "us-east-1", "functionName": "api", "aliasName": "live",
	  "deploymentStrategy": "$WEIGHTED", "versionNameA": "$LATEST", "trafficPercentA": 120, "versionNameB": "$PROVIDED"}`)
	all := strings.Join(warnings, "\n")
	for _, want := range []string{"stages[0].memorySize", "must be a number", "stages[0].aliases", "stages[2].account", "lambda-staging",
		"stages[2].trafficPercentA", "from 0 to 100", "stages[2].versionNumberB", `stages[1].region: account "lambda-prod" has no region "eu-west-1"`} {
		if !strings.Contains(all, want) {
			t.Errorf("save warnings %q do not say %q", warnings, want)
		}
	}
	if _, err := e.rt.Orchestrator.TriggerPipeline(context.Background(), p, model.ExecutionTrigger{Type: "manual", User: "tester"}, ""); err == nil {
		t.Error("a pipeline with these warnings ran")
	}
	if e.hasFunction("shop-api") {
		t.Error("a function was created by a refused pipeline")
	}
}

// An invocation stage calls the alias as many times as asked and reports
// each answer; a failing answer fails the stage with it.
func TestInvoke(t *testing.T) {
	e := newEnv(t, mototest.Shared(t))
	assertStatus(t, e.run(e.deployStage("deploy", "1"),
		routeStage("live", "Route live to 1", `"deploymentStrategy": "$SIMPLE", "versionNameA": "$LATEST"`, "deploy")), model.StatusSucceeded)
	invoke := `{"refId": "1", "type": "Aws.LambdaInvokeStage", "name": "Invoke", "account": "lambda-prod", "region": "us-east-1",
	  "functionName": "api", "aliasName": "live", "executionCount": 2, "timeout": 30, "lambdaPayload": "{\"ping\": 1}"}`
	ex := e.run(invoke)
	assertStatus(t, ex, model.StatusSucceeded)
	results, _ := stage(ex, "1").Outputs["invokeResultsList"].([]any)
	if len(results) != 2 {
		t.Fatalf("invokeResultsList = %v, want 2 answers", stage(ex, "1").Outputs["invokeResultsList"])
	}
	for _, r := range results {
		if got := r.(map[string]any)["response"]; got != `{"ping": 1}` {
			t.Errorf("answer = %v, want the echoed payload", got)
		}
	}
	e.cannedAnswer(`{"errorMessage": "database unreachable", "errorType": "RuntimeError"}`)
	failed := e.run(strings.Replace(invoke, `"executionCount": 2`, `"executionCount": 1`, 1))
	assertStatus(t, failed, model.StatusTerminal)
	if msg := strings.Join(stageErrors(stage(failed, "1")), " "); !strings.Contains(msg, "database unreachable") {
		t.Errorf("failure = %q, want the function's error", msg)
	}
}

// Aws.LambdaUpdateCodeStage replaces an existing function's code and
// publishes it as a new version; a function that does not exist fails it.
func TestUpdateCode(t *testing.T) {
	e := newEnv(t, mototest.Shared(t))
	assertStatus(t, e.run(e.deployStage("deploy", "1")), model.StatusSucceeded)
	update := `{"refId": "1", "type": "Aws.LambdaUpdateCodeStage", "name": "New code", "account": "lambda-prod", "region": "us-east-1",
	  "functionName": "api", "s3bucket": "` + e.bucket + `", "s3key": "api/2.zip", "publish": true}`
	ex := e.run(update)
	assertStatus(t, ex, model.StatusSucceeded)
	if got := e.versions("shop-api"); got != "1 2" {
		t.Errorf("versions after new code = %q, want 1 2", got)
	}
	if out := stage(ex, "1").Outputs; out["lambdaVersionPublished"] != true || out["versionId"] != "2" {
		t.Errorf("outputs = %v, want version 2 published", out)
	}
	missing := e.run(strings.Replace(update, `"functionName": "api"`, `"functionName": "worker"`, 1))
	assertStatus(t, missing, model.StatusTerminal)
	if msg := strings.Join(stageErrors(stage(missing, "1")), " "); !strings.Contains(msg, "shop-worker") || !strings.Contains(msg, "not found") {
		t.Errorf("failure = %q, want it to name shop-worker as not found", msg)
	}
}
