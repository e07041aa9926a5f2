package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/oklog/ulid/v2"

	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// Tasks are Orca's "orchestrations": POST /tasks carries a list of jobs
// (create an application, save a pipeline, …) and answers with a ref the
// caller polls until the task is SUCCEEDED. gennaker checks every job before
// it changes anything — a task with one bad job is answered 400 and does
// nothing — then runs the jobs before it answers, so the first poll already
// sees the final status. Tasks are kept in the store's records, so any
// instance of the API (one Lambda or another) can answer the poll.

const taskKeyPrefix = "api/tasks/"

// task is Orca's view of a task, which spin and Deck poll.
type task struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Application string         `json:"application,omitempty"`
	Status      model.Status   `json:"status"`
	BuildTime   int64          `json:"buildTime"`
	StartTime   int64          `json:"startTime"`
	EndTime     int64          `json:"endTime"`
	Steps       []taskStep     `json:"steps"`
	Variables   []taskVariable `json:"variables"`
	// Ref points at what the task made or changed (ours; Orca leaves it to
	// the variables).
	Ref string `json:"ref,omitempty"`
}

type taskStep struct {
	Name      string       `json:"name"`
	Status    model.Status `json:"status"`
	StartTime int64        `json:"startTime"`
	EndTime   int64        `json:"endTime"`
}

type taskVariable struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// taskRequest is the body of POST /tasks.
type taskRequest struct {
	Application string            `json:"application"`
	Description string            `json:"description"`
	Job         []json.RawMessage `json:"job"`
}

// job is one checked job, ready to run.
type job struct {
	kind string
	run  func(ctx context.Context) (ref string, err error)
}

// The job types gennaker runs.
var jobTypes = []string{"createApplication", "updateApplication", "deleteApplication", "savePipeline", "updatePipeline", "deletePipeline"}

// createTask answers POST /tasks and POST /applications/{app}/tasks.
func (s *server) createTask(w http.ResponseWriter, r *http.Request) error {
	var req taskRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	if app := r.PathValue("app"); app != "" {
		req.Application = app
	}
	if len(req.Job) == 0 {
		return badRequest("job: at least one job is required, such as {\"type\":\"createApplication\",\"application\":{\"name\":\"myapp\",\"email\":\"me@example.com\"}}")
	}
	ctx := r.Context()
	who := user(r)
	jobs := make([]job, 0, len(req.Job))
	for i, raw := range req.Job {
		j, err := s.checkJob(ctx, fmt.Sprintf("job[%d]", i), raw, who)
		if err != nil {
			return err
		}
		jobs = append(jobs, j)
	}

	now := s.now().UnixMilli()
	t := task{
		ID:          ulid.Make().String(),
		Name:        req.Description,
		Application: strings.ToLower(req.Application),
		Status:      model.StatusSucceeded,
		BuildTime:   now,
		StartTime:   now,
		Variables:   []taskVariable{},
	}
	if t.Name == "" {
		t.Name = jobs[0].kind
	}
	for _, j := range jobs {
		start := s.now().UnixMilli()
		ref, err := j.run(ctx)
		if err != nil {
			return err
		}
		t.Steps = append(t.Steps, taskStep{Name: j.kind, Status: model.StatusSucceeded, StartTime: start, EndTime: s.now().UnixMilli()})
		t.Ref = ref
	}
	t.EndTime = s.now().UnixMilli()
	if t.Application != "" {
		t.Variables = append(t.Variables, taskVariable{Key: "application", Value: t.Application})
	}
	t.Variables = append(t.Variables, taskVariable{Key: "ref", Value: t.Ref})
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode task %s: %w", t.ID, err)
	}
	// Keep the task only after its jobs ran: a task that failed half-way is
	// reported as the error it is, not as a task.
	if err := s.store.Records().Put(ctx, taskKeyPrefix+t.ID, b); err != nil {
		return fmt.Errorf("store task %s: %w", t.ID, err)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"ref": "/tasks/" + t.ID})
}

// getTask answers GET /tasks/{id}.
func (s *server) getTask(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	b, found, err := s.store.Records().Get(r.Context(), taskKeyPrefix+id)
	if err != nil {
		return fmt.Errorf("task %s: %w", id, err)
	}
	if !found {
		return notFound("task %q not found", id)
	}
	var t task
	if err := json.Unmarshal(b, &t); err != nil {
		return fmt.Errorf("task %s: %w", id, err)
	}
	// A task that started a run is as far along as its run.
	if runID, ok := strings.CutPrefix(t.Ref, "/pipelines/"); ok {
		e, err := s.store.Executions().GetHeader(r.Context(), model.ExecutionID(runID))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("task %s: %w", id, err)
		}
		if e != nil {
			t.Status = e.Status
			t.EndTime = e.EndTime
		}
	}
	return writeJSON(w, http.StatusOK, t)
}

// checkJob checks one job and returns how to run it.
func (s *server) checkJob(ctx context.Context, path string, raw json.RawMessage, who string) (job, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := decodeJSON(raw, &head, path); err != nil {
		return job{}, err
	}
	switch head.Type {
	case "createApplication", "updateApplication":
		return s.checkApplicationJob(ctx, path, head.Type, raw, who)
	case "deleteApplication":
		var body struct {
			Application struct {
				Name string `json:"name"`
			} `json:"application"`
		}
		if err := decodeJSON(raw, &body, path); err != nil {
			return job{}, err
		}
		name := canonicalApp(body.Application.Name)
		if msg := checkAppName(name); msg != "" {
			return job{}, badRequest("%s.application.name: %s", path, msg)
		}
		if _, err := s.application(ctx, name); err != nil {
			return job{}, err
		}
		if err := s.allow(ctx, caller(ctx), name, auth.Write); err != nil {
			return job{}, err
		}
		return job{kind: head.Type, run: func(ctx context.Context) (string, error) {
			return "/applications/" + string(name), s.deleteApplication(ctx, name)
		}}, nil
	case "savePipeline", "updatePipeline":
		return s.checkSavePipelineJob(ctx, path, head.Type, raw, who)
	case "deletePipeline":
		var body struct {
			Pipeline json.RawMessage `json:"pipeline"`
		}
		if err := decodeJSON(raw, &body, path); err != nil {
			return job{}, err
		}
		doc, err := embeddedDocument(body.Pipeline, path+".pipeline")
		if err != nil {
			return job{}, err
		}
		var ref struct {
			ID          model.PipelineID `json:"id"`
			Application string           `json:"application"`
			Name        string           `json:"name"`
		}
		if err := decodeJSON(doc, &ref, path+".pipeline"); err != nil {
			return job{}, err
		}
		if ref.ID == "" && (ref.Application == "" || ref.Name == "") {
			return job{}, badRequest("%s.pipeline: name the pipeline to delete by its application and name, or by its id", path)
		}
		p, err := s.findPipeline(ctx, canonicalApp(ref.Application), ref.Name, ref.ID)
		if err != nil {
			return job{}, err
		}
		if err := s.allow(ctx, caller(ctx), p.Application, auth.Write); err != nil {
			return job{}, err
		}
		return job{kind: head.Type, run: func(ctx context.Context) (string, error) {
			return "/pipelineConfigs/" + string(p.ID), s.store.Pipelines().Delete(ctx, p.ID)
		}}, nil
	case "":
		return job{}, badRequest("%s.type: is required; gennaker runs %s", path, strings.Join(jobTypes, ", "))
	default:
		if j, ok, err := s.checkStageJob(ctx, path, head.Type, raw, who); ok || err != nil {
			return j, err
		}
		return job{}, badRequest("%s.type: unknown job type %q; gennaker runs %s, and any stage type as an ad-hoc run", path, head.Type, strings.Join(jobTypes, ", "))
	}
}

// checkStageJob turns a job whose type is a stage type (upsertLoadBalancer,
// resizeServerGroup, …) into an ad-hoc run of that one stage, as Orca runs
// such tasks as orchestrations. Deck sends a load balancer's fields on the
// job itself; they become the stage's loadBalancers list. ok is false when
// the type is not a stage type.
func (s *server) checkStageJob(ctx context.Context, path, kind string, raw json.RawMessage, who string) (job, bool, error) {
	var fields map[string]any
	if err := decodeJSON(raw, &fields, path); err != nil {
		return job{}, false, err
	}
	app, _ := fields["application"].(string)
	if (kind == "upsertLoadBalancer" || kind == "deleteLoadBalancer") && fields["loadBalancers"] == nil && fields["name"] != nil {
		lb := map[string]any{}
		for k, v := range fields {
			if k != "type" && k != "user" {
				lb[k] = v
			}
		}
		if lb["account"] == nil && lb["credentials"] != nil {
			lb["account"] = lb["credentials"]
		}
		fields = map[string]any{"type": kind, "loadBalancers": []any{lb}}
	}
	fields["refId"] = "1"
	fields["name"] = kind
	b, _ := json.Marshal(fields)
	var st model.Stage
	if err := json.Unmarshal(b, &st); err != nil {
		return job{}, true, badRequest("%s: %v", path, err)
	}
	if s.registry == nil {
		return job{}, false, nil
	}
	known, probs := s.registry.ValidateStage(&st)
	if !known {
		return job{}, false, nil
	}
	if len(probs) > 0 {
		for i := range probs {
			probs[i].Path = path + "." + probs[i].Path
		}
		return job{}, true, &model.ValidationError{Problems: probs}
	}
	if app == "" {
		return job{}, true, badRequest("%s.application: is required for a %s job: the application it acts for", path, kind)
	}
	// Running a stage is running the application's pipelines; the accounts
	// it deploys to are checked when it starts, as every stage's are.
	if err := s.allow(ctx, caller(ctx), canonicalApp(app), auth.Execute); err != nil {
		return job{}, true, err
	}
	p := &model.Pipeline{Application: canonicalApp(app), Name: kind, Stages: []model.Stage{st}}
	return job{kind: kind, run: func(ctx context.Context) (string, error) {
		id, err := s.orch.TriggerPipeline(ctx, p, model.ExecutionTrigger{Type: "manual", User: who}, "")
		if err != nil {
			return "", err
		}
		return "/pipelines/" + string(id), nil
	}}, true, nil
}

func (s *server) checkApplicationJob(ctx context.Context, path, kind string, raw json.RawMessage, who string) (job, error) {
	var body struct {
		Application json.RawMessage `json:"application"`
	}
	if err := decodeJSON(raw, &body, path); err != nil {
		return job{}, err
	}
	apath := path + ".application"
	if len(body.Application) == 0 || string(body.Application) == "null" {
		return job{}, badRequest("%s: is required: the application's attributes, at least {\"name\":\"myapp\"}", apath)
	}
	var app model.Application
	if err := decodeJSON(body.Application, &app, apath); err != nil {
		return job{}, err
	}
	app.Name = canonicalApp(string(app.Name))
	if msg := checkAppName(app.Name); msg != "" {
		return job{}, badRequest("%s.name: %s", apath, msg)
	}
	if _, err := auth.ParsePermissions(app.Permissions); err != nil {
		return job{}, badRequest("%s.%v", apath, err)
	}
	// An application that exists needs WRITE; anyone may create one.
	if err := s.allow(ctx, caller(ctx), app.Name, auth.Write); err != nil {
		return job{}, err
	}
	if kind == "updateApplication" {
		prev, err := s.application(ctx, app.Name)
		if err != nil {
			return job{}, err
		}
		merged, err := mergeApplication(prev, body.Application)
		if err != nil {
			return job{}, badRequest("%s: %v", apath, err)
		}
		app = *merged
	}
	return job{kind: kind, run: func(ctx context.Context) (string, error) {
		return "/applications/" + string(app.Name), s.upsertApplication(ctx, &app, who)
	}}, nil
}

// mergeApplication applies the attributes given in patch to prev, as an
// update does: attributes not given keep their values.
func mergeApplication(prev *model.Application, patch json.RawMessage) (*model.Application, error) {
	b, err := json.Marshal(prev)
	if err != nil {
		return nil, err
	}
	var attrs, changes map[string]json.RawMessage
	if err := json.Unmarshal(b, &attrs); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(patch, &changes); err != nil {
		return nil, err
	}
	for k, v := range changes {
		if k == "name" {
			continue
		}
		attrs[k] = v
	}
	b, err = json.Marshal(attrs)
	if err != nil {
		return nil, err
	}
	var out model.Application
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	out.Name = prev.Name
	return &out, nil
}

func (s *server) checkSavePipelineJob(ctx context.Context, path, kind string, raw json.RawMessage, who string) (job, error) {
	var body struct {
		Pipeline   json.RawMessage `json:"pipeline"`
		StaleCheck bool            `json:"staleCheck"`
		User       string          `json:"user"`
	}
	if err := decodeJSON(raw, &body, path); err != nil {
		return job{}, err
	}
	doc, err := embeddedDocument(body.Pipeline, path+".pipeline")
	if err != nil {
		return job{}, err
	}
	p, err := decodePipeline(doc, path+".pipeline")
	if err != nil {
		return job{}, err
	}
	if kind == "updatePipeline" && p.ID == "" {
		return job{}, badRequest("%s.pipeline.id: is required to update a pipeline; use savePipeline to create one", path)
	}
	if body.User != "" && who == auth.AnonymousUser && !s.policy.Enabled {
		who = body.User
	}
	plan, err := s.planSave(ctx, p, who, body.StaleCheck)
	if err != nil {
		return job{}, err
	}
	return job{kind: kind, run: func(ctx context.Context) (string, error) {
		if _, err := s.commitSave(ctx, plan); err != nil {
			return "", err
		}
		return "/pipelineConfigs/" + string(plan.pipeline.ID), nil
	}}, nil
}

// embeddedDocument returns the JSON document a job carries: Gate sends
// pipelines base64-encoded in a string; a JSON object is accepted as is.
func embeddedDocument(raw json.RawMessage, path string) ([]byte, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, badRequest("%s: is required", path)
	}
	if raw[0] == '{' {
		return raw, nil
	}
	var enc string
	if err := json.Unmarshal(raw, &enc); err != nil {
		return nil, badRequest("%s: must be a JSON object or a base64-encoded JSON document", path)
	}
	doc, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		doc, err = base64.URLEncoding.DecodeString(enc)
	}
	if err != nil {
		return nil, badRequest("%s: is not valid base64: %v", path, err)
	}
	return doc, nil
}

// findPipeline finds an application's pipeline by id or by name, as Gate
// does when deleting: names match ignoring case and surrounding spaces.
func (s *server) findPipeline(ctx context.Context, app model.ApplicationName, name string, id model.PipelineID) (*model.Pipeline, error) {
	if id != "" {
		p, err := s.store.Pipelines().Get(ctx, id)
		if err == nil && (app == "" || p.Application == app) {
			return p, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("pipeline %s: %w", id, err)
		}
	}
	if app == "" {
		return nil, notFound("pipeline %q not found", id)
	}
	if _, err := s.application(ctx, app); err != nil {
		return nil, err
	}
	p, err := s.store.Pipelines().GetByName(ctx, app, name)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("pipeline %q of %s: %w", name, app, err)
	}
	all, err := s.store.Pipelines().List(ctx, app)
	if err != nil {
		return nil, fmt.Errorf("pipelines of %s: %w", app, err)
	}
	want := strings.TrimSpace(name)
	for i := range all {
		if strings.EqualFold(strings.TrimSpace(all[i].Name), want) {
			return &all[i], nil
		}
	}
	return nil, notFound("application %s has no pipeline named %q; list them with GET /applications/%s/pipelineConfigs", app, name, app)
}
