package api_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestPipelineRoundTrip saves a pipeline exported from Spinnaker and reads
// it back: fields gennaker does not model are kept.
func TestPipelineRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	var sent map[string]any
	if err := json.Unmarshal(fixture(t, "pipeline.json"), &sent); err != nil {
		t.Fatal(err)
	}
	saved := e.savePipeline(t, fixture(t, "pipeline.json"))
	id, _ := saved["id"].(string)
	if id == "" || saved["version"] != 1.0 {
		t.Fatalf("save answered id %v version %v, want a new id and version 1", saved["id"], saved["version"])
	}
	var got map[string]any
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs/"+pathEscape("Deploy to prod"), nil).json(t, &got)
	for k, want := range sent {
		if k == "lastModifiedBy" {
			continue // the API records who saved it
		}
		if !reflect.DeepEqual(got[k], want) {
			t.Errorf("field %s = %v, want %v as sent", k, got[k], want)
		}
	}
	if got["id"] != id || got["lastModifiedBy"] != "anonymous" || got["updateTs"] == nil {
		t.Errorf("id/lastModifiedBy/updateTs = %v/%v/%v", got["id"], got["lastModifiedBy"], got["updateTs"])
	}
	if _, has := got["version"]; has {
		t.Error("the current configuration carries a version field; only history entries and save answers do")
	}
	var all []map[string]any
	e.must(t, 200, "GET", "/pipelineConfigs", nil).json(t, &all)
	if len(all) != 1 || all[0]["id"] != id {
		t.Errorf("GET /pipelineConfigs = %v", all)
	}
}

// TestSpinSaveFlow follows `spin pipeline save`: look the name up (404 for
// a new pipeline), POST without an id, and on the next save resend the id
// the lookup found.
func TestSpinSaveFlow(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	doc := pipelineDoc("shop", "Deploy", waitStage("1", "Wait", 1))
	r := e.call(t, "GET", "/applications/shop/pipelineConfigs/Deploy", nil)
	if r.status != 404 {
		t.Fatalf("lookup of a new pipeline: status %d, want 404", r.status)
	}
	e.must(t, 200, "POST", "/pipelines", doc)
	var found map[string]any
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs/Deploy", nil).json(t, &found)
	doc["id"] = found["id"]
	doc["description"] = "second save"
	saved := e.savePipeline(t, doc)
	if saved["id"] != found["id"] || saved["version"] != 2.0 {
		t.Fatalf("second save answered id %v version %v, want %v version 2", saved["id"], saved["version"], found["id"])
	}
	var list []map[string]any
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs", nil).json(t, &list)
	if len(list) != 1 || list[0]["description"] != "second save" {
		t.Fatalf("list = %v, want the one pipeline at its latest version", list)
	}
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs?pipelineNameFilter=dep", nil).json(t, &list)
	if len(list) != 1 {
		t.Errorf("pipelineNameFilter=dep lists %d", len(list))
	}
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs?pipelineNameFilter=nothing", nil).json(t, &list)
	if len(list) != 0 {
		t.Errorf("pipelineNameFilter=nothing lists %d", len(list))
	}

	// PUT /pipelines/{id} updates it too.
	doc["description"] = "put"
	var put map[string]any
	e.must(t, 200, "PUT", "/pipelines/"+found["id"].(string), doc).json(t, &put)
	if put["description"] != "put" || put["version"] != 3.0 {
		t.Errorf("PUT answered %v", put)
	}

	// Deleting by name is case-insensitive, as in Gate.
	e.must(t, 200, "DELETE", "/pipelines/shop/deploy", nil)
	e.must(t, 404, "GET", "/applications/shop/pipelineConfigs/Deploy", nil)
	e.must(t, 404, "GET", "/pipelineConfigs/"+found["id"].(string)+"/history", nil)
}

// TestStaleCheck: with staleCheck=true a save whose updateTs is not the
// stored one is refused with 409 and stores nothing.
func TestStaleCheck(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	first := e.savePipeline(t, pipelineDoc("shop", "Deploy", waitStage("1", "Wait", 1)))

	// Alice and Bob both read version 1.
	var alice, bob map[string]any
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs/Deploy", nil).json(t, &alice)
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs/Deploy", nil).json(t, &bob)
	alice["description"] = "alice's change"
	e.must(t, 200, "POST", "/pipelines?staleCheck=true", alice, "X-SPINNAKER-USER", "alice")

	bob["description"] = "bob's change"
	before := e.snapshot(t)
	var apiErr apiError
	e.must(t, 409, "POST", "/pipelines?staleCheck=true", bob, "X-SPINNAKER-USER", "bob").json(t, &apiErr)
	if apiErr.Status != 409 || apiErr.Error != "Conflict" || !strings.Contains(apiErr.Message, "alice") || !strings.Contains(apiErr.Message, "get it again") {
		t.Errorf("stale save error = %+v, want a 409 naming who saved it and what to do", apiErr)
	}
	if after := e.snapshot(t); after != before {
		t.Fatalf("a stale save changed the store")
	}

	// Without staleCheck the last writer wins, as in Gate.
	e.must(t, 200, "POST", "/pipelines", bob)
	var hist []map[string]any
	e.must(t, 200, "GET", "/pipelineConfigs/"+first["id"].(string)+"/history", nil).json(t, &hist)
	if len(hist) != 3 {
		t.Fatalf("history has %d versions, want 3", len(hist))
	}
	if hist[0]["lastModifiedBy"] != "anonymous" || hist[1]["lastModifiedBy"] != "alice" {
		t.Errorf("history users = %v, %v", hist[0]["lastModifiedBy"], hist[1]["lastModifiedBy"])
	}

	// A fresh copy passes the stale check.
	var fresh map[string]any
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs/Deploy", nil).json(t, &fresh)
	fresh["description"] = "fresh"
	e.must(t, 200, "POST", "/pipelines?staleCheck=true", fresh)
}

// TestHistoryRestoreDiff: every save is a version; a version can be read,
// restored as the newest, and compared with another.
func TestHistoryRestoreDiff(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	doc := pipelineDoc("shop", "Deploy", waitStage("1", "Soak", 30), judgmentStage("2", "Approve", "1"))
	v1 := e.savePipeline(t, doc)
	id := v1["id"].(string)
	doc["id"] = id
	doc["stages"] = []any{
		waitStage("1", "Soak", 60),
		waitStage("3", "Smoke test", 5, "1"),
		judgmentStage("2", "Approve", "3"),
	}
	e.savePipeline(t, doc)
	doc["name"] = "Deploy (renamed)"
	e.savePipeline(t, doc)

	var hist []map[string]any
	e.must(t, 200, "GET", "/pipelineConfigs/"+id+"/history", nil).json(t, &hist)
	if len(hist) != 3 {
		t.Fatalf("history has %d entries, want 3", len(hist))
	}
	for i, h := range hist {
		if h["version"] != float64(3-i) || h["id"] != id || h["updateTs"] == nil {
			t.Errorf("history[%d] version %v id %v updateTs %v", i, h["version"], h["id"], h["updateTs"])
		}
	}
	e.must(t, 200, "GET", "/pipelineConfigs/"+id+"/history?limit=1", nil).json(t, &hist)
	if len(hist) != 1 || hist[0]["version"] != 3.0 {
		t.Errorf("history?limit=1 = %v", hist)
	}
	var one map[string]any
	e.must(t, 200, "GET", "/pipelineConfigs/"+id+"/history/1", nil).json(t, &one)
	if one["name"] != "Deploy" || len(one["stages"].([]any)) != 2 {
		t.Errorf("version 1 = %v", one)
	}

	// The default diff is the last save.
	var d struct {
		From, To struct {
			Version        int
			LastModifiedBy string
		}
		Changes []struct {
			Path, Kind string
			From, To   any
		}
	}
	e.must(t, 200, "GET", "/pipelineConfigs/"+id+"/diff", nil).json(t, &d)
	if d.From.Version != 2 || d.To.Version != 3 || len(d.Changes) != 1 || d.Changes[0].Path != "name" || d.Changes[0].To != "Deploy (renamed)" {
		t.Errorf("diff 2..3 = %+v, want only the name change", d)
	}
	e.must(t, 200, "GET", "/pipelineConfigs/"+id+"/diff?from=1&to=2", nil).json(t, &d)
	var got []string
	for _, c := range d.Changes {
		got = append(got, fmt.Sprintf("%s %s", c.Kind, c.Path))
	}
	want := []string{
		"changed stages[refId=1].waitTime",
		"added stages[refId=3]",
		"changed stages[refId=2].requisiteStageRefIds[0]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diff 1..2 = %q, want %q", got, want)
	}

	// Restore version 1: it becomes version 4, with version 1's content.
	var restored map[string]any
	e.must(t, 200, "POST", "/pipelineConfigs/"+id+"/history/1/restore", nil, "X-SPINNAKER-USER", "carol").json(t, &restored)
	if restored["version"] != 4.0 || restored["name"] != "Deploy" || restored["lastModifiedBy"] != "carol" {
		t.Fatalf("restore answered %v", restored)
	}
	var cur map[string]any
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs/Deploy", nil).json(t, &cur)
	if len(cur["stages"].([]any)) != 2 {
		t.Errorf("after restoring version 1 the pipeline has %d stages, want 2", len(cur["stages"].([]any)))
	}
	e.must(t, 404, "GET", "/applications/shop/pipelineConfigs/"+pathEscape("Deploy (renamed)"), nil)
	e.must(t, 200, "GET", "/pipelineConfigs/"+id+"/diff?from=1&to=4", nil).json(t, &d)
	if len(d.Changes) != 0 {
		t.Errorf("a restored version differs from the original: %+v", d.Changes)
	}

	// Saving a history entry back does not store its version number.
	e.must(t, 200, "GET", "/pipelineConfigs/"+id+"/history/2", nil).json(t, &one)
	e.savePipeline(t, one)
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs/"+pathEscape("Deploy"), nil).json(t, &cur)
	if _, has := cur["version"]; has {
		t.Error("a saved history entry kept its version field")
	}
}

// TestValidateEndpoint: POST /pipelines/validate lists every problem and
// saves nothing.
func TestValidateEndpoint(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	var res struct {
		Valid, Runnable    bool
		Problems, Warnings []struct{ Path, Message string }
	}
	e.must(t, 200, "POST", "/pipelines/validate", fixture(t, "pipeline.json")).json(t, &res)
	if !res.Valid || len(res.Problems) != 0 {
		t.Errorf("a valid pipeline: %+v", res)
	}
	before := e.snapshot(t)
	e.must(t, 200, "POST", "/pipelines/validate", fixture(t, "invalid-pipeline.json")).json(t, &res)
	if res.Valid {
		t.Fatal("an invalid pipeline validated")
	}
	paths := map[string]bool{}
	for _, p := range res.Problems {
		paths[p.Path] = true
	}
	for _, want := range []string{"stages[2].requisiteStageRefIds[1]", "stages"} {
		if !paths[want] {
			t.Errorf("no problem reported at %s; got %+v", want, res.Problems)
		}
	}
	// A stage type this installation lacks, and a stage's own fields, keep
	// the pipeline from running, not from being saved.
	if res.Runnable || len(res.Warnings) != 2 || res.Warnings[0].Path != "stages[1].type" ||
		!strings.Contains(res.Warnings[0].Message, `stage type "deployToMars" is not available here`) ||
		res.Warnings[1].Path != "stages[2].waitTime" {
		t.Errorf("warnings = %+v, runnable = %v", res.Warnings, res.Runnable)
	}
	if e.snapshot(t) != before {
		t.Error("validate changed the store")
	}
}

// TestUnavailableStageTypesSaveWithWarnings: a pipeline exported from a
// Spinnaker with stage types this installation lacks saves unchanged, with a
// warning that names each; triggering it is refused with the same messages.
func TestUnavailableStageTypesSaveWithWarnings(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	doc := `{"application":"shop","name":"ci","stages":[
	  {"refId":"1","type":"jenkins","name":"Build","master":"ci","job":"shop-build","parameters":{}},
	  {"refId":"2","type":"wait","name":"Pause","waitTime":1,"requisiteStageRefIds":["1"]}]}`
	r := e.must(t, 200, "POST", "/pipelines", doc)
	warnings := r.header.Values("Warning")
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "299 gennaker ") ||
		!strings.Contains(warnings[0], `stages[0].type: stage type \"jenkins\" is not available here`) {
		t.Fatalf("Warning headers = %q", warnings)
	}
	var saved map[string]any
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs/ci", nil).json(t, &saved)
	stages, _ := saved["stages"].([]any)
	if len(stages) != 2 || stages[0].(map[string]any)["job"] != "shop-build" {
		t.Fatalf("the saved pipeline lost its stages: %v", saved)
	}
	resp := e.call(t, "POST", "/pipelines/shop/ci", map[string]any{"type": "manual"})
	var ae apiError
	resp.json(t, &ae)
	if resp.status != 400 || !strings.Contains(ae.Message, "cannot run here") || !strings.Contains(ae.Message, `stage type "jenkins" is not available here`) {
		t.Fatalf("trigger: %d %s", resp.status, resp.body)
	}
	var runs []any
	e.must(t, 200, "GET", "/applications/shop/pipelines", nil).json(t, &runs)
	if len(runs) != 0 {
		t.Fatalf("a refused trigger left %d runs", len(runs))
	}
}

// TestBadNamesAreRefused: names and ids that no stored record can have are
// refused with a 400 that says why, before the store sees them.
func TestBadNamesAreRefused(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	before := e.snapshot(t)
	long := strings.Repeat("n", 70000)
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               string
	}{
		{"long pipeline name", "POST", "/pipelines", pipelineDoc("shop", long), "name: must be at most 256 bytes, not 70000"},
		{"NUL in a pipeline name", "POST", "/pipelines", pipelineDoc("shop", "a\x00b"), `name: "a\x00b" may not contain control characters`},
		{"not UTF-8", "GET", "/applications/shop/pipelineConfigs/bad%ff", nil, "name in the path: must be UTF-8 text"},
		{"long id in a path", "GET", "/pipelines/" + strings.Repeat("x", 2000), nil, "id in the path: must be at most 1024 bytes"},
		{"control character in a path", "GET", "/applications/shop/pipelineConfigs/a%01b", nil, "name in the path"},
		{"long name to trigger", "POST", "/pipelines/shop/" + strings.Repeat("p", 5000), map[string]any{"type": "manual"}, "nameOrId in the path: must be at most 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(t, tc.method, tc.path, tc.body)
			var ae apiError
			r.json(t, &ae)
			if r.status != 400 || !strings.Contains(ae.Message, tc.want) {
				t.Fatalf("%d %q, want 400 saying %q", r.status, ae.Message, tc.want)
			}
		})
	}
	if e.snapshot(t) != before {
		t.Error("a refused request changed the store")
	}
}
