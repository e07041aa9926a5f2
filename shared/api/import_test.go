package api_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// corpusExecution is one document of the corpus of real executions.
type corpusExecution struct {
	name string
	raw  []byte
	doc  map[string]any
}

// notGateExecutions names the corpus documents that are not executions as
// Gate serves them; importing them must still never answer 5xx.
var notGateExecutions = map[string]string{
	"armory_docs__hostname-hostname-w-evaluate-artifacts-running.json":   "an OPA policy payload",
	"armory_docs__terraformer-plan-working-running.json":                 "an OPA policy payload whose stages are strings",
	"armory_docs__test-test-running.json":                                "an OPA policy payload; stages seen before are repeated as ids, not objects",
	"armory_docs__test-test-terminal-2.json":                             "an OPA policy payload; stages seen before are repeated as ids, not objects",
	"armory_docs__test-test-terminal.json":                               "an OPA policy payload",
	"spinnaker_spinnaker__task-keel-managed-rollout.json":                "a task document (GET /tasks/{id}) without stages",
	"spinnaker_spinnaker__task-keel-single-region-deploy-SUCCEEDED.json": "a task document (GET /tasks/{id}) without stages",
}

// corpusExecutions reads every document of ../shared/corpus/executions,
// each element of a list file on its own.
func corpusExecutions(t *testing.T) []corpusExecution {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "executions", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus executions (%v): the corpus is part of the test data", err)
	}
	var out []corpusExecution
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(f)
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			list = []json.RawMessage{raw}
		} else {
			base += "[%d]"
		}
		for i, item := range list {
			name := base
			if strings.HasSuffix(base, "[%d]") {
				name = fmt.Sprintf(base, i)
			}
			var doc map[string]any
			_ = json.Unmarshal(item, &doc)
			out = append(out, corpusExecution{name: name, raw: item, doc: doc})
		}
	}
	return out
}

// decoded is a JSON document as plain values, for comparing documents.
func decoded(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %.200s: %v", raw, err)
	}
	return v
}

// Every finished execution of the corpus imports, and GET /pipelines/{id}
// and the application's listing serve it back as it was; running ones and
// documents that are not executions are refused with 4xx.
func TestImportCorpusExecutions(t *testing.T) {
	e := newEnv(t)
	imported := 0
	for _, c := range corpusExecutions(t) {
		t.Run(c.name, func(t *testing.T) {
			r := e.call(t, "POST", "/pipelines/import", c.raw)
			if r.status >= 500 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			base, _, _ := strings.Cut(c.name, "[")
			if why, ok := notGateExecutions[base]; ok {
				t.Logf("not an execution Gate serves (%s): answered %d", why, r.status)
				return
			}
			status, _ := c.doc["status"].(string)
			app, _ := c.doc["application"].(string)
			switch {
			case status == "RUNNING":
				if r.status != 400 || !strings.Contains(string(r.body), "only finished executions can be imported") {
					t.Fatalf("a running execution: status %d, want 400; body %s", r.status, r.body)
				}
				return
			case strings.Contains(app, "@"):
				// Kayenta's internal runs belong to an "application" named
				// after a user, which is no application name.
				if r.status != 400 || !strings.Contains(string(r.body), "application") {
					t.Fatalf("application %q: status %d, want 400; body %s", app, r.status, r.body)
				}
				return
			}
			if r.status != 201 {
				t.Fatalf("status %d, want 201; body %s", r.status, r.body)
			}
			imported++
			id := c.doc["id"].(string)
			want := decoded(t, c.raw)
			got := e.must(t, 200, "GET", "/pipelines/"+pathEscape(id), nil)
			if g := decoded(t, got.body); !reflect.DeepEqual(g, want) {
				t.Errorf("GET /pipelines/%s differs from what was imported:\n got: %.800s\nwant: %.800s", id, got.body, c.raw)
			}
			var listed []json.RawMessage
			e.must(t, 200, "GET", "/applications/"+app+"/pipelines?limit=1000", nil).json(t, &listed)
			found := false
			for _, l := range listed {
				if run := decoded(t, l).(map[string]any); run["id"] == id {
					found = true
					if !reflect.DeepEqual(run, want) {
						t.Errorf("GET /applications/%s/pipelines renders %s differently from what was imported", app, id)
					}
				}
			}
			if !found {
				t.Errorf("GET /applications/%s/pipelines does not list %s", app, id)
			}
			if r := e.call(t, "POST", "/pipelines/import", c.raw); r.status != 409 {
				t.Errorf("importing %s again: status %d, want 409; body %s", id, r.status, r.body)
			}
		})
	}
	t.Logf("%d corpus executions imported and served back unchanged", imported)
	if imported == 0 {
		t.Fatal("no corpus execution was imported")
	}
}

// finishedRun is a small finished execution document.
func finishedRun(id string) map[string]any {
	return map[string]any{
		"id": id, "type": "PIPELINE", "application": "imported", "name": "deploy",
		"pipelineConfigId": "p-1", "status": "SUCCEEDED", "buildTime": 1700000000000,
		"trigger": map[string]any{"type": "manual", "user": "alice", "correlationId": nil},
		"stages": []any{map[string]any{
			"id": "s1", "refId": "1", "type": "wait", "name": "Wait", "status": "SUCCEEDED",
			"context": map[string]any{"waitTime": 5}, "outputs": map[string]any{},
			"tasks":                []any{map[string]any{"id": "1", "name": "wait", "status": "SUCCEEDED", "loopStart": false}},
			"requisiteStageRefIds": []any{}, "scheduledTime": 0,
		}},
		"authentication": map[string]any{"user": "alice"},
	}
}

// with returns a copy of doc changed by change.
func with(doc map[string]any, change func(map[string]any)) map[string]any {
	b, _ := json.Marshal(doc)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	change(out)
	return out
}

// What is not a finished execution is refused with 400 and the JSON path
// of what to fix, an id that exists with 409, and a refused request stores
// nothing.
func TestImportRefusals(t *testing.T) {
	e := newEnv(t)
	e.must(t, 201, "POST", "/pipelines/import", finishedRun("01EXISTS"))

	cases := []struct {
		name   string
		body   any
		status int
		want   []string
	}{
		{"an id that exists", finishedRun("01EXISTS"), 409, []string{"id", "01EXISTS", "exists already"}},
		{"no id", with(finishedRun("x"), func(d map[string]any) { delete(d, "id") }), 400, []string{"id: is required"}},
		{"no application", with(finishedRun("01A"), func(d map[string]any) { delete(d, "application") }), 400, []string{"application: is required"}},
		{"an application that is no name", with(finishedRun("01A"), func(d map[string]any) { d["application"] = "a b" }), 400, []string{"application"}},
		{"an application not in lower case", with(finishedRun("01A"), func(d map[string]any) { d["application"] = "MyApp" }), 400, []string{"application", `"myapp"`}},
		{"stages not objects", with(finishedRun("01A"), func(d map[string]any) { d["stages"] = []any{"s1"} }), 400, []string{"stages[0]", "must be a stage"}},
		{"no stages", with(finishedRun("01A"), func(d map[string]any) { delete(d, "stages") }), 400, []string{"stages: is required"}},
		{"a stage without id", with(finishedRun("01A"), func(d map[string]any) { delete(d["stages"].([]any)[0].(map[string]any), "id") }), 400, []string{"stages[0].id: is required"}},
		{"a still running execution", with(finishedRun("01A"), func(d map[string]any) { d["status"] = "RUNNING" }), 400, []string{"only finished executions can be imported"}},
		{"no status", with(finishedRun("01A"), func(d map[string]any) { delete(d, "status") }), 400, []string{"status: is required"}},
		{"an unknown status", with(finishedRun("01A"), func(d map[string]any) { d["stages"].([]any)[0].(map[string]any)["status"] = "DONE" }), 400, []string{"stages[0].status", "unknown status"}},
		{"a value of the wrong type", with(finishedRun("01A"), func(d map[string]any) { d["buildTime"] = "yesterday" }), 400, []string{"buildTime", "whole number"}},
		{"an orchestration", with(finishedRun("01A"), func(d map[string]any) { d["type"] = "ORCHESTRATION" }), 400, []string{"type", "only pipeline executions"}},
		{"gennaker's bookkeeping", with(finishedRun("01A"), func(d map[string]any) { d["orchestration"] = map[string]any{} }), 400, []string{"orchestration", "remove it"}},
		{"not an object", `"01A"`, 400, []string{"must be an execution"}},
		{"an empty list", `[]`, 400, []string{"empty"}},
		{"malformed JSON", `{"id":`, 400, []string{"malformed JSON"}},
		{"an empty body", nil, 400, []string{"empty"}},
		{"a list with one bad document", []any{finishedRun("01GOOD"), with(finishedRun("01BAD"), func(d map[string]any) { delete(d, "application") })}, 400, []string{"[1].application: is required"}},
		{"a list with one id twice", []any{finishedRun("01TWICE"), finishedRun("01TWICE")}, 400, []string{"[1].id", "[0]"}},
		{"a list with an id that exists", []any{finishedRun("01NEW"), finishedRun("01EXISTS")}, 409, []string{"[1].id"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.call(t, "POST", "/pipelines/import", c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d; body %s", r.status, c.status, r.body)
			}
			var apiErr apiError
			r.json(t, &apiErr)
			for _, w := range c.want {
				if !strings.Contains(apiErr.Message, w) {
					t.Errorf("message %q does not say %q", apiErr.Message, w)
				}
			}
		})
	}
	for _, id := range []string{"01A", "01GOOD", "01NEW", "01TWICE"} {
		if r := e.call(t, "GET", "/pipelines/"+id, nil); r.status != 404 {
			t.Errorf("GET /pipelines/%s after refused imports: status %d, want 404", id, r.status)
		}
	}
}

// A list imports as several runs; nothing runs them again: they cannot be
// restarted, and canceling one changes nothing.
func TestImportListAndHistoryStaysPut(t *testing.T) {
	e := newEnv(t)
	runs := []any{finishedRun("01LIST1"), with(finishedRun("01LIST2"), func(d map[string]any) { d["status"] = "TERMINAL" })}
	var answer struct {
		Imported []struct{ ID, Ref string } `json:"imported"`
	}
	e.must(t, 201, "POST", "/pipelines/import", runs).json(t, &answer)
	if len(answer.Imported) != 2 || answer.Imported[1].Ref != "/pipelines/01LIST2" {
		t.Fatalf("answer %+v, want both runs with their refs", answer)
	}
	want, _ := json.Marshal(runs[1])
	e.must(t, 409, "PUT", "/pipelines/01LIST2/stages/s1/restart", nil)
	e.must(t, 200, "PUT", "/pipelines/01LIST2/cancel", nil)
	got := e.must(t, 200, "GET", "/pipelines/01LIST2", nil)
	if !reflect.DeepEqual(decoded(t, got.body), decoded(t, want)) {
		t.Errorf("the run changed:\n got: %s\nwant: %s", got.body, want)
	}
	var listed []map[string]any
	e.must(t, 200, "GET", "/applications/imported/pipelines", nil).json(t, &listed)
	if len(listed) != 2 {
		t.Errorf("the application lists %d runs, want the 2 imported", len(listed))
	}
}

// TestMutatedCorpusExecutionsImportOrRefuse: real executions with random
// damage are imported or refused with an answer that says why — never a
// 5xx — and one imported is served back exactly as it was sent.
func TestMutatedCorpusExecutionsImportOrRefuse(t *testing.T) {
	e := newEnv(t)
	var docs [][]byte
	for _, c := range corpusExecutions(t) {
		base, _, _ := strings.Cut(c.name, "[")
		if _, skip := notGateExecutions[base]; !skip && c.doc != nil {
			docs = append(docs, c.raw)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	imported := 0
	for i := range 400 {
		var doc map[string]any
		if err := json.Unmarshal(docs[i%len(docs)], &doc); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("01MUTATED%04d", i)
		doc["id"], doc["status"], doc["application"] = id, "SUCCEEDED", "mutated"
		var mutated any = doc
		for range 1 + r.IntN(3) {
			mutated = mutate(r, mutated)
		}
		body, _ := json.Marshal(mutated)
		resp := e.call(t, "POST", "/pipelines/import", body)
		if resp.status >= 500 {
			t.Fatalf("mutation %d: POST /pipelines/import answered %d: %s\nbody: %.2000s", i, resp.status, resp.body, body)
		}
		if resp.status != 201 {
			continue
		}
		imported++
		var answer struct {
			Imported []struct{ ID string } `json:"imported"`
		}
		resp.json(t, &answer)
		for _, run := range answer.Imported {
			got := e.must(t, 200, "GET", "/pipelines/"+pathEscape(run.ID), nil)
			want := decoded(t, body)
			if list, ok := want.([]any); ok {
				want = list[0]
			}
			if !reflect.DeepEqual(decoded(t, got.body), want) {
				t.Errorf("mutation %d: %s is not served back as imported:\n got: %.1500s\nwant: %.1500s", i, run.ID, got.body, body)
			}
		}
	}
	t.Logf("%d of 400 mutated executions imported", imported)
}

// A run whose stages are an empty list is served back with an empty list,
// beside fields gennaker does not know, not with null.
func TestImportWithoutStagesServedBackAsSent(t *testing.T) {
	e := newEnv(t)
	doc := with(finishedRun("01NOSTAGES"), func(d map[string]any) {
		d["stages"] = []any{}
		d["spelEvaluator"] = "v4"
	})
	body, _ := json.Marshal(doc)
	e.must(t, 201, "POST", "/pipelines/import", body)
	for _, path := range []string{"/pipelines/01NOSTAGES", "/applications/imported/pipelines"} {
		got := decoded(t, e.must(t, 200, "GET", path, nil).body)
		if list, ok := got.([]any); ok && len(list) == 1 {
			got = list[0]
		}
		if !reflect.DeepEqual(got, decoded(t, body)) {
			t.Errorf("GET %s serves the run differently from what was imported:\n got: %v\nwant: %s", path, got, body)
		}
	}
}
