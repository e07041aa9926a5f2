package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/store"
)

// triggerPipeline answers POST /pipelines/{app}/{nameOrId}: the body is the
// trigger (type, user, parameters, artifacts, …) and the answer, 202, is
// {"ref": "/pipelines/{executionId}"}. An Idempotency-Key header (ours)
// makes a retried request return the run the first one started.
func (s *server) triggerPipeline(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	app := canonicalApp(r.PathValue("app"))
	nameOrID := r.PathValue("nameOrId")
	var trigger model.ExecutionTrigger
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if body != nil {
		if err := decodeJSON(body, &trigger, ""); err != nil {
			return err
		}
		trigger = trigger.Own()
		// A run started through the API acts as its caller: a runAsUser is
		// for automated triggers, which check who may use it when the
		// pipeline is saved.
		delete(trigger.Extra, "runAsUser")
	}
	if _, err := s.application(ctx, app); err != nil {
		return err
	}
	p, err := s.pipelineByNameOrID(ctx, app, nameOrID)
	if err != nil {
		return err
	}
	if trigger.User == "" || s.policy.Enabled {
		// With authentication on, a run records who started it, never who
		// the body claims.
		trigger.User = user(r)
	}
	if trigger.Type == "" {
		trigger.Type = "manual"
	}
	id, err := s.orch.TriggerPipeline(ctx, p, trigger, r.Header.Get("Idempotency-Key"))
	if err != nil {
		if isDisabled(err) {
			return err // the message names the pipeline and what to do
		}
		return fmt.Errorf("unable to trigger pipeline %q of %s: %w", p.Name, app, err)
	}
	runActedOn(r, id)
	ref := "/pipelines/" + string(id)
	w.Header().Set("Location", ref)
	return writeJSON(w, http.StatusAccepted, map[string]string{"ref": ref})
}

// pipelineByNameOrID finds a pipeline as Gate does when triggering: by name
// first, then by id.
func (s *server) pipelineByNameOrID(ctx context.Context, app model.ApplicationName, nameOrID string) (*model.Pipeline, error) {
	p, err := s.store.Pipelines().GetByName(ctx, app, nameOrID)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("pipeline %q of %s: %w", nameOrID, app, err)
	}
	if checkPipelineID(model.PipelineID(nameOrID)) == "" {
		p, err = s.store.Pipelines().Get(ctx, model.PipelineID(nameOrID))
		if err == nil && p.Application == app {
			return p, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("pipeline %s: %w", nameOrID, err)
		}
	}
	return nil, notFound("application %s has no pipeline named %q or with that id; list them with GET /applications/%s/pipelineConfigs", app, nameOrID, app)
}

// execution reads a run with its stages, or answers 404.
func (s *server) execution(ctx context.Context, id model.ExecutionID) (*model.Execution, error) {
	e, err := s.store.Executions().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("pipeline execution %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("execution %s: %w", id, err)
	}
	return e, nil
}

// getExecution answers GET /pipelines/{id}.
func (s *server) getExecution(w http.ResponseWriter, r *http.Request) error {
	e, err := s.execution(r.Context(), model.ExecutionID(r.PathValue("id")))
	if err != nil {
		return err
	}
	view := renderExecution(e, true)
	if !e.Orchestration.Imported {
		if view, err = s.withCost(r.Context(), view); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, view)
}

// deleteExecution answers DELETE /pipelines/{id}: a finished run is
// forgotten; a run still in progress must be canceled first.
func (s *server) deleteExecution(w http.ResponseWriter, r *http.Request) error {
	id := model.ExecutionID(r.PathValue("id"))
	e, err := s.store.Executions().GetHeader(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("pipeline execution %q not found", id)
	}
	if err != nil {
		return fmt.Errorf("execution %s: %w", id, err)
	}
	if !e.Status.IsComplete() {
		return conflict("execution %s is %s; cancel it before deleting it", id, e.Status)
	}
	if err := s.store.Executions().Delete(r.Context(), id); err != nil {
		return fmt.Errorf("delete execution %s: %w", id, err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// statusesParam reads a comma-separated list of statuses.
func statusesParam(r *http.Request) ([]model.Status, error) {
	raw := strings.TrimSpace(r.URL.Query().Get("statuses"))
	if raw == "" {
		return nil, nil
	}
	var out []model.Status
	for _, part := range strings.Split(raw, ",") {
		part = strings.ToUpper(strings.TrimSpace(part))
		if part == "" {
			continue
		}
		st, err := model.ParseStatus(part)
		if err != nil {
			return nil, badRequest("query parameter statuses: %v", err)
		}
		out = append(out, st)
	}
	return out, nil
}

// full reads the stages of listed runs; listings return headers.
func (s *server) full(ctx context.Context, list []model.Execution) ([]*model.Execution, error) {
	out := make([]*model.Execution, 0, len(list))
	for i := range list {
		e, err := s.store.Executions().Get(ctx, list[i].ID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since it was listed
		}
		if err != nil {
			return nil, fmt.Errorf("execution %s: %w", list[i].ID, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// listApplicationExecutions answers
// GET /applications/{app}/pipelines?limit=&statuses=&expand=: the
// application's runs, newest first (10 unless limit says otherwise, as in
// Gate).
func (s *server) listApplicationExecutions(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	app := canonicalApp(r.PathValue("app"))
	limit, err := intParam(r, "limit", 10)
	if err != nil {
		return err
	}
	statuses, err := statusesParam(r)
	if err != nil {
		return err
	}
	expand, err := boolParam(r, "expand", true)
	if err != nil {
		return err
	}
	if _, err := s.application(ctx, app); err != nil {
		return err
	}
	list, err := s.store.Executions().ListByApplication(ctx, app, store.ListOptions{Limit: limit, Statuses: statuses})
	if err != nil {
		return fmt.Errorf("executions of %s: %w", app, err)
	}
	runs, err := s.full(ctx, list)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, renderExecutions(runs, expand))
}

// listExecutions answers
// GET /executions?pipelineConfigIds=&executionIds=&limit=&statuses=&expand=:
// the named runs, or the latest runs of each named pipeline (limit per
// pipeline, 1 by default). Either list may be given, not both; with
// neither the answer is empty, as in Gate.
func (s *server) listExecutions(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	execIDs := splitList(q.Get("executionIds"))
	configIDs := splitList(q.Get("pipelineConfigIds"))
	limit, err := intParam(r, "limit", 1)
	if err != nil {
		return err
	}
	statuses, err := statusesParam(r)
	if err != nil {
		return err
	}
	expand, err := boolParam(r, "expand", true)
	if err != nil {
		return err
	}
	if len(execIDs) > 0 && len(configIDs) > 0 {
		return badRequest("send either executionIds or pipelineConfigIds, not both")
	}
	runs := []*model.Execution{}
	for _, id := range execIDs {
		// Unknown ids are left out, as Gate does; limit and statuses do not
		// apply to runs asked for by id.
		e, err := s.store.Executions().Get(ctx, model.ExecutionID(id))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("execution %s: %w", id, err)
		}
		runs = append(runs, e)
	}
	for _, id := range configIDs {
		list, err := s.store.Executions().ListByPipeline(ctx, model.PipelineID(id), store.ListOptions{Limit: limit, Statuses: statuses})
		if err != nil {
			return fmt.Errorf("executions of pipeline %s: %w", id, err)
		}
		got, err := s.full(ctx, list)
		if err != nil {
			return err
		}
		runs = append(runs, got...)
	}
	visible := s.readable(ctx)
	kept := runs[:0]
	for _, e := range runs {
		if visible.ok(e.Application) {
			kept = append(kept, e)
		}
	}
	return writeJSON(w, http.StatusOK, renderExecutions(kept, expand))
}

func splitList(raw string) []string {
	var out []string
	seen := map[string]bool{}
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		if part != "" && !seen[part] {
			seen[part] = true
			out = append(out, part)
		}
	}
	return out
}

// cancelExecution answers PUT /pipelines/{id}/cancel[?reason=] and Gate's
// older PUT /applications/{app}/pipelines/{id}/cancel.
func (s *server) cancelExecution(w http.ResponseWriter, r *http.Request) error {
	id := model.ExecutionID(r.PathValue("id"))
	if _, err := boolParam(r, "force", false); err != nil {
		return err
	}
	if _, err := s.execution(r.Context(), id); err != nil {
		return err
	}
	runActedOn(r, id)
	if err := s.orch.Cancel(r.Context(), id, user(r), r.URL.Query().Get("reason")); err != nil {
		return fmt.Errorf("cancel execution %s: %w", id, err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// pauseExecution answers PUT /pipelines/{id}/pause.
func (s *server) pauseExecution(w http.ResponseWriter, r *http.Request) error {
	return s.moveExecution(w, r, model.StatusRunning, "paused", s.orch.Pause)
}

// resumeExecution answers PUT /pipelines/{id}/resume.
func (s *server) resumeExecution(w http.ResponseWriter, r *http.Request) error {
	return s.moveExecution(w, r, model.StatusPaused, "resumed", s.orch.Resume)
}

// moveExecution pauses or resumes the execution in the path, which must
// have status from.
func (s *server) moveExecution(w http.ResponseWriter, r *http.Request, from model.Status, done string,
	act func(ctx context.Context, id model.ExecutionID, user string) error) error {
	id := model.ExecutionID(r.PathValue("id"))
	e, err := s.execution(r.Context(), id)
	if err != nil {
		return err
	}
	if e.Status != from {
		return conflict("execution %s is %s; only a %s execution can be %s", id, e.Status, from, done)
	}
	runActedOn(r, id)
	if err := act(r.Context(), id, user(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// patchStage answers PATCH /pipelines/{id}/stages/{stageId}, with
// {"judgmentStatus":"continue"|"stop","judgmentInput":…} for a manual
// judgment or {"skipRemainingWait":true} to end a wait early, and answers
// with the execution. The stage's definition decides what a change may set
// (through the orchestrator); the API only reads the body and maps the
// refusal: a wrong change is 400, a stage not in a state to take it 409.
func (s *server) patchStage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := model.ExecutionID(r.PathValue("id"))
	stageID := model.StageID(r.PathValue("stageId"))
	var patch map[string]any
	if err := s.decodeBody(w, r, &patch); err != nil {
		return err
	}
	runActedOn(r, id)
	e, err := s.orch.PatchStage(ctx, id, stageID, user(r), patch)
	var pe *stages.PatchError
	if errors.As(err, &pe) {
		if pe.Conflict {
			return conflict("%s", pe.Message)
		}
		return badRequest("%s", pe.Message)
	}
	if err != nil {
		return err // not found is 404 and a finished run 409, as everywhere
	}
	return writeJSON(w, http.StatusOK, renderExecution(e, true))
}

// restartStage answers PUT /pipelines/{id}/stages/{stageId}/restart and
// answers with the execution.
func (s *server) restartStage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := model.ExecutionID(r.PathValue("id"))
	stageID := model.StageID(r.PathValue("stageId"))
	// Gate sends the pipeline configuration as the body; gennaker restarts
	// from the stage's own recorded configuration, so the body is only
	// checked to be JSON.
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if body != nil {
		if _, err := parseJSON(body); err != nil {
			return err
		}
	}
	e, err := s.execution(ctx, id)
	if err != nil {
		return err
	}
	st := e.StageByID(stageID)
	if st == nil {
		return notFound("execution %s has no stage %q", id, stageID)
	}
	if e.Orchestration.Imported {
		return conflict("execution %s was imported; it is history and cannot be restarted, so trigger its pipeline instead", id)
	}
	if !st.Status.IsComplete() {
		return conflict("stage %q is %s; only a finished stage can be restarted", st.Name, st.Status)
	}
	runActedOn(r, id)
	if err := s.orch.RestartStage(ctx, id, stageID, user(r)); err != nil {
		return fmt.Errorf("restart stage %q of %s: %w", st.Name, id, err)
	}
	return s.writeExecution(w, ctx, id)
}

func (s *server) writeExecution(w http.ResponseWriter, ctx context.Context, id model.ExecutionID) error {
	e, err := s.execution(ctx, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, renderExecution(e, true))
}
