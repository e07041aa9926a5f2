package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/flow"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// A deploy runs other pipelines in two places: a custom strategy runs its
// strategy pipeline instead of creating a server group itself, and a
// rolling red/black runs its pipelineBeforeCleanup after each step. Both
// use the pipeline stage's machinery (Services.Pipelines, MonitorPipeline).

// childPipeline is a pipeline a deploy runs.
type childPipeline struct {
	Application string
	PipelineID  string
	Parameters  map[string]any
	// Key tells apart the children one stage attempt starts (a rolling
	// red/black runs one per step); a retried task with the same key finds
	// the run the first try started.
	Key string
}

// childTrigger is what Spinnaker's pipeline trigger of a child run holds
// besides the fields every trigger has.
type childTrigger struct {
	ParentPipelineID          model.ExecutionID     `json:"parentPipelineId"`
	ParentPipelineName        string                `json:"parentPipelineName"`
	ParentPipelineApplication model.ApplicationName `json:"parentPipelineApplication"`
	IsPipeline                bool                  `json:"isPipeline"`
	// Strategy says a custom strategy started the child.
	Strategy bool `json:"strategy"`
}

// startChildPipeline triggers the child as the pipeline stage does, with
// the pipeline trigger Spinnaker gives a child run.
func startChildPipeline(ctx context.Context, run *stages.Run, c childPipeline) (model.ExecutionID, string, error) {
	pipelines, err := flow.PipelinesOf(run)
	if err != nil {
		return "", "", err
	}
	parent := run.Execution
	// The pipeline trigger's fields beyond the typed ones, as Spinnaker
	// sets them on a child run.
	b, err := json.Marshal(childTrigger{
		ParentPipelineID:          parent.ID,
		ParentPipelineName:        parent.Name,
		ParentPipelineApplication: parent.Application,
		IsPipeline:                true,
		Strategy:                  c.Parameters["strategy"] == true,
	})
	if err != nil {
		return "", "", fmt.Errorf("pipeline trigger: %w", err)
	}
	extra := model.Extra{}
	if err := json.Unmarshal(b, &extra); err != nil {
		return "", "", fmt.Errorf("pipeline trigger: %w", err)
	}
	id, err := pipelines.Trigger(ctx, stages.TriggerRequest{
		Application: model.ApplicationName(c.Application),
		PipelineID:  model.PipelineID(c.PipelineID),
		Trigger: model.ExecutionTrigger{
			Type:              "pipeline",
			User:              parent.Trigger.User,
			Parameters:        c.Parameters,
			ParentExecutionID: parent.ID,
			ParentStageID:     run.Stage.ID,
			Extra:             extra,
		},
		IdempotencyKey: fmt.Sprintf("%s/%s/%d/%s", parent.ID, run.Stage.ID, run.Stage.Orchestration.Attempt, c.Key),
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", "", fmt.Errorf("pipeline %s of application %s was not found: %w", c.PipelineID, c.Application, err)
	}
	if err != nil {
		return "", "", fmt.Errorf("start pipeline %s of application %s: %w", c.PipelineID, c.Application, err)
	}
	name := ""
	if child, err := pipelines.Get(ctx, id); err == nil {
		name = child.Name
	}
	return id, name, nil
}

// watchChildPipeline looks at the child once, as MonitorPipeline does: it
// is RUNNING until the child ends, then takes on its outcome and outputs.
func watchChildPipeline(ctx context.Context, run *stages.Run, id string) (stages.Result, error) {
	return pollBriefly(ctx, run, func() (stages.Result, error) {
		return flow.MonitorPipelineTask{PollInterval: deployPollBackoff}.Monitor(ctx, run, model.ExecutionID(id))
	})
}

// cancelChildPipeline cancels the child when the deploy is canceled.
func cancelChildPipeline(ctx context.Context, run *stages.Run, id string) error {
	if id == "" {
		return nil
	}
	return flow.MonitorPipelineTask{}.CancelChild(ctx, run, model.ExecutionID(id))
}

// resultErrors returns a failed result's messages.
func resultErrors(r stages.Result) []string {
	return stages.Errors(r.Context)
}
