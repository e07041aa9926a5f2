package flow

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// PipelineStage is Spinnaker's "pipeline" stage: it runs another pipeline
// and, unless waitForCompletion is false, waits for it and takes on its
// outcome and outputs.
//
//	application, pipeline (config id), pipelineParameters, waitForCompletion
type PipelineStage struct{}

// Type implements Definition.
func (PipelineStage) Type() string { return "pipeline" }

// pipelineConfig is a pipeline stage's configuration, plus the child run
// StartPipeline recorded.
type pipelineConfig struct {
	// Application is Deck's name for the child's application;
	// PipelineApplication, when set, wins (Spinnaker's API form).
	Application         string         `json:"application"`
	PipelineApplication string         `json:"pipelineApplication"`
	Pipeline            string         `json:"pipeline"`
	PipelineParameters  map[string]any `json:"pipelineParameters"`
	// WaitForCompletion nil means wait.
	WaitForCompletion *bool `json:"waitForCompletion"`
	// ExecutionID is the child run, once started.
	ExecutionID model.ExecutionID `json:"executionId"`
}

// Validate requires the application and pipeline to run.
func (PipelineStage) Validate(s *model.Stage) []model.Problem {
	var cfg pipelineConfig
	exprs, p := stages.DecodeConfig(s, &cfg)
	for i, pr := range p {
		if pr.Path == "pipelineParameters" && strings.HasPrefix(pr.Message, "must be an object") {
			p[i].Message = "must be an object of parameter names to values" + strings.TrimPrefix(pr.Message, "must be an object")
		}
	}
	switch {
	case exprs.Has("application") || problemAt(p, "application"):
	case cfg.Application == "" && cfg.PipelineApplication == "":
		p.Add("application", "is required (the application of the pipeline to run)")
	}
	switch {
	case exprs.Has("pipeline") || problemAt(p, "pipeline"):
	case cfg.Pipeline == "":
		p.Add("pipeline", "is required (the id of the pipeline to run)")
	}
	return p
}

// Config implements stages.Configurer.
func (PipelineStage) Config(s *model.StageExecution) (any, error) {
	return decodeContext(s.Context, &pipelineConfig{})
}

// Plan starts the child and, unless waitForCompletion is false, monitors it.
func (PipelineStage) Plan(s *model.StageExecution) ([]string, error) {
	cfg, err := decodeContext(s.Context, &pipelineConfig{})
	if err != nil {
		return nil, err
	}
	tasks := []string{StartPipelineTask{}.Name()}
	if cfg.WaitForCompletion == nil || *cfg.WaitForCompletion {
		tasks = append(tasks, MonitorPipelineTask{}.Name())
	}
	return tasks, nil
}

// StartPipelineTask triggers the child pipeline and records its id
// (executionId) and name (executionName) in the stage context.
type StartPipelineTask struct{}

// Name implements Task.
func (StartPipelineTask) Name() string { return "StartPipeline" }

// Execute implements Task. The trigger request is keyed by the parent run,
// this stage and the stage's attempt, so a retried task finds the child the
// first try started, while a restarted stage starts a new child.
func (StartPipelineTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	pipelines, err := PipelinesOf(run)
	if err != nil {
		return stages.Result{}, err
	}
	cfg, err := stages.ConfigOf[*pipelineConfig](run)
	if err != nil {
		return stages.Result{}, err
	}
	app := cmp.Or(cfg.PipelineApplication, cfg.Application)
	if app == "" {
		app = string(run.Execution.Application)
	}
	pipelineID := cfg.Pipeline
	if pipelineID == "" {
		return stages.Failed("pipeline is required (the id of the pipeline to run)"), nil
	}
	params := cfg.PipelineParameters
	if params == nil {
		params = map[string]any{}
	}

	parent := run.Execution
	b, err := json.Marshal(parentTrigger{
		ParentPipelineID:          parent.ID,
		ParentPipelineName:        parent.Name,
		ParentPipelineApplication: parent.Application,
		IsPipeline:                true,
	})
	if err != nil {
		return stages.Result{}, fmt.Errorf("pipeline trigger: %w", err)
	}
	var extra model.Extra
	if err := json.Unmarshal(b, &extra); err != nil {
		return stages.Result{}, fmt.Errorf("pipeline trigger: %w", err)
	}
	req := stages.TriggerRequest{
		Application: model.ApplicationName(app),
		PipelineID:  model.PipelineID(pipelineID),
		Trigger: model.ExecutionTrigger{
			Type:              "pipeline",
			User:              parent.Trigger.User,
			Parameters:        params,
			ParentExecutionID: parent.ID,
			ParentStageID:     run.Stage.ID,
			Extra:             extra,
		},
		IdempotencyKey: fmt.Sprintf("%s/%s/%d", parent.ID, run.Stage.ID, run.Stage.Orchestration.Attempt),
	}
	childID, err := pipelines.Trigger(ctx, req)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return stages.Failed("pipeline %s of application %s was not found: %v", pipelineID, app, err), nil
	case err != nil:
		return stages.Failed("start pipeline %s of application %s: %v", pipelineID, app, err), nil
	}
	out := childStarted{ExecutionID: childID}
	// The name is for people; a failed read must not fail the stage.
	if child, err := pipelines.Get(ctx, childID); err == nil {
		out.ExecutionName = child.Name
	}
	return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(out)}, nil
}

// childStarted is what StartPipeline records, as orca's pipeline stage does:
// the child run, for MonitorPipeline and for people.
type childStarted struct {
	ExecutionID   model.ExecutionID `json:"executionId"`
	ExecutionName string            `json:"executionName,omitempty"`
}

// parentTrigger is how Spinnaker's pipeline trigger names the parent run,
// in the trigger's extra fields.
type parentTrigger struct {
	ParentPipelineID          model.ExecutionID     `json:"parentPipelineId"`
	ParentPipelineName        string                `json:"parentPipelineName"`
	ParentPipelineApplication model.ApplicationName `json:"parentPipelineApplication"`
	IsPipeline                bool                  `json:"isPipeline"`
}

// MonitorPipelineTask polls the child run until it completes. The stage then
// takes on the child's outcome: SUCCEEDED, CANCELED, or TERMINAL with the
// errors of the child's failed stages; and, as orca does, the child's stage
// outputs become this stage's outputs.
type MonitorPipelineTask struct {
	// PollInterval is the backoff between polls; 0 means 2 seconds.
	PollInterval time.Duration
}

// Name implements Task.
func (MonitorPipelineTask) Name() string { return "MonitorPipeline" }

// Timeout is Spinnaker's: twelve hours unless the stage sets stageTimeoutMs.
func (MonitorPipelineTask) Timeout(s *model.StageExecution) time.Duration {
	return stages.OverridableTimeout(s, 12*time.Hour)
}

// Execute implements Task.
func (t MonitorPipelineTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*pipelineConfig](run)
	if err != nil {
		return stages.Result{}, err
	}
	return t.Monitor(ctx, run, cfg.ExecutionID)
}

// Monitor reports on the child run id of the stage run is: RUNNING until it
// completes, then its outcome as the pipeline stage reports it. Stages of
// other types that start a child pipeline (a deploy's custom strategy) use
// it too.
func (t MonitorPipelineTask) Monitor(ctx context.Context, run *stages.Run, id model.ExecutionID) (stages.Result, error) {
	pipelines, err := PipelinesOf(run)
	if err != nil {
		return stages.Result{}, err
	}
	if id == "" {
		return stages.Failed("no child pipeline execution to monitor (executionId is not set)"), nil
	}
	child, err := pipelines.Get(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return stages.Failed("child pipeline execution %s was not found", id), nil
	case err != nil:
		// A failed read is not the child's failure; look again.
		return stages.Running(t.interval()), nil
	}
	if !child.Status.IsComplete() {
		return stages.Running(t.interval()), nil
	}

	out := stages.Record(childFinished{Status: child.Status})
	outputs := childOutputs(child)
	switch {
	case child.Status == model.StatusSucceeded:
		return stages.Result{Status: model.StatusSucceeded, Context: out, Outputs: outputs}, nil
	case child.Status == model.StatusCanceled:
		r := stages.FailedWith(out, "child pipeline %s was canceled%s", describeChild(child), byWhom(child.CanceledBy))
		r.Status = model.StatusCanceled
		r.Outputs = outputs
		return r, nil
	case child.Status.IsHalt():
		r := childFailure(child)
		for k, v := range out {
			r.Context[k] = v
		}
		r.Outputs = outputs
		return r, nil
	default:
		// FAILED_CONTINUE or SKIPPED: the child ended without halting.
		return stages.Result{Status: model.StatusSucceeded, Context: out, Outputs: outputs}, nil
	}
}

// childFinished is what MonitorPipeline records of a completed child run,
// as orca's pipeline stage does.
type childFinished struct {
	Status model.Status `json:"status"`
}

// Cancel cancels the child run when the parent is canceled.
func (t MonitorPipelineTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	cfg, err := stages.ConfigOf[*pipelineConfig](run)
	if err != nil {
		return nil, err
	}
	return nil, t.CancelChild(ctx, run, cfg.ExecutionID)
}

// CancelChild cancels the child run id of the stage run is, because run was
// canceled. No child (an empty id) is nothing to cancel.
func (MonitorPipelineTask) CancelChild(ctx context.Context, run *stages.Run, id model.ExecutionID) error {
	if id == "" {
		return nil
	}
	pipelines, err := PipelinesOf(run)
	if err != nil {
		return err
	}
	user := run.Execution.CanceledBy
	if user == "" {
		user = "parent pipeline"
	}
	reason := fmt.Sprintf("parent pipeline %s was canceled", run.Execution.ID)
	if err := pipelines.Cancel(ctx, id, user, reason); err != nil {
		return fmt.Errorf("cancel child pipeline execution %s: %w", id, err)
	}
	return nil
}

func (t MonitorPipelineTask) interval() time.Duration {
	if t.PollInterval > 0 {
		return t.PollInterval
	}
	return 2 * time.Second
}

// childFailure is a TERMINAL result naming the child run and the stage that
// halted it, with each failed stage's errors as orca words them.
func childFailure(child *model.Execution) stages.Result {
	var failed *model.StageExecution
	index := -1
	var errs []string
	for i := range child.Stages {
		s := &child.Stages[i]
		if s.Status != model.StatusTerminal && s.Status != model.StatusStopped {
			continue
		}
		if failed == nil || (failed.Status != model.StatusTerminal && s.Status == model.StatusTerminal) {
			failed, index = s, i
		}
		for _, msg := range stages.Errors(s.Context) {
			errs = append(errs, fmt.Sprintf("Exception in child pipeline stage (%s: %s): %s", child.Name, stageLabel(s), msg))
		}
	}
	summary := fmt.Sprintf("child pipeline %s is %s", describeChild(child), child.Status)
	if failed != nil {
		summary += fmt.Sprintf("; stage %q failed", stageLabel(failed))
	}
	r := stages.Failed("%s", summary)
	stages.SetErrors(r.Context, append([]string{summary}, errs...))
	if failed != nil {
		r.Context["exception"].(map[string]any)["source"] = stages.Record(exceptionSource{
			ExecutionID: string(child.ID),
			StageID:     string(failed.ID),
			StageName:   failed.Name,
			StageIndex:  index,
		})
	}
	return r
}

// exceptionSource is orca's exception.source: the child run's stage whose
// failure failed the pipeline stage.
type exceptionSource struct {
	ExecutionID string `json:"executionId"`
	StageID     string `json:"stageId"`
	StageName   string `json:"stageName"`
	// StageIndex is the stage's place in the child run's stages.
	StageIndex int `json:"stageIndex"`
}

func stageLabel(s *model.StageExecution) string {
	if s.Name != "" {
		return s.Name
	}
	return s.Type
}

func describeChild(child *model.Execution) string {
	if child.Name == "" {
		return fmt.Sprintf("execution %s", child.ID)
	}
	return fmt.Sprintf("%q (execution %s)", child.Name, child.ID)
}

// childOutputs merges the outputs of the child's top-level stages in
// dependency order, as orca's execution context does: a later stage's value
// wins, except that two lists are joined without duplicates.
func childOutputs(child *model.Execution) map[string]any {
	out := map[string]any{}
	for _, s := range topLevelInOrder(child.Stages) {
		for k, v := range s.Outputs {
			prev, seen := out[k]
			pl, prevIsList := prev.([]any)
			vl, isList := v.([]any)
			if seen && prevIsList && isList {
				out[k] = joinDistinct(pl, vl)
				continue
			}
			out[k] = v
		}
	}
	return out
}

// topLevelInOrder sorts top-level stages so each follows its requisites,
// keeping the stored order among stages that are ready together.
func topLevelInOrder(stages []model.StageExecution) []*model.StageExecution {
	var pending []*model.StageExecution
	for i := range stages {
		if stages[i].ParentStageID == "" {
			pending = append(pending, &stages[i])
		}
	}
	done := map[string]bool{}
	var sorted []*model.StageExecution
	for len(pending) > 0 {
		var next []*model.StageExecution
		var ready []*model.StageExecution
		for _, s := range pending {
			ok := true
			for _, req := range s.RequisiteStageRefIDs {
				ok = ok && done[req]
			}
			if ok {
				ready = append(ready, s)
			} else {
				next = append(next, s)
			}
		}
		if len(ready) == 0 {
			// Broken requisites: keep the stored order rather than lose outputs.
			return append(sorted, next...)
		}
		for _, s := range ready {
			done[s.RefID] = true
		}
		sorted, pending = append(sorted, ready...), next
	}
	return sorted
}

func joinDistinct(a, b []any) []any {
	out := make([]any, 0, len(a)+len(b))
	for _, v := range append(append([]any{}, a...), b...) {
		dup := false
		for _, have := range out {
			if reflect.DeepEqual(have, v) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

func PipelinesOf(run *stages.Run) (stages.Pipelines, error) {
	if run.Services == nil || run.Services.Pipelines == nil {
		return nil, errors.New("the pipeline stage needs Services.Pipelines, which this runtime did not provide")
	}
	if run.Execution == nil {
		return nil, errors.New("the pipeline stage needs the parent execution")
	}
	return run.Services.Pipelines, nil
}

var (
	_ stages.Configurer  = PipelineStage{}
	_ stages.Canceler    = MonitorPipelineTask{}
	_ stages.TimeoutTask = MonitorPipelineTask{}
)
