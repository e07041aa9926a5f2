package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestRejectedRequests sends every kind of bad request to every endpoint
// and checks the answer — status, Gate's error shape, a message that says
// what to fix — and that the store is exactly as it was before.
func TestRejectedRequests(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	e.createApp(t, "blog")
	deploy := e.savePipeline(t, pipelineDoc("shop", "Deploy", waitStage("1", "Wait", 0)))
	deployID := deploy["id"].(string)
	blogPipe := e.savePipeline(t, pipelineDoc("blog", "Publish", waitStage("1", "Wait", 0)))
	disabled := pipelineDoc("shop", "Disabled", waitStage("1", "Wait", 0))
	disabled["disabled"] = true
	e.savePipeline(t, disabled)
	params := pipelineDoc("shop", "Params", waitStage("1", "Wait", 0))
	params["parameterConfig"] = []any{
		map[string]any{"name": "version", "required": true},
		map[string]any{"name": "region", "hasOptions": true, "options": []any{map[string]any{"value": "us-east-1"}, map[string]any{"value": "eu-west-1"}}},
	}
	e.savePipeline(t, params)
	e.savePipeline(t, pipelineDoc("shop", "Release", judgmentStage("1", "Approve"), waitStage("2", "After", 3600, "1")))
	e.savePipeline(t, pipelineDoc("shop", "Slow", waitStage("1", "Soak", 3600), judgmentStage("2", "Later", "1")))

	// A finished run, a run waiting for a judgment, a run in a long wait.
	done := e.trigger(t, "shop", "Deploy", nil)
	doneStage, _ := e.waitStatus(t, done, "SUCCEEDED").stage(t, "Wait")
	judging := e.trigger(t, "shop", "Release", nil)
	jx := e.waitStage(t, judging, "Approve", "RUNNING")
	approve, _ := jx.stage(t, "Approve")
	afterStage, _ := jx.stage(t, "After")
	slow := e.trigger(t, "shop", "Slow", nil)
	sx := e.waitStage(t, slow, "Soak", "RUNNING")
	soak, _ := sx.stage(t, "Soak")
	later, _ := sx.stage(t, "Later")

	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	task := func(jobs ...any) map[string]any { return map[string]any{"application": "shop", "job": jobs} }
	big := `{"application":"shop","name":"Big","stages":[],"description":"` + strings.Repeat("x", 1<<20) + `"}`

	cases := []struct {
		name    string
		method  string
		path    string
		body    any
		status  int
		message []string // substrings of the message
	}{
		// Routing and limits.
		{"unknown path", "GET", "/nope", nil, 404, []string{"no endpoint GET /nope"}},
		{"wrong method", "DELETE", "/applications", nil, 405, []string{"DELETE is not supported", "GET"}},
		{"body over the limit", "POST", "/pipelines", big, 413, []string{"larger than the limit of 1 MiB"}},
		{"task over the limit", "POST", "/tasks", big, 413, []string{"1 MiB"}},

		// Tasks.
		{"task: empty body", "POST", "/tasks", "", 400, []string{"empty", "JSON object"}},
		{"task: truncated JSON", "POST", "/tasks", `{"job": [`, 400, []string{"malformed JSON", "ends early", "byte 9"}},
		{"task: syntax error", "POST", "/tasks", "{\n  \"job\": [}\n", 400, []string{"malformed JSON", "line 2, column 11"}},
		{"task: trailing data", "POST", "/tasks", `{"job":[]} {}`, 400, []string{"after the end of the JSON value"}},
		{"task: not an object", "POST", "/tasks", `[1,2]`, 400, []string{"must be a JSON object, not a list"}},
		{"task: job not a list", "POST", "/tasks", `{"job":{"type":"createApplication"}}`, 400, []string{"job: must be a list"}},
		{"task: no jobs", "POST", "/tasks", task(), 400, []string{"at least one job"}},
		{"task: job without type", "POST", "/tasks", task(map[string]any{}), 400, []string{"job[0].type: is required"}},
		{"task: unknown job type", "POST", "/tasks", task(map[string]any{"type": "upsertServerGroup"}), 400, []string{`unknown job type "upsertServerGroup"`, "createApplication"}},
		{"task: application missing", "POST", "/tasks", task(map[string]any{"type": "createApplication"}), 400, []string{"job[0].application: is required"}},
		{"task: bad application name", "POST", "/tasks", task(map[string]any{"type": "createApplication", "application": map[string]any{"name": "my app!"}}), 400, []string{"job[0].application.name", "letters, digits"}},
		{"task: application name missing", "POST", "/tasks", task(map[string]any{"type": "createApplication", "application": map[string]any{"email": "x@example.com"}}), 400, []string{"job[0].application.name: is required"}},
		{"task: wrong attribute type", "POST", "/tasks", task(map[string]any{"type": "createApplication", "application": map[string]any{"name": "new", "email": 42}}), 400, []string{"job[0].application.email: must be a string, not the number 42"}},
		{"task: update unknown application", "POST", "/tasks", task(map[string]any{"type": "updateApplication", "application": map[string]any{"name": "nope"}}), 404, []string{`application "nope" not found`}},
		{"task: delete unknown application", "POST", "/tasks", task(map[string]any{"type": "deleteApplication", "application": map[string]any{"name": "nope"}}), 404, []string{`application "nope" not found`}},
		{"task: second job bad, first not run", "POST", "/tasks", task(
			map[string]any{"type": "createApplication", "application": map[string]any{"name": "newapp"}},
			map[string]any{"type": "deleteApplication", "application": map[string]any{"name": "nope"}},
		), 404, []string{`"nope"`}},
		{"task: pipeline not base64", "POST", "/tasks", task(map[string]any{"type": "savePipeline", "pipeline": "%%%"}), 400, []string{"job[0].pipeline", "base64"}},
		{"task: invalid pipeline", "POST", "/tasks", task(map[string]any{"type": "savePipeline", "pipeline": b64(`{"application":"shop","name":"X","stages":[{"refId":"1","type":"noop"},{"refId":"1","type":"noop"}]}`)}), 400, []string{`stages[1].refId: duplicate refId "1"`}},
		{"task: update pipeline without id", "POST", "/tasks", task(map[string]any{"type": "updatePipeline", "pipeline": b64(`{"application":"shop","name":"X","stages":[]}`)}), 400, []string{"job[0].pipeline.id: is required"}},
		{"task: delete unknown pipeline", "POST", "/tasks", task(map[string]any{"type": "deletePipeline", "pipeline": b64(`{"application":"shop","name":"Nope"}`)}), 404, []string{`no pipeline named "Nope"`}},
		{"task: unknown task", "GET", "/tasks/nope", nil, 404, []string{`task "nope" not found`}},

		// Applications.
		{"application: unknown", "GET", "/applications/nope", nil, 404, []string{`application "nope" not found`, "gennaker app save nope"}},
		{"application: bad expand", "GET", "/applications/shop?expand=maybe", nil, 400, []string{"expand must be true or false"}},

		// Pipeline configurations.
		{"save: malformed", "POST", "/pipelines", `{"application":"shop",`, 400, []string{"malformed JSON"}},
		{"save: invalid", "POST", "/pipelines", fixture(t, "invalid-pipeline.json"), 400, []string{
			`pipeline "Broken" is invalid`, `stages[2].requisiteStageRefIds[1]: no stage with refId "9"`,
			"stages: requisiteStageRefIds form a cycle"}},
		{"save: stages not a list", "POST", "/pipelines", `{"application":"shop","name":"X","stages":"nope"}`, 400, []string{`stages: must be a list, not the string "nope"`}},
		{"save: requisites not a list", "POST", "/pipelines", `{"application":"shop","name":"X","stages":[{"refId":"1","type":"wait","waitTime":1,"requisiteStageRefIds":"1"}]}`, 400, []string{"stages[0].requisiteStageRefIds: must be a list"}},
		{"save: unknown application", "POST", "/pipelines", pipelineDoc("nope", "X"), 400, []string{`application: application "nope" does not exist`}},
		{"save: no name", "POST", "/pipelines", pipelineDoc("shop", ""), 400, []string{"name: is required"}},
		{"save: name taken", "POST", "/pipelines", pipelineDoc("shop", "Deploy", waitStage("1", "W", 1)), 400, []string{`already has a pipeline named "Deploy"`, "send its id"}},
		{"save: another application's id", "POST", "/pipelines", map[string]any{"id": blogPipe["id"], "application": "shop", "name": "Stolen", "stages": []any{}}, 400, []string{"belongs to application blog"}},
		{"save: bad id", "POST", "/pipelines", map[string]any{"id": "a/b", "application": "shop", "name": "X", "stages": []any{}}, 400, []string{"id:", "slashes"}},
		{"save: bad staleCheck", "POST", "/pipelines?staleCheck=maybe", pipelineDoc("shop", "X"), 400, []string{"staleCheck must be true or false"}},
		{"save: stale", "POST", "/pipelines?staleCheck=true", map[string]any{"id": deployID, "application": "shop", "name": "Deploy", "updateTs": "1", "stages": []any{}}, 409, []string{"get it again"}},
		{"save: empty body", "POST", "/pipelines", nil, 400, []string{"empty"}},
		{"update: unknown", "PUT", "/pipelines/nope", pipelineDoc("shop", "X"), 404, []string{`pipeline "nope" not found`}},
		{"update: id mismatch", "PUT", "/pipelines/" + deployID, map[string]any{"id": "other", "application": "shop", "name": "Deploy", "stages": []any{}}, 400, []string{"differs from the path"}},
		{"validate: malformed", "POST", "/pipelines/validate", `{`, 400, []string{"malformed JSON"}},
		{"delete: unknown pipeline", "DELETE", "/pipelines/shop/Nope", nil, 404, []string{`no pipeline named "Nope"`}},
		{"delete: unknown application", "DELETE", "/pipelines/nope/Deploy", nil, 404, []string{`application "nope" not found`}},
		{"list: unknown application", "GET", "/applications/nope/pipelineConfigs", nil, 404, []string{`application "nope" not found`}},
		{"get: unknown pipeline", "GET", "/applications/shop/pipelineConfigs/Nope", nil, 404, []string{`"Nope" not found in application shop`}},
		{"history: unknown", "GET", "/pipelineConfigs/nope/history", nil, 404, []string{`"nope" not found`}},
		{"history: bad limit", "GET", "/pipelineConfigs/" + deployID + "/history?limit=0", nil, 400, []string{"limit must be a whole number of at least 1"}},
		{"version: unknown", "GET", "/pipelineConfigs/" + deployID + "/history/99", nil, 404, []string{"has no version 99", "1 to 1"}},
		{"version: not a number", "GET", "/pipelineConfigs/" + deployID + "/history/latest", nil, 400, []string{`version must be a version number`}},
		{"restore: unknown version", "POST", "/pipelineConfigs/" + deployID + "/history/99/restore", nil, 404, []string{"has no version 99"}},
		{"restore: unknown pipeline", "POST", "/pipelineConfigs/nope/history/1/restore", nil, 404, []string{"not found"}},
		{"diff: bad from", "GET", "/pipelineConfigs/" + deployID + "/diff?from=x", nil, 400, []string{"from must be a version number"}},
		{"diff: unknown to", "GET", "/pipelineConfigs/" + deployID + "/diff?to=99", nil, 404, []string{"has no version 99"}},
		{"diff: nothing before version 1", "GET", "/pipelineConfigs/" + deployID + "/diff", nil, 400, []string{"version 1 is the first version"}},
		{"diff: unknown pipeline", "GET", "/pipelineConfigs/nope/diff", nil, 404, []string{"not found"}},

		// Triggers.
		{"trigger: unknown application", "POST", "/pipelines/nope/Deploy", nil, 404, []string{`application "nope" not found`}},
		{"trigger: unknown pipeline", "POST", "/pipelines/shop/Nope", nil, 404, []string{`no pipeline named "Nope"`}},
		{"trigger: another application's pipeline id", "POST", "/pipelines/shop/" + blogPipe["id"].(string), nil, 404, []string{"no pipeline named"}},
		{"trigger: disabled", "POST", "/pipelines/shop/Disabled", nil, 400, []string{"disabled", "enable it"}},
		{"trigger: required parameter missing", "POST", "/pipelines/shop/Params", map[string]any{"type": "manual"}, 400, []string{`parameters.version: required parameter "version"`}},
		{"trigger: parameter not an option", "POST", "/pipelines/shop/Params", map[string]any{"parameters": map[string]any{"version": "1", "region": "mars-1"}}, 400, []string{"parameters.region", "us-east-1, eu-west-1"}},
		{"trigger: malformed", "POST", "/pipelines/shop/Deploy", `{"type":`, 400, []string{"malformed JSON"}},
		{"trigger: parameters not an object", "POST", "/pipelines/shop/Deploy", `{"parameters":["a"]}`, 400, []string{"parameters: must be an object, not a list"}},

		// Executions.
		{"execution: unknown", "GET", "/pipelines/nope", nil, 404, []string{`pipeline execution "nope" not found`}},
		{"execution: delete running", "DELETE", "/pipelines/" + slow, nil, 409, []string{"RUNNING", "cancel it before deleting it"}},
		{"execution: delete unknown", "DELETE", "/pipelines/nope", nil, 404, []string{"not found"}},
		{"executions: unknown application", "GET", "/applications/nope/pipelines", nil, 404, []string{`application "nope" not found`}},
		{"executions: bad limit", "GET", "/applications/shop/pipelines?limit=-1", nil, 400, []string{"limit must be a whole number"}},
		{"executions: bad status", "GET", "/applications/shop/pipelines?statuses=DONE", nil, 400, []string{`unknown status "DONE"`, "SUCCEEDED"}},
		{"executions: both lists", "GET", "/executions?executionIds=a&pipelineConfigIds=b", nil, 400, []string{"either executionIds or pipelineConfigIds, not both"}},
		{"executions: bad status filter", "GET", "/executions?pipelineConfigIds=" + deployID + "&statuses=OK", nil, 400, []string{`unknown status "OK"`}},
		{"cancel: unknown", "PUT", "/pipelines/nope/cancel", nil, 404, []string{"not found"}},
		{"cancel: unknown, application path", "PUT", "/applications/shop/pipelines/nope/cancel", nil, 404, []string{"not found"}},
		{"pause: unknown", "PUT", "/pipelines/nope/pause", nil, 404, []string{"not found"}},
		{"pause: finished", "PUT", "/pipelines/" + done + "/pause", nil, 409, []string{"SUCCEEDED", "only a RUNNING execution can be paused"}},
		{"resume: not paused", "PUT", "/pipelines/" + slow + "/resume", nil, 409, []string{"RUNNING", "only a PAUSED execution can be resumed"}},
		{"resume: unknown", "PUT", "/pipelines/nope/resume", nil, 404, []string{"not found"}},

		// Stage changes.
		{"patch: unknown execution", "PATCH", "/pipelines/nope/stages/x", map[string]any{"judgmentStatus": "continue"}, 404, []string{"not found"}},
		{"patch: unknown stage", "PATCH", "/pipelines/" + judging + "/stages/nope", map[string]any{"judgmentStatus": "continue"}, 404, []string{`has no stage "nope"`}},
		{"patch: malformed", "PATCH", "/pipelines/" + judging + "/stages/" + approve, `{"judgmentStatus":`, 400, []string{"malformed JSON"}},
		{"patch: empty", "PATCH", "/pipelines/" + judging + "/stages/" + approve, map[string]any{}, 400, []string{"judgmentStatus", "skipRemainingWait"}},
		{"patch: unknown field", "PATCH", "/pipelines/" + judging + "/stages/" + approve, map[string]any{"waitTime": 1}, 400, []string{"waitTime: cannot be changed"}},
		{"judge: bad choice", "PATCH", "/pipelines/" + judging + "/stages/" + approve, map[string]any{"judgmentStatus": "maybe"}, 400, []string{`must be "continue" or "stop"`}},
		{"judge: not a string", "PATCH", "/pipelines/" + judging + "/stages/" + approve, map[string]any{"judgmentStatus": true}, 400, []string{"judgmentStatus: must be"}},
		{"judge: input not an option", "PATCH", "/pipelines/" + judging + "/stages/" + approve, map[string]any{"judgmentStatus": "continue", "judgmentInput": "yolo"}, 400, []string{`"yolo" is not one of`, `"ship", "hold"`}},
		{"judge: input without status", "PATCH", "/pipelines/" + judging + "/stages/" + approve, map[string]any{"judgmentInput": "ship"}, 400, []string{"together with judgmentStatus"}},
		{"judge: not a judgment stage", "PATCH", "/pipelines/" + slow + "/stages/" + soak, map[string]any{"judgmentStatus": "continue"}, 400, []string{"not a manual judgment"}},
		{"judge: not started yet", "PATCH", "/pipelines/" + slow + "/stages/" + later, map[string]any{"judgmentStatus": "continue"}, 409, []string{"NOT_STARTED", "only while the stage is RUNNING"}},
		{"skip: judgment stage", "PATCH", "/pipelines/" + judging + "/stages/" + approve, map[string]any{"skipRemainingWait": true}, 400, []string{"nothing to skip"}},
		{"skip: not started", "PATCH", "/pipelines/" + judging + "/stages/" + afterStage, map[string]any{"skipRemainingWait": true}, 409, []string{"NOT_STARTED"}},
		{"skip: not a boolean", "PATCH", "/pipelines/" + slow + "/stages/" + soak, map[string]any{"skipRemainingWait": "yes"}, 400, []string{"skipRemainingWait: must be true or false"}},
		{"skip: finished", "PATCH", "/pipelines/" + done + "/stages/" + doneStage, map[string]any{"skipRemainingWait": true}, 409, []string{"SUCCEEDED"}},
		{"restart: running stage", "PUT", "/pipelines/" + slow + "/stages/" + soak + "/restart", map[string]any{}, 409, []string{"RUNNING", "only a finished stage"}},
		{"restart: unknown stage", "PUT", "/pipelines/" + done + "/stages/nope/restart", nil, 404, []string{`has no stage "nope"`}},
		{"restart: malformed", "PUT", "/pipelines/" + done + "/stages/" + doneStage + "/restart", `{`, 400, []string{"malformed JSON"}},
		{"restart: unknown execution", "PUT", "/pipelines/nope/stages/x/restart", nil, 404, []string{"not found"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot(t)
			r := e.call(t, tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", tc.method, tc.path, r.status, tc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var body apiError
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("error body is not JSON: %s", r.body)
			}
			if body.Status != tc.status || body.Error != http.StatusText(tc.status) || body.Timestamp == 0 {
				t.Errorf("error body = %+v, want status %d, error %q and a timestamp", body, tc.status, http.StatusText(tc.status))
			}
			t.Logf("%d %s", r.status, body.Message)
			for _, want := range tc.message {
				if !strings.Contains(body.Message, want) {
					t.Errorf("message %q does not say %q", body.Message, want)
				}
			}
			if after := e.snapshot(t); after != before {
				t.Errorf("the rejected request changed the store:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	// The invalid pipeline's problems are also listed one by one.
	var body apiError
	e.must(t, 400, "POST", "/pipelines", fixture(t, "invalid-pipeline.json")).json(t, &body)
	if len(body.Errors) < 2 {
		t.Errorf("errors = %q, want one entry per problem", body.Errors)
	}

	e.must(t, 200, "PUT", "/pipelines/"+slow+"/cancel", nil)
	e.must(t, 200, "PUT", "/pipelines/"+judging+"/cancel", nil)
}
