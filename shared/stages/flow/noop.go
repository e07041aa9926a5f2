package flow

import (
	"context"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
)

// NoopStage is Spinnaker's "noop" stage: it does nothing and succeeds, which
// is useful to join branches or to hold a place in a pipeline.
type NoopStage struct{}

// Type implements Definition.
func (NoopStage) Type() string { return "noop" }

// Validate implements Definition; a noop stage has no fields of its own.
func (NoopStage) Validate(*model.Stage) []model.Problem { return nil }

// Plan implements Definition.
func (NoopStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{DoNothingTask{}.Name()}, nil
}

// DoNothingTask succeeds at once.
type DoNothingTask struct{}

// Name implements Task.
func (DoNothingTask) Name() string { return "DoNothing" }

// Execute implements Task.
func (DoNothingTask) Execute(context.Context, *stages.Run) (stages.Result, error) {
	return stages.Succeeded(), nil
}
