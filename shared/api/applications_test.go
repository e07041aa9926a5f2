package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/api"
)

func TestVersionAndHealth(t *testing.T) {
	e := newEnv(t)
	var v struct{ Version string }
	e.must(t, 200, "GET", "/version", nil).json(t, &v)
	if v.Version != "1.2.3-test" {
		t.Errorf("GET /version = %q, want the configured version", v.Version)
	}
	var h struct{ Status string }
	e.must(t, 200, "GET", "/health", nil).json(t, &h)
	if h.Status != "UP" {
		t.Errorf("GET /health status = %q, want UP", h.Status)
	}
}

// TestApplicationLifecycle drives applications the way spin does: a
// createApplication task, polled until SUCCEEDED, then reads, an update and
// a delete.
func TestApplicationLifecycle(t *testing.T) {
	e := newEnv(t)

	var ref struct{ Ref string }
	e.must(t, 200, "POST", "/tasks", fixture(t, "create-application-task.json")).json(t, &ref)
	if !strings.HasPrefix(ref.Ref, "/tasks/") {
		t.Fatalf("POST /tasks answered ref %q, want /tasks/{id}", ref.Ref)
	}
	var task struct {
		ID          string
		Status      string
		Application string
		Ref         string
		Steps       []struct{ Name, Status string }
	}
	e.must(t, 200, "GET", ref.Ref, nil).json(t, &task)
	if task.Status != "SUCCEEDED" || task.Ref != "/applications/shop" || task.Application != "shop" {
		t.Fatalf("task = %+v, want SUCCEEDED with ref /applications/shop", task)
	}
	if len(task.Steps) != 1 || task.Steps[0].Name != "createApplication" {
		t.Errorf("task steps = %+v, want one createApplication step", task.Steps)
	}
	// Gate's deprecated application-scoped task path reads the same task.
	e.must(t, 200, "GET", "/applications/shop/tasks/"+task.ID, nil)

	// Every attribute is kept, including ones gennaker does not model; the
	// name is lower-cased as Gate answers it.
	var view struct {
		Name       string
		Attributes map[string]any
		Clusters   map[string]any
	}
	e.must(t, 200, "GET", "/applications/shop", nil).json(t, &view)
	if view.Name != "shop" || view.Clusters == nil {
		t.Fatalf("GET /applications/shop = %+v, want name shop and a clusters object", view)
	}
	var sent struct {
		Job []struct {
			Application map[string]any
		}
	}
	if err := json.Unmarshal(fixture(t, "create-application-task.json"), &sent); err != nil {
		t.Fatal(err)
	}
	for k, want := range sent.Job[0].Application {
		if k == "name" {
			continue
		}
		if got := view.Attributes[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("attribute %s = %v, want %v as sent", k, got, want)
		}
	}
	if view.Attributes["name"] != "shop" || view.Attributes["createTs"] == nil || view.Attributes["updateTs"] == nil {
		t.Errorf("attributes name/createTs/updateTs = %v/%v/%v", view.Attributes["name"], view.Attributes["createTs"], view.Attributes["updateTs"])
	}
	// expand=false answers the same shape; names are case-insensitive.
	e.must(t, 200, "GET", "/applications/SHOP?expand=false", nil).json(t, &view)
	if view.Name != "shop" {
		t.Errorf("GET /applications/SHOP name = %q", view.Name)
	}

	e.createApp(t, "blog")
	var list []map[string]any
	e.must(t, 200, "GET", "/applications", nil).json(t, &list)
	if len(list) != 2 || list[0]["name"] != "blog" || list[1]["name"] != "shop" {
		t.Fatalf("GET /applications = %v, want blog and shop", list)
	}
	e.must(t, 200, "GET", "/applications?owner=SHOP-team@example.com", nil).json(t, &list)
	if len(list) != 1 || list[0]["name"] != "shop" {
		t.Fatalf("GET /applications?owner= = %v, want only shop", list)
	}

	// updateApplication changes the attributes it is given and keeps the rest.
	createTs := view.Attributes["createTs"]
	update := map[string]any{"application": "shop", "job": []any{map[string]any{
		"type": "updateApplication", "application": map[string]any{"name": "shop", "description": "The new shop"},
	}}}
	e.must(t, 200, "POST", "/applications/shop/tasks", update)
	view.Attributes = nil
	e.must(t, 200, "GET", "/applications/shop", nil).json(t, &view)
	if view.Attributes["description"] != "The new shop" || view.Attributes["email"] != "shop-team@example.com" || view.Attributes["createTs"] != createTs {
		t.Errorf("after updateApplication attributes = %v", view.Attributes)
	}

	// createApplication on an existing application replaces its attributes
	// (spin application save), keeping its creation time.
	e.must(t, 200, "POST", "/tasks", map[string]any{"job": []any{map[string]any{
		"type": "createApplication", "application": map[string]any{"name": "shop", "email": "new@example.com", "cloudProviders": "local"},
	}}})
	view.Attributes = nil
	e.must(t, 200, "GET", "/applications/shop", nil).json(t, &view)
	if view.Attributes["email"] != "new@example.com" || view.Attributes["description"] != nil || view.Attributes["createTs"] != createTs {
		t.Errorf("after createApplication of an existing app attributes = %v", view.Attributes)
	}

	// Deleting an application deletes its pipelines.
	e.savePipeline(t, pipelineDoc("shop", "Deploy", waitStage("1", "Wait", 1)))
	del := map[string]any{"application": "shop", "job": []any{map[string]any{"type": "deleteApplication", "application": map[string]any{"name": "shop"}}}}
	e.must(t, 200, "POST", "/tasks", del).json(t, &ref)
	e.must(t, 200, "GET", ref.Ref, nil).json(t, &task)
	if task.Status != "SUCCEEDED" {
		t.Fatalf("deleteApplication task is %s", task.Status)
	}
	e.must(t, 404, "GET", "/applications/shop", nil)
	e.must(t, 404, "GET", "/applications/shop/pipelineConfigs/Deploy", nil)
	e.createApp(t, "shop")
	var pipes []any
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs", nil).json(t, &pipes)
	if len(pipes) != 0 {
		t.Errorf("a re-created application has %d pipelines of the deleted one", len(pipes))
	}
}

// TestPipelineTasks covers the pipeline jobs of POST /tasks, which Deck and
// Gate's own controllers send: savePipeline with the pipeline
// base64-encoded, updatePipeline and deletePipeline.
func TestPipelineTasks(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	doc, _ := json.Marshal(pipelineDoc("shop", "Deploy", waitStage("1", "Wait", 1)))
	save := map[string]any{"application": "shop", "job": []any{map[string]any{
		"type": "savePipeline", "pipeline": base64.StdEncoding.EncodeToString(doc), "user": "deck-user",
	}}}
	var ref struct{ Ref string }
	e.must(t, 200, "POST", "/tasks", save).json(t, &ref)
	var task struct{ Status, Ref string }
	e.must(t, 200, "GET", ref.Ref, nil).json(t, &task)
	if task.Status != "SUCCEEDED" || !strings.HasPrefix(task.Ref, "/pipelineConfigs/") {
		t.Fatalf("savePipeline task = %+v", task)
	}
	var p map[string]any
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs/Deploy", nil).json(t, &p)
	if p["lastModifiedBy"] != "deck-user" {
		t.Errorf("lastModifiedBy = %v, want the job's user", p["lastModifiedBy"])
	}

	p["description"] = "updated"
	upd := map[string]any{"job": []any{map[string]any{"type": "updatePipeline", "pipeline": p}}}
	e.must(t, 200, "POST", "/tasks", upd)
	e.must(t, 200, "GET", "/applications/shop/pipelineConfigs/Deploy", nil).json(t, &p)
	if p["description"] != "updated" {
		t.Errorf("after updatePipeline description = %v", p["description"])
	}

	ref64, _ := json.Marshal(map[string]any{"application": "shop", "name": "deploy "})
	del := map[string]any{"job": []any{map[string]any{"type": "deletePipeline", "pipeline": base64.StdEncoding.EncodeToString(ref64)}}}
	e.must(t, 200, "POST", "/tasks", del)
	e.must(t, 404, "GET", "/applications/shop/pipelineConfigs/Deploy", nil)
}

// TestMounts: handlers mounted through Options.Mounts are served beside
// the API's own endpoints.
func TestMounts(t *testing.T) {
	h := api.New(api.Options{Mounts: []api.Mount{{
		Patterns: []string{"GET /credentials"},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`["mounted"]`))
		}),
	}}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/credentials", nil))
	if rec.Code != 200 || rec.Body.String() != `["mounted"]` {
		t.Errorf("GET /credentials = %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/credentials", nil))
	if rec.Code != 405 {
		t.Errorf("POST /credentials = %d, want 405", rec.Code)
	}
}
