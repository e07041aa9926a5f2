package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// historyVersionKey is the field history entries carry their version
// number in. It is metadata, not configuration: a top-level numeric
// "version" in a saved pipeline is dropped, so saving a history entry back
// does not store a stale number.
const historyVersionKey = "version"

// decodePipeline decodes a pipeline configuration.
func decodePipeline(doc []byte, path string) (*model.Pipeline, error) {
	var p model.Pipeline
	if err := decodeJSON(doc, &p, path); err != nil {
		return nil, err
	}
	if v, ok := p.Extra[historyVersionKey]; ok {
		if _, err := strconv.Atoi(string(v)); err == nil {
			delete(p.Extra, historyVersionKey)
		}
	}
	return &p, nil
}

// checkPipelineID returns what is wrong with a pipeline id, or "". Ids
// appear in paths (/pipelineConfigs/{id}), so they may not hold slashes,
// spaces or control characters.
// maxPipelineName bounds a pipeline's name: it keys the pipeline within its
// application, and store keys are bounded.
const maxPipelineName = 256

func checkPipelineID(id model.PipelineID) string {
	if len(id) > 256 {
		return "must be at most 256 characters"
	}
	for _, c := range id {
		if c <= ' ' || c == '/' || c == '\\' || c == '?' || c == '#' || c == '%' || c == 0x7f {
			return fmt.Sprintf("%q may not contain spaces, slashes or the characters ? # %%", id)
		}
	}
	return ""
}

// savePlan is a checked save, ready to commit.
type savePlan struct {
	pipeline *model.Pipeline
	user     string
	// expect is the version the save must follow (a stale check), or 0.
	expect int
	// warnings say what keeps the pipeline from running here; it is saved
	// all the same, as Front50 would.
	warnings []model.Problem
	// prevTs is the stored version's updateTs; the new one must be later,
	// or a stale check could not tell two saves in one millisecond apart.
	prevTs int64
}

// planSave checks a pipeline before it is saved: its application exists,
// model.Validate finds nothing wrong with it, its id and name do not clash
// with another pipeline, and — with staleCheck — nobody saved it since the
// caller read it. It changes nothing.
func (s *server) planSave(ctx context.Context, p *model.Pipeline, who string, staleCheck bool) (*savePlan, error) {
	p.Application = canonicalApp(string(p.Application))
	if err := s.authorizeSave(ctx, p); err != nil {
		return nil, err
	}
	probs, warnings := s.problems(ctx, p)
	if len(probs) > 0 {
		return nil, invalid(fmt.Sprintf("pipeline %q is invalid", p.Name), probs)
	}
	plan := &savePlan{pipeline: p, user: who, warnings: warnings}
	if p.ID == "" {
		// Front50 refuses a second pipeline under a name the application
		// already uses; the caller must send the existing id to update it.
		if other, err := s.store.Pipelines().GetByName(ctx, p.Application, p.Name); err == nil {
			return nil, badRequest("name: application %s already has a pipeline named %q (id %s); send its id to update it, or choose another name", p.Application, p.Name, other.ID)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("pipeline %q of %s: %w", p.Name, p.Application, err)
		}
		p.ID = newPipelineID()
		return plan, nil
	}
	current, err := s.store.Pipelines().Get(ctx, p.ID)
	if errors.Is(err, store.ErrNotFound) {
		return plan, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", p.ID, err)
	}
	plan.prevTs, _ = strconv.ParseInt(current.UpdateTs, 10, 64)
	if current.Application != p.Application {
		return nil, badRequest("application: pipeline %s belongs to application %s; to copy it to %s, leave out its id", p.ID, current.Application, p.Application)
	}
	if staleCheck && p.UpdateTs != "" {
		if p.UpdateTs != current.UpdateTs {
			return nil, conflict("pipeline %q was saved by %s (updateTs %s) after the copy you sent was read (updateTs %s); get it again, reapply your change and save", current.Name, orUnknown(current.LastModifiedBy), current.UpdateTs, p.UpdateTs)
		}
		hist, err := s.store.Pipelines().History(ctx, p.ID)
		if err != nil {
			return nil, fmt.Errorf("history of pipeline %s: %w", p.ID, err)
		}
		plan.expect = hist[0].Version
	}
	return plan, nil
}

// authorizeSave is the one check of every pipeline save (POST and PUT
// /pipelines, the savePipeline and updatePipeline jobs, a restore): the
// saver needs WRITE on the pipeline's application — and on the stored
// one's, when it names another — and must hold the pipeline's roles and
// may name only service accounts it may use as runAsUser.
func (s *server) authorizeSave(ctx context.Context, p *model.Pipeline) error {
	id := caller(ctx)
	if err := s.allow(ctx, id, p.Application, auth.Write); err != nil {
		return err
	}
	if p.ID != "" && checkPipelineID(p.ID) == "" {
		if stored, err := s.store.Pipelines().Get(ctx, p.ID); err == nil && stored.Application != p.Application {
			if err := s.allow(ctx, id, stored.Application, auth.Write); err != nil {
				return err
			}
		}
	}
	return s.policy.CheckPipelineSave(id, p)
}

// problems lists what is wrong with a pipeline configuration, and the
// warnings: what keeps it from running here.
func (s *server) problems(ctx context.Context, p *model.Pipeline) (probs, warnings []model.Problem) {
	warnings, err := model.Check(p, s.registry)
	if err != nil {
		var verr *model.ValidationError
		if errors.As(err, &verr) {
			probs = append(probs, verr.Problems...)
		} else {
			probs = append(probs, model.Problem{Message: err.Error()})
		}
	}
	if p.Application != "" {
		if msg := checkAppName(p.Application); msg != "" {
			probs = append(probs, model.Problem{Path: "application", Message: msg})
		} else if _, err := s.store.Applications().Get(ctx, p.Application); errors.Is(err, store.ErrNotFound) {
			probs = append(probs, model.Problem{Path: "application",
				Message: fmt.Sprintf("application %q does not exist; create it first (gennaker app save %s, or spin application save)", p.Application, p.Application)})
		} else if err != nil {
			probs = append(probs, model.Problem{Path: "application", Message: fmt.Sprintf("could not be read: %v", err)})
		}
	}
	if p.ID != "" {
		if msg := checkPipelineID(p.ID); msg != "" {
			probs = append(probs, model.Problem{Path: "id", Message: msg})
		}
	}
	if msg := checkName(p.Name, maxPipelineName); msg != "" {
		probs = append(probs, model.Problem{Path: "name", Message: msg})
	}
	return probs, warnings
}

// commitSave stores a planned save and returns the new version number.
func (s *server) commitSave(ctx context.Context, plan *savePlan) (int, error) {
	p := plan.pipeline
	p.UpdateTs = strconv.FormatInt(max(s.now().UnixMilli(), plan.prevTs+1), 10)
	p.LastModifiedBy = plan.user
	v, err := s.store.Pipelines().Save(ctx, p, plan.user, plan.expect)
	if errors.Is(err, store.ErrConflict) {
		if plan.expect > 0 {
			return 0, conflict("pipeline %q was saved by someone else while this save ran; get it again, reapply your change and save", p.Name)
		}
		return 0, badRequest("name: application %s already has another pipeline named %q; choose another name", p.Application, p.Name)
	}
	if errors.Is(err, store.ErrTooLarge) {
		return 0, &Error{Status: http.StatusRequestEntityTooLarge, Err: err,
			Message: fmt.Sprintf("pipeline %q is too large to store (the limit is 400 KB per version); move large values out of the configuration", p.Name)}
	}
	if err != nil {
		return 0, fmt.Errorf("save pipeline %s: %w", p.ID, err)
	}
	return v, nil
}

// writeWarnings adds one HTTP Warning header (code 299, "miscellaneous
// persistent warning") per warning, as the Kubernetes API server does: the
// body stays the stored pipeline, unchanged, and clients that show warnings
// find them there.
func writeWarnings(w http.ResponseWriter, warnings []model.Problem) {
	for _, p := range warnings {
		w.Header().Add("Warning", "299 gennaker "+strconv.Quote(p.String()))
	}
}

// newPipelineID returns a random UUID, as Front50 assigns.
func newPipelineID() model.PipelineID {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return model.PipelineID(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

func orUnknown(s string) string {
	if s == "" {
		return "someone"
	}
	return s
}

// savePipeline answers POST /pipelines[?staleCheck=true]: it creates or
// updates a pipeline configuration and answers with what was stored.
func (s *server) savePipeline(w http.ResponseWriter, r *http.Request) error {
	staleCheck, err := boolParam(r, "staleCheck", false)
	if err != nil {
		return err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return badRequest("request body is empty; send the pipeline configuration as a JSON object")
	}
	p, err := decodePipeline(body, "")
	if err != nil {
		return err
	}
	plan, err := s.planSave(r.Context(), p, user(r), staleCheck)
	if err != nil {
		return err
	}
	v, err := s.commitSave(r.Context(), plan)
	if err != nil {
		return err
	}
	writeWarnings(w, plan.warnings)
	return writeJSON(w, http.StatusOK, withVersion(p, v))
}

// updatePipeline answers PUT /pipelines/{id}: Gate's update of an existing
// pipeline, answered with the stored configuration.
func (s *server) updatePipeline(w http.ResponseWriter, r *http.Request) error {
	id := model.PipelineID(r.PathValue("id"))
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return badRequest("request body is empty; send the pipeline configuration as a JSON object")
	}
	p, err := decodePipeline(body, "")
	if err != nil {
		return err
	}
	switch {
	case p.ID == "":
		p.ID = id
	case p.ID != id:
		return badRequest("id: the body's id %q differs from the path's %q", p.ID, id)
	}
	if _, err := s.store.Pipelines().Get(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		return notFound("pipeline %q not found; create it with POST /pipelines", id)
	} else if err != nil {
		return fmt.Errorf("pipeline %s: %w", id, err)
	}
	plan, err := s.planSave(r.Context(), p, user(r), false)
	if err != nil {
		return err
	}
	v, err := s.commitSave(r.Context(), plan)
	if err != nil {
		return err
	}
	writeWarnings(w, plan.warnings)
	return writeJSON(w, http.StatusOK, withVersion(p, v))
}

// validatePipeline answers POST /pipelines/validate (ours): the checks a
// save makes, without saving. A pipeline that fails them is answered 200
// with valid=false and every problem; only a body that is not a pipeline
// at all is a 400.
func (s *server) validatePipeline(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return badRequest("request body is empty; send the pipeline configuration as a JSON object")
	}
	p, err := decodePipeline(body, "")
	if err != nil {
		return err
	}
	p.Application = canonicalApp(string(p.Application))
	probs, warnings := s.problems(r.Context(), p)
	if probs == nil {
		probs = []model.Problem{}
	}
	if warnings == nil {
		warnings = []model.Problem{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"valid": len(probs) == 0, "runnable": len(probs) == 0 && len(warnings) == 0,
		"problems": probs, "warnings": warnings})
}

// deletePipeline answers DELETE /pipelines/{app}/{name}.
func (s *server) deletePipeline(w http.ResponseWriter, r *http.Request) error {
	app := canonicalApp(r.PathValue("app"))
	p, err := s.findPipeline(r.Context(), app, r.PathValue("name"), "")
	if err != nil {
		return err
	}
	if err := s.store.Pipelines().Delete(r.Context(), p.ID); err != nil {
		return fmt.Errorf("delete pipeline %s: %w", p.ID, err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// listPipelineConfigs answers GET /applications/{app}/pipelineConfigs.
func (s *server) listPipelineConfigs(w http.ResponseWriter, r *http.Request) error {
	app := canonicalApp(r.PathValue("app"))
	if _, err := s.application(r.Context(), app); err != nil {
		return err
	}
	list, err := s.store.Pipelines().List(r.Context(), app)
	if err != nil {
		return fmt.Errorf("pipelines of %s: %w", app, err)
	}
	if filter := strings.ToLower(r.URL.Query().Get("pipelineNameFilter")); filter != "" {
		kept := list[:0]
		for _, p := range list {
			if strings.Contains(strings.ToLower(p.Name), filter) {
				kept = append(kept, p)
			}
		}
		list = kept
	}
	if list == nil {
		list = []model.Pipeline{}
	}
	return writeJSON(w, http.StatusOK, list)
}

// listAllPipelineConfigs answers GET /pipelineConfigs: every application's
// pipelines.
func (s *server) listAllPipelineConfigs(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.store.Applications().List(r.Context())
	if err != nil {
		return fmt.Errorf("list applications: %w", err)
	}
	out := []model.Pipeline{}
	for _, a := range apps {
		if !s.canRead(r.Context(), &a) {
			continue
		}
		list, err := s.store.Pipelines().List(r.Context(), a.Name)
		if err != nil {
			return fmt.Errorf("pipelines of %s: %w", a.Name, err)
		}
		out = append(out, list...)
	}
	return writeJSON(w, http.StatusOK, out)
}

// getPipelineConfig answers GET /applications/{app}/pipelineConfigs/{name}.
func (s *server) getPipelineConfig(w http.ResponseWriter, r *http.Request) error {
	app := canonicalApp(r.PathValue("app"))
	name := r.PathValue("name")
	p, err := s.store.Pipelines().GetByName(r.Context(), app, name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("pipeline config %q not found in application %s", name, app)
	}
	if err != nil {
		return fmt.Errorf("pipeline %q of %s: %w", name, app, err)
	}
	return writeJSON(w, http.StatusOK, p)
}

// withVersion returns p as JSON with its version number added, as history
// entries carry it.
func withVersion(p *model.Pipeline, version int) *model.Pipeline {
	out := *p
	out.Extra = make(model.Extra, len(p.Extra)+1)
	for k, v := range p.Extra {
		out.Extra[k] = v
	}
	out.Extra[historyVersionKey] = json.RawMessage(strconv.Itoa(version))
	return &out
}
