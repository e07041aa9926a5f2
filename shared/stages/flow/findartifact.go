package flow

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gennaker/gennaker/shared/artifacts"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/store"
)

// FindArtifactFromExecutionStage is Spinnaker's "findArtifactFromExecution"
// stage: it binds expected artifacts to the artifacts of another
// pipeline's most recent run with one of the chosen statuses.
//
//	application, pipeline (the pipeline's id),
//	executionOptions: {successful, terminal, running},
//	expectedArtifacts: [{id, matchArtifact, defaultArtifact, useDefaultArtifact}]
//	  (or one expectedArtifact, as older pipelines have it)
//
// It outputs resolvedExpectedArtifacts and artifacts, so later stages bind
// them by id (manifestArtifactId, requiredArtifactIds).
type FindArtifactFromExecutionStage struct{}

// Type implements Definition.
func (FindArtifactFromExecutionStage) Type() string { return "findArtifactFromExecution" }

type findArtifactConfig struct {
	Application      model.ApplicationName    `json:"application"`
	Pipeline         model.PipelineID         `json:"pipeline"`
	ExecutionOptions executionOptions         `json:"executionOptions"`
	Expected         []model.ExpectedArtifact `json:"expectedArtifacts"`
	One              *model.ExpectedArtifact  `json:"expectedArtifact"`
}

type executionOptions struct {
	Successful bool `json:"successful"`
	Terminal   bool `json:"terminal"`
	Running    bool `json:"running"`
}

// statuses are the run statuses the options accept; none chosen means
// successful runs, as Deck's default.
func (o executionOptions) statuses() []model.Status {
	var out []model.Status
	if o.Successful || (!o.Terminal && !o.Running) {
		out = append(out, model.StatusSucceeded)
	}
	if o.Terminal {
		out = append(out, model.StatusTerminal)
	}
	if o.Running {
		out = append(out, model.StatusRunning)
	}
	return out
}

func (c *findArtifactConfig) expected() []model.ExpectedArtifact {
	out := append([]model.ExpectedArtifact(nil), c.Expected...)
	if c.One != nil {
		out = append(out, *c.One)
	}
	return out
}

// Validate requires the pipeline and at least one expected artifact.
func (FindArtifactFromExecutionStage) Validate(s *model.Stage) []model.Problem {
	var cfg findArtifactConfig
	exprs, p := stages.DecodeConfig(s, &cfg)
	if cfg.Pipeline == "" && !exprs.Has("pipeline") {
		p.Add("pipeline", "is required: the id of the pipeline whose run has the artifacts")
	}
	if len(cfg.expected()) == 0 && !exprs.Has("expectedArtifacts") && !exprs.Has("expectedArtifact") {
		p.Add("expectedArtifacts", "is required: the artifacts to find")
	}
	return p
}

// Config implements stages.Configurer.
func (FindArtifactFromExecutionStage) Config(s *model.StageExecution) (any, error) {
	return decodeContext(s.Context, &findArtifactConfig{})
}

// Plan implements Definition.
func (FindArtifactFromExecutionStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{FindArtifactFromExecutionTask{}.Name()}, nil
}

// FindArtifactFromExecutionTask binds the expected artifacts.
type FindArtifactFromExecutionTask struct{}

// Name implements Task.
func (FindArtifactFromExecutionTask) Name() string { return "FindArtifactFromExecution" }

// Execute implements Task.
func (FindArtifactFromExecutionTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*findArtifactConfig](run)
	if err != nil {
		return stages.Result{}, err
	}
	st := run.Services.Store
	runs, err := st.Executions().ListByPipeline(ctx, cfg.Pipeline, store.ListOptions{Limit: 1, Statuses: cfg.ExecutionOptions.statuses()})
	if err != nil {
		return stages.Result{}, fmt.Errorf("runs of pipeline %s: %w", cfg.Pipeline, err)
	}
	if len(runs) == 0 {
		return stages.Failed("pipeline %s has no run with status %v to find artifacts in", cfg.Pipeline, cfg.ExecutionOptions.statuses()), nil
	}
	found, err := st.Executions().Get(ctx, runs[0].ID)
	if err != nil {
		return stages.Result{}, fmt.Errorf("run %s: %w", runs[0].ID, err)
	}
	all := artifacts.All(found)
	var resolved []artifacts.Resolved
	var bound []model.Artifact
	for _, ea := range cfg.expected() {
		r := artifacts.Resolved{ExpectedArtifact: ea}
		for i := range all {
			if artifacts.Match(ea.MatchArtifact, &all[i]) {
				r.BoundArtifact = &all[i]
				break
			}
		}
		if r.BoundArtifact == nil && ea.UseDefaultArtifact && ea.DefaultArtifact != nil {
			r.BoundArtifact = ea.DefaultArtifact
		}
		if r.BoundArtifact == nil {
			name := ea.DisplayName
			if name == "" {
				name = ea.ID
			}
			return stages.Failed("run %s of pipeline %s has no artifact that matches expected artifact %q", found.ID, cfg.Pipeline, name), nil
		}
		resolved = append(resolved, r)
		bound = append(bound, *r.BoundArtifact)
	}
	res := stages.Succeeded()
	res.Outputs = map[string]any{"resolvedExpectedArtifacts": asJSONValue(resolved), "artifacts": asJSONValue(bound)}
	return res, nil
}

// asJSONValue is v as the generic JSON value a stage's outputs hold.
func asJSONValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}
