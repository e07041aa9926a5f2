package orchestration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/store"
)

// ErrPipelineDisabled: a disabled pipeline was asked to run.
var ErrPipelineDisabled = errors.New("pipeline is disabled")

// TriggerError says why a trigger was refused: what the caller must fix.
type TriggerError struct {
	Problems []model.Problem
}

func (e *TriggerError) Error() string {
	return (&model.ValidationError{Problems: e.Problems}).Error()
}

// Trigger starts a run of a stored pipeline configuration. It checks the
// parameters against the pipeline's parameterConfig (applying defaults),
// refuses a disabled pipeline, stores the run with all its stages, and
// starts the pipeline state machine named after the run.
func (o *Orchestrator) Trigger(ctx context.Context, req stages.TriggerRequest) (model.ExecutionID, error) {
	p, err := o.store.Pipelines().Get(ctx, req.PipelineID)
	if err != nil {
		return "", fmt.Errorf("pipeline %s: %w", req.PipelineID, err)
	}
	if req.Application != "" && p.Application != req.Application {
		return "", fmt.Errorf("pipeline %s of application %s: %w", req.PipelineID, req.Application, store.ErrNotFound)
	}
	if parentID := req.Trigger.ParentExecutionID; parentID != "" {
		// A child run acts as the stage that starts it — its run's
		// identity, or whoever restarted it — so that a pipeline stage
		// cannot reach what its runner may not.
		parent, err := o.store.Executions().Get(ctx, parentID)
		if err != nil {
			return "", fmt.Errorf("parent execution %s: %w", parentID, err)
		}
		ctx = auth.WithIdentity(ctx, RunIdentity(parent, parent.StageByID(req.Trigger.ParentStageID)))
	}
	return o.TriggerPipeline(ctx, p, req.Trigger, req.IdempotencyKey)
}

// TriggerPipeline starts a run of the given configuration. The run acts as
// the identity ctx carries (auth.WithIdentity): the API's caller, or the
// service account an automated trigger runs as (auth.Policy's
// AutomatedIdentity); without one it acts as an anonymous user with no
// roles.
func (o *Orchestrator) TriggerPipeline(ctx context.Context, p *model.Pipeline, trigger model.ExecutionTrigger, idempotencyKey string) (model.ExecutionID, error) {
	if p.Disabled {
		return "", fmt.Errorf("pipeline %q of %s: %w; enable it before running it", p.Name, p.Application, ErrPipelineDisabled)
	}
	warnings, err := model.Check(p, o.registry)
	if err != nil {
		return "", fmt.Errorf("pipeline %q of %s is invalid: %w", p.Name, p.Application, err)
	}
	if len(warnings) > 0 {
		return "", fmt.Errorf("pipeline %q of %s: %w", p.Name, p.Application, &model.CannotRunError{Problems: warnings})
	}
	params, probs := resolveParameters(p.ParameterConfig, trigger.Parameters)
	if len(probs) > 0 {
		return "", &TriggerError{Problems: probs}
	}
	trigger.Parameters = params
	if trigger.Type == "" {
		trigger.Type = "manual"
	}
	e, err := o.newExecution(p, trigger, idempotencyKey)
	if err != nil {
		return "", err
	}
	if id, ok := auth.FromContext(ctx); ok {
		e.Orchestration.RunAs = runAsOf(id)
	}
	id := e.ID
	if err := o.store.Executions().Create(ctx, e); err != nil {
		if idempotencyKey != "" && errors.Is(err, store.ErrConflict) {
			return id, o.startPipelineMachine(ctx, id, 1)
		}
		return "", fmt.Errorf("store execution of %q: %w", p.Name, err)
	}
	if err := o.reserveSlot(ctx, e); err != nil {
		// The run still queues for a slot when its machine arrives.
		o.log.WarnContext(ctx, "reserve concurrency slot", "executionId", id, "error", err)
	}
	if err := o.startPipelineMachine(ctx, id, 1); err != nil {
		// Nothing runs this execution: record why rather than leave it waiting.
		_, _ = o.updateHeader(ctx, id, func(h *model.Execution) (bool, error) {
			h.Status = model.StatusTerminal
			h.EndTime = o.nowMs()
			h.Orchestration.Finalized = true
			return true, nil
		})
		return "", fmt.Errorf("start execution %s of %q: %w", id, p.Name, err)
	}
	return id, nil
}

// newExecution builds a run of p, every stage NOT_STARTED.
func (o *Orchestrator) newExecution(p *model.Pipeline, trigger model.ExecutionTrigger, idempotencyKey string) (*model.Execution, error) {
	id := model.ExecutionID(o.newID())
	if idempotencyKey != "" {
		sum := sha256.Sum256([]byte(idempotencyKey))
		id = model.ExecutionID("x" + strings.ToUpper(hex.EncodeToString(sum[:]))[:25])
	}
	now := o.nowMs()
	e := &model.Execution{
		ID:                      id,
		Type:                    "PIPELINE",
		Application:             p.Application,
		Name:                    p.Name,
		PipelineConfigID:        p.ID,
		Status:                  model.StatusNotStarted,
		BuildTime:               now,
		Trigger:                 trigger,
		LimitConcurrent:         p.LimitsConcurrency(),
		MaxConcurrentExecutions: p.MaxConcurrentExecutions,
		KeepWaitingPipelines:    p.KeepWaitingPipelines,
		Notifications:           p.Notifications,
		SpelEvaluator:           p.SpelEvaluator,
		Origin:                  "api",
		Orchestration:           model.Orchestration{Attempt: 1},
	}
	stages := p.RunStages()
	for i := range stages {
		cfg, err := stages[i].Config()
		if err != nil {
			return nil, err
		}
		if init, ok := o.initializerOf(stages[i].Type); ok {
			cfg = init.Initialize(cfg)
		}
		reqs := stages[i].RequisiteStageRefIDs
		if reqs == nil {
			reqs = []string{}
		}
		parent := o.newStage(stages[i].RefID, stages[i].Type, stages[i].Name, cfg, reqs)
		// A stage that runs as several (a deploy of several clusters) gets
		// its parts as synthetic stages that start where it would have
		// started; it runs once they all have.
		if x, ok := o.expanderOf(stages[i].Type); ok {
			var parts []string
			for j, syn := range x.Expand(&stages[i]) {
				child := o.newStage(fmt.Sprintf("%s<%d", parent.RefID, j+1), syn.Type, syn.Name, syn.Context, reqs)
				child.ParentStageID = parent.ID
				child.SyntheticStageOwner = "STAGE_BEFORE"
				e.Stages = append(e.Stages, child)
				parts = append(parts, child.RefID)
			}
			if parts != nil {
				parent.RequisiteStageRefIDs = parts
			}
		}
		e.Stages = append(e.Stages, parent)
	}
	return e, nil
}

// newStage is a stage of a new run, NOT_STARTED.
func (o *Orchestrator) newStage(refID, typ, name string, cfg map[string]any, reqs []string) model.StageExecution {
	return model.StageExecution{
		ID:                   model.StageID(o.newID()),
		RefID:                refID,
		Type:                 typ,
		Name:                 name,
		Status:               model.StatusNotStarted,
		Context:              cfg,
		Outputs:              map[string]any{},
		Tasks:                []model.TaskExecution{},
		RequisiteStageRefIDs: reqs,
		Orchestration:        model.StageOrchestration{Attempt: 1, Config: cfg},
	}
}

// expanderOf returns the definition of a stage type that runs as several
// stages.
func (o *Orchestrator) expanderOf(typ string) (stages.Expander, bool) {
	def, err := o.registry.Definition(typ)
	if err != nil {
		return nil, false
	}
	x, ok := def.(stages.Expander)
	return x, ok
}

// initializerOf returns the definition of a stage type that supplies its
// stages' initial context.
func (o *Orchestrator) initializerOf(typ string) (stages.Initializer, bool) {
	def, err := o.registry.Definition(typ)
	if err != nil {
		return nil, false
	}
	init, ok := def.(stages.Initializer)
	return init, ok
}

func (o *Orchestrator) startPipelineMachine(ctx context.Context, id model.ExecutionID, attempt int) error {
	name := string(id)
	if attempt > 1 {
		name = fmt.Sprintf("%s-a%d", id, attempt)
	}
	input, _ := json.Marshal(map[string]any{"executionId": id, "attempt": attempt})
	_, err := o.engine.StartExecution(ctx, o.machines.Pipeline, name, input)
	return err
}

// resolveParameters applies defaults and checks required parameters and
// options, as Spinnaker does when a pipeline is triggered.
func resolveParameters(cfg []model.Parameter, given map[string]any) (map[string]any, []model.Problem) {
	out := map[string]any{}
	for k, v := range given {
		out[k] = v
	}
	var probs []model.Problem
	for i, p := range cfg {
		v, ok := out[p.Name]
		if !ok || v == nil || v == "" {
			if p.Default != nil && p.Default != "" {
				out[p.Name] = p.Default
				continue
			}
			if p.Required {
				probs = append(probs, model.Problem{
					Path:    "parameters." + p.Name,
					Message: fmt.Sprintf("required parameter %q has no value (parameterConfig[%d])", p.Name, i),
				})
			}
			if !ok {
				out[p.Name] = nil
			}
			continue
		}
		if p.HasOptions && len(p.Options) > 0 {
			allowed := make([]string, 0, len(p.Options))
			match := false
			for _, opt := range p.Options {
				allowed = append(allowed, fmt.Sprint(opt.Value))
				if reflect.DeepEqual(opt.Value, v) || fmt.Sprint(opt.Value) == fmt.Sprint(v) {
					match = true
				}
			}
			if !match {
				probs = append(probs, model.Problem{
					Path:    "parameters." + p.Name,
					Message: fmt.Sprintf("%v is not one of the options of %q: %s", v, p.Name, strings.Join(allowed, ", ")),
				})
			}
		}
	}
	return out, probs
}

// Get returns a run with its stages.
func (o *Orchestrator) Get(ctx context.Context, id model.ExecutionID) (*model.Execution, error) {
	return o.store.Executions().Get(ctx, id)
}

// runAsOf is the record of an identity a run acts as.
func runAsOf(id auth.Identity) *model.RunAs {
	return &model.RunAs{User: id.Name, Roles: append([]string(nil), id.Roles...)}
}

// identityOf is the identity a run's record names; nil is anonymous.
func identityOf(r *model.RunAs) auth.Identity {
	if r == nil {
		return auth.Identity{Name: auth.AnonymousUser}
	}
	return auth.Identity{Name: r.User, Roles: append([]string(nil), r.Roles...)}
}

// RunIdentity is the identity a stage acts as: whoever restarted it, else
// its run's.
func RunIdentity(e *model.Execution, s *model.StageExecution) auth.Identity {
	if s != nil && s.Orchestration.RunAs != nil {
		return identityOf(s.Orchestration.RunAs)
	}
	return identityOf(e.Orchestration.RunAs)
}
