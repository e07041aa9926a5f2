package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// importExecutions answers POST /pipelines/import (ours): the body is one
// execution document as Gate's GET /pipelines/{id} serves it, or a list of
// them, and each is stored as a finished run of its application and
// pipeline, under its own id. Nothing runs an imported run: it is history,
// served back by GET /pipelines/{id} as it was imported. A missing
// application is created. Every document is checked before any is stored,
// so a refused request stores nothing.
func (s *server) importExecutions(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return badRequest("request body is empty; send an execution as GET /pipelines/{id} serves it, or a list of them")
	}
	parsed, err := parseJSON(body)
	if err != nil {
		return err
	}
	var raws []json.RawMessage
	var paths []string
	switch parsed.(type) {
	case map[string]any:
		raws, paths = []json.RawMessage{body}, []string{""}
	case []any:
		if err := json.Unmarshal(body, &raws); err != nil {
			return badRequest("%v", err)
		}
		for i := range raws {
			paths = append(paths, fmt.Sprintf("[%d]", i))
		}
		if len(raws) == 0 {
			return badRequest("the list is empty; send at least one execution")
		}
	default:
		return badRequest("the body must be an execution (a JSON object) or a list of them, not %s", describeJSON(parsed))
	}

	runs := make([]*model.Execution, len(raws))
	seen := map[model.ExecutionID]string{}
	for i, raw := range raws {
		e, err := decodeImport(raw, paths[i])
		if err != nil {
			return err
		}
		if first, ok := seen[e.ID]; ok {
			return badRequest("%s: id %q is also the id of %s; each execution needs its own id", where(paths[i], "id"), e.ID, where(first, ""))
		}
		seen[e.ID] = paths[i]
		runs[i] = e
	}
	for i, e := range runs {
		if _, err := s.store.Executions().GetHeader(ctx, e.ID); err == nil {
			return conflict("%s: execution %s exists already; GET /pipelines/%s shows it", where(paths[i], "id"), e.ID, e.ID)
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("execution %s: %w", e.ID, err)
		}
	}

	refs := make([]map[string]string, len(runs))
	for i, e := range runs {
		if err := s.ensureApplication(ctx, e.Application, user(r)); err != nil {
			return err
		}
		if err := s.store.Executions().Create(ctx, e); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return conflict("%s: execution %s exists already; GET /pipelines/%s shows it", where(paths[i], "id"), e.ID, e.ID)
			}
			return fmt.Errorf("import execution %s: %w", e.ID, err)
		}
		refs[i] = map[string]string{"id": string(e.ID), "ref": "/pipelines/" + string(e.ID)}
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"imported": refs})
}

// ensureApplication creates the application of an imported run if there is
// none, so the run is listed with the application's others.
func (s *server) ensureApplication(ctx context.Context, name model.ApplicationName, who string) error {
	_, err := s.store.Applications().Get(ctx, name)
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("application %s: %w", name, err)
	}
	ts := fmt.Sprint(s.now().UnixMilli())
	app := &model.Application{Name: name, CreateTs: ts, UpdateTs: ts, User: who}
	if err := s.store.Applications().Put(ctx, app); err != nil {
		return fmt.Errorf("create application %s for an imported execution: %w", name, err)
	}
	return nil
}

// where joins a document's path in the body and a path inside it.
func where(doc, field string) string {
	switch {
	case doc == "" && field == "":
		return "the body"
	case field == "":
		return doc
	case doc == "":
		return field
	}
	return doc + "." + field
}

// decodeImport checks that raw is a finished execution document and decodes
// it, keeping every field. path is where the document is in the body.
func decodeImport(raw json.RawMessage, path string) (*model.Execution, error) {
	parsed, err := parseJSON(raw)
	if err != nil {
		return nil, err
	}
	doc, ok := parsed.(map[string]any)
	if !ok {
		return nil, badRequest("%s must be an execution (a JSON object), not %s", where(path, ""), describeJSON(parsed))
	}
	if probs := importProblems(path, doc); len(probs) > 0 {
		return nil, invalid(where(path, "")+" is not an execution Gate serves", probs)
	}
	if probs := typeCheck(path, doc, reflect.TypeOf(model.Execution{})); len(probs) > 0 {
		return nil, invalid(where(path, "")+" has values of the wrong type", probs)
	}
	if st := model.Status(doc["status"].(string)); !st.IsComplete() {
		return nil, badRequest("%s: status is %s; only finished executions can be imported", where(path, "status"), st)
	}
	var e model.Execution
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&e); err != nil {
		return nil, badRequest("%s: %v", where(path, ""), err)
	}
	e.Orchestration = model.Orchestration{Imported: true}
	return &e, nil
}

// importProblems lists what keeps doc from being stored as a run: the
// fields the store keys it by, statuses, and stages that are objects with
// ids of their own.
func importProblems(path string, doc map[string]any) []model.Problem {
	var probs []model.Problem
	add := func(p, format string, args ...any) {
		probs = append(probs, model.Problem{Path: where(path, p), Message: fmt.Sprintf(format, args...)})
	}
	name := func(p string, v any, required bool) (string, bool) {
		s, ok := v.(string)
		switch {
		case v == nil && !required:
			return "", false
		case v == nil:
			add(p, "is required")
		case !ok:
			add(p, "must be a string, not %s", describeJSON(v))
		case s == "":
			add(p, "is required")
		case checkName(s, maxPathName) != "":
			add(p, "%s", checkName(s, maxPathName))
		default:
			return s, true
		}
		return "", false
	}
	status := func(p string, v any, required bool) {
		if v == nil {
			if required {
				add(p, "is required")
			}
			return
		}
		s, ok := v.(string)
		if !ok {
			add(p, "must be a string, not %s", describeJSON(v))
		} else if _, err := model.ParseStatus(s); err != nil {
			add(p, "%v", err)
		}
	}
	reserved := func(p string, obj map[string]any) {
		if _, ok := obj["orchestration"]; ok {
			add(joinPath(p, "orchestration"), "is gennaker's own bookkeeping and not a field Gate serves; remove it")
		}
	}

	name("id", doc["id"], true)
	if app, ok := name("application", doc["application"], true); ok {
		canon := canonicalApp(app)
		switch {
		case checkAppName(canon) != "":
			add("application", "%s", checkAppName(canon))
		case string(canon) != app:
			add("application", "%q must be written as %q, as Spinnaker names applications", app, canon)
		}
	}
	name("pipelineConfigId", doc["pipelineConfigId"], false)
	if t, ok := doc["type"].(string); ok && t != "PIPELINE" {
		add("type", "is %q; only pipeline executions (PIPELINE) can be imported", t)
	}
	status("status", doc["status"], true)
	reserved("", doc)

	stages, ok := doc["stages"].([]any)
	if !ok {
		if doc["stages"] == nil {
			add("stages", "is required: the list of the run's stages")
		} else {
			add("stages", "must be a list of stages, not %s", describeJSON(doc["stages"]))
		}
		return probs
	}
	ids := map[string]int{}
	for i, v := range stages {
		p := fmt.Sprintf("stages[%d]", i)
		st, ok := v.(map[string]any)
		if !ok {
			add(p, "must be a stage (an object), not %s", describeJSON(v))
			continue
		}
		if id, ok := name(p+".id", st["id"], true); ok {
			if j, dup := ids[id]; dup {
				add(p+".id", "%q is also the id of stages[%d]", id, j)
			}
			ids[id] = i
		}
		status(p+".status", st["status"], false)
		reserved(p, st)
		tasks, _ := st["tasks"].([]any)
		for k, tv := range tasks {
			if task, ok := tv.(map[string]any); ok {
				status(fmt.Sprintf("%s.tasks[%d].status", p, k), task["status"], false)
			}
		}
	}
	return probs
}
