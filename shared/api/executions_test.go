package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRunRendersAsGate triggers a pipeline, follows it to SUCCEEDED and
// checks the execution has Gate's fields and none of the engine's.
func TestRunRendersAsGate(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	p := e.savePipeline(t, pipelineDoc("shop", "Deploy", waitStage("1", "First", 0), waitStage("2", "Second", 0, "1")))
	r := e.must(t, 202, "POST", "/pipelines/shop/Deploy", map[string]any{
		"type": "manual", "user": "alice", "parameters": map[string]any{"version": "1.2.3"},
		"artifacts": []any{map[string]any{"type": "docker/image", "name": "example/shop", "version": "1.2.3"}},
		"notes":     "kept",
	})
	var ref struct{ Ref string }
	r.json(t, &ref)
	if r.header.Get("Location") != ref.Ref {
		t.Errorf("Location %q, ref %q", r.header.Get("Location"), ref.Ref)
	}
	id := strings.TrimPrefix(ref.Ref, "/pipelines/")
	x := e.waitStatus(t, id, "SUCCEEDED")
	if x.Application != "shop" || x.Name != "Deploy" || x.PipelineConfigID != p["id"] || x.BuildTime == 0 || x.StartTime == 0 || x.EndTime == 0 {
		t.Errorf("execution header = %+v", x)
	}
	if x.Trigger["user"] != "alice" || x.Trigger["type"] != "manual" || x.Trigger["notes"] != "kept" {
		t.Errorf("trigger = %v", x.Trigger)
	}
	if params, _ := x.Trigger["parameters"].(map[string]any); params["version"] != "1.2.3" {
		t.Errorf("trigger parameters = %v", x.Trigger["parameters"])
	}
	if arts, _ := x.Trigger["artifacts"].([]any); len(arts) != 1 {
		t.Errorf("trigger artifacts = %v", x.Trigger["artifacts"])
	}
	if len(x.Stages) != 2 || x.Stages[1].RequisiteStageRefIDs[0] != "1" || x.Stages[0].Status != "SUCCEEDED" {
		t.Errorf("stages = %+v", x.Stages)
	}

	var raw map[string]any
	e.must(t, 200, "GET", "/pipelines/"+id, nil).json(t, &raw)
	for _, k := range []string{"id", "application", "name", "pipelineConfigId", "status", "buildTime", "startTime", "endTime", "trigger", "stages"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("execution has no %q", k)
		}
	}
	if _, ok := raw["orchestration"]; ok {
		t.Error("execution shows the engine's orchestration field")
	}
	for _, s := range raw["stages"].([]any) {
		st := s.(map[string]any)
		for _, k := range []string{"id", "refId", "type", "name", "status", "startTime", "endTime", "context", "outputs", "tasks", "requisiteStageRefIds"} {
			if _, ok := st[k]; !ok {
				t.Errorf("stage %v has no %q", st["name"], k)
			}
		}
		if _, ok := st["orchestration"]; ok {
			t.Errorf("stage %v shows the engine's orchestration field", st["name"])
		}
	}

	// A trigger without a body is a manual run by the caller.
	id2 := e.trigger(t, "shop", "Deploy", nil)
	x2 := e.waitStatus(t, id2, "SUCCEEDED")
	if x2.Trigger["type"] != "manual" || x2.Trigger["user"] != "anonymous" {
		t.Errorf("bodiless trigger = %v", x2.Trigger)
	}
	// By id, and as X-SPINNAKER-USER.
	var ref3 struct{ Ref string }
	e.must(t, 202, "POST", "/pipelines/shop/"+p["id"].(string), map[string]any{}, "X-SPINNAKER-USER", "bob").json(t, &ref3)
	x3 := e.waitStatus(t, strings.TrimPrefix(ref3.Ref, "/pipelines/"), "SUCCEEDED")
	if x3.Trigger["user"] != "bob" {
		t.Errorf("trigger by id user = %v, want bob", x3.Trigger["user"])
	}
	// Gate's deprecated path triggers too.
	e.must(t, 202, "POST", "/applications/shop/pipelineConfigs/Deploy", nil)
}

func TestListExecutions(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	quick := e.savePipeline(t, pipelineDoc("shop", "Quick", waitStage("1", "Wait", 0)))
	slow := e.savePipeline(t, pipelineDoc("shop", "Slow", waitStage("1", "Wait", 3600)))
	q1 := e.trigger(t, "shop", "Quick", nil)
	e.waitStatus(t, q1, "SUCCEEDED")
	q2 := e.trigger(t, "shop", "Quick", nil)
	e.waitStatus(t, q2, "SUCCEEDED")
	s1 := e.trigger(t, "shop", "Slow", nil)
	e.waitStage(t, s1, "Wait", "RUNNING")

	ids := func(list []execution) []string {
		var out []string
		for _, x := range list {
			out = append(out, x.ID)
		}
		return out
	}
	var list []execution
	e.must(t, 200, "GET", "/applications/shop/pipelines", nil).json(t, &list)
	if got := ids(list); strings.Join(got, ",") != strings.Join([]string{s1, q2, q1}, ",") {
		t.Errorf("application executions = %v, want newest first", got)
	}
	if len(list[0].Stages) == 0 || list[0].Stages[0].Context == nil {
		t.Errorf("listed executions have no stage context by default")
	}
	e.must(t, 200, "GET", "/applications/shop/pipelines?limit=1", nil).json(t, &list)
	if len(list) != 1 || list[0].ID != s1 {
		t.Errorf("limit=1: %v", ids(list))
	}
	e.must(t, 200, "GET", "/applications/shop/pipelines?statuses=succeeded", nil).json(t, &list)
	if got := ids(list); len(got) != 2 {
		t.Errorf("statuses=succeeded: %v", got)
	}
	var rawList []map[string]any
	e.must(t, 200, "GET", "/applications/shop/pipelines?expand=false", nil).json(t, &rawList)
	if st := rawList[0]["stages"].([]any)[0].(map[string]any); st["context"] != nil {
		t.Errorf("expand=false still shows stage context")
	}

	// GET /executions as spin sends it.
	e.must(t, 200, "GET", "/executions?executionIds="+q1+"&limit=1", nil).json(t, &list)
	if len(list) != 1 || list[0].ID != q1 {
		t.Errorf("executionIds=%s: %v", q1, ids(list))
	}
	e.must(t, 200, "GET", "/executions?executionIds="+q1+","+s1+",nosuchid", nil).json(t, &list)
	if got := ids(list); strings.Join(got, ",") != q1+","+s1 {
		t.Errorf("two ids and an unknown one: %v", got)
	}
	e.must(t, 200, "GET", "/executions?pipelineConfigIds="+quick["id"].(string), nil).json(t, &list)
	if len(list) != 1 || list[0].ID != q2 {
		t.Errorf("pipelineConfigIds without limit: %v, want the latest only", ids(list))
	}
	e.must(t, 200, "GET", "/executions?pipelineConfigIds="+quick["id"].(string)+","+slow["id"].(string)+"&limit=5", nil).json(t, &list)
	if len(list) != 3 {
		t.Errorf("two pipelines, limit 5: %v", ids(list))
	}
	e.must(t, 200, "GET", "/executions?pipelineConfigIds="+quick["id"].(string)+","+slow["id"].(string)+"&limit=5&statuses=RUNNING", nil).json(t, &list)
	if len(list) != 1 || list[0].ID != s1 {
		t.Errorf("statuses=RUNNING: %v", ids(list))
	}
	e.must(t, 200, "GET", "/executions", nil).json(t, &list)
	if len(list) != 0 {
		t.Errorf("no ids: %v, want none (as Gate)", ids(list))
	}
	e.must(t, 200, "PUT", "/pipelines/"+s1+"/cancel", nil)
	e.waitStatus(t, s1, "CANCELED")
}

func TestManualJudgment(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	e.savePipeline(t, pipelineDoc("shop", "Release", judgmentStage("1", "Approve"), waitStage("2", "Deploy", 0, "1")))

	// continue
	id := e.trigger(t, "shop", "Release", nil)
	x := e.waitStage(t, id, "Approve", "RUNNING")
	stageID, _ := x.stage(t, "Approve")
	var after execution
	e.must(t, 200, "PATCH", "/pipelines/"+id+"/stages/"+stageID, map[string]any{"judgmentStatus": "continue", "judgmentInput": "ship"},
		"X-SPINNAKER-USER", "alice").json(t, &after)
	if after.ID != id {
		t.Errorf("PATCH answered %+v, want the execution", after)
	}
	x = e.waitStatus(t, id, "SUCCEEDED")
	for _, s := range x.Stages {
		if s.Name == "Approve" && (s.Context["judgmentStatus"] != "continue" || s.Context["judgmentInput"] != "ship" || s.Context["lastModifiedBy"] != "alice") {
			t.Errorf("judged stage context = %v", s.Context)
		}
	}

	// stop, in upper case as some scripts send it
	id = e.trigger(t, "shop", "Release", nil)
	x = e.waitStage(t, id, "Approve", "RUNNING")
	stageID, _ = x.stage(t, "Approve")
	e.must(t, 200, "PATCH", "/pipelines/"+id+"/stages/"+stageID, map[string]any{"judgmentStatus": "STOP"})
	x = e.waitStatus(t, id, "TERMINAL")
	if _, st := x.stage(t, "Deploy"); st != "NOT_STARTED" {
		t.Errorf("after a stop, Deploy is %s", st)
	}

	// A judged and finished stage can be restarted, and judged again.
	var restarted execution
	e.must(t, 200, "PUT", "/pipelines/"+id+"/stages/"+stageID+"/restart", map[string]any{}).json(t, &restarted)
	e.waitStage(t, id, "Approve", "RUNNING")
	e.must(t, 200, "PATCH", "/pipelines/"+id+"/stages/"+stageID, map[string]any{"judgmentStatus": "continue"})
	e.waitStatus(t, id, "SUCCEEDED")
}

func TestSkipWait(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	e.savePipeline(t, pipelineDoc("shop", "Soak", waitStage("1", "Soak", 3600)))
	id := e.trigger(t, "shop", "Soak", nil)
	x := e.waitStage(t, id, "Soak", "RUNNING")
	stageID, _ := x.stage(t, "Soak")
	e.must(t, 200, "PATCH", "/pipelines/"+id+"/stages/"+stageID, map[string]any{"skipRemainingWait": true})
	e.waitStatus(t, id, "SUCCEEDED")
}

func TestPauseResumeCancel(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	e.savePipeline(t, pipelineDoc("shop", "Soak", waitStage("1", "Soak", 3600)))
	id := e.trigger(t, "shop", "Soak", nil)
	e.waitStage(t, id, "Soak", "RUNNING")

	e.must(t, 200, "PUT", "/pipelines/"+id+"/pause", nil)
	e.waitStatus(t, id, "PAUSED")
	e.must(t, 200, "PUT", "/pipelines/"+id+"/resume", nil)
	e.waitStatus(t, id, "RUNNING")
	e.must(t, 200, "PUT", "/pipelines/"+id+"/cancel?reason=not+today", nil, "X-SPINNAKER-USER", "carol")
	e.waitStatus(t, id, "CANCELED")
	var raw map[string]any
	e.must(t, 200, "GET", "/pipelines/"+id, nil).json(t, &raw)
	if raw["canceled"] != true || raw["canceledBy"] != "carol" || raw["cancellationReason"] != "not today" {
		t.Errorf("canceled execution: canceled=%v by=%v reason=%v", raw["canceled"], raw["canceledBy"], raw["cancellationReason"])
	}
	// Canceling a finished run does nothing, successfully.
	e.must(t, 200, "PUT", "/pipelines/"+id+"/cancel", nil)

	// Gate's application-scoped cancel path.
	id2 := e.trigger(t, "shop", "Soak", nil)
	e.waitStage(t, id2, "Soak", "RUNNING")
	e.must(t, 200, "PUT", "/applications/shop/pipelines/"+id2+"/cancel", nil)
	e.waitStatus(t, id2, "CANCELED")

	// A finished run can be deleted.
	e.must(t, 200, "DELETE", "/pipelines/"+id2, nil)
	e.must(t, 404, "GET", "/pipelines/"+id2, nil)
}

// TestIdempotencyKey: a retried trigger with the same key returns the run
// the first one started.
func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	e.savePipeline(t, pipelineDoc("shop", "Quick", waitStage("1", "Wait", 0)))
	var a, b struct{ Ref string }
	e.must(t, 202, "POST", "/pipelines/shop/Quick", nil, "Idempotency-Key", "build-42").json(t, &a)
	e.must(t, 202, "POST", "/pipelines/shop/Quick", nil, "Idempotency-Key", "build-42").json(t, &b)
	if a.Ref != b.Ref {
		t.Fatalf("same idempotency key started %s and %s", a.Ref, b.Ref)
	}
	var list []json.RawMessage
	e.waitStatus(t, strings.TrimPrefix(a.Ref, "/pipelines/"), "SUCCEEDED")
	e.must(t, 200, "GET", "/applications/shop/pipelines", nil).json(t, &list)
	if len(list) != 1 {
		t.Errorf("%d executions, want 1", len(list))
	}
}
