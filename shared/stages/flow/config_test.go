package flow

import (
	"context"
	"testing"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

// definitionOf names the stage type each task of the family runs for.
var definitionOf = map[string]stages.Definition{
	WaitTask{}.Name():               WaitStage{},
	WaitForJudgmentTask{}.Name():    ManualJudgmentStage{},
	CheckPreconditionsTask{}.Name(): CheckPreconditionsStage{},
	EvaluateVariablesTask{}.Name():  EvaluateVariablesStage{},
	StartPipelineTask{}.Name():      PipelineStage{},
	MonitorPipelineTask{}.Name():    PipelineStage{},
	CreateWebhookTask{}.Name():      WebhookStage{},
	MonitorWebhookTask{}.Name():     WebhookStage{},
	DoNothingTask{}.Name():          NoopStage{},
}

// configure decodes the stage's configuration into run.Config as the
// orchestrator does before each task call. A configuration that cannot be
// decoded fails the stage with its problems, as the orchestrator fails it.
func configure(task stages.Task, run *stages.Run) *stages.Result {
	run.Config = nil
	c, ok := definitionOf[task.Name()].(stages.Configurer)
	if !ok {
		return nil
	}
	cfg, err := c.Config(run.Stage)
	if err != nil {
		r := stages.Failed("%v", err)
		return &r
	}
	run.Config = cfg
	return nil
}

// execute calls a task as the orchestrator does.
func execute(task stages.Task, run *stages.Run) (stages.Result, error) {
	if failed := configure(task, run); failed != nil {
		return *failed, nil
	}
	return task.Execute(context.Background(), run)
}

// cancel cancels a task as the orchestrator does.
func cancel(c stages.Canceler, run *stages.Run) (map[string]any, error) {
	if failed := configure(c.(stages.Task), run); failed != nil {
		return nil, nil // the orchestrator skips the cancel
	}
	return c.Cancel(context.Background(), run)
}

// Every task of a stage type with a configuration finds it in its run,
// even when the stage sets nothing.
func TestEveryTaskWithAConfigurationGetsIt(t *testing.T) {
	r := stages.NewRegistry()
	RegisterFlowControl(r)
	for name, def := range definitionOf {
		if _, ok := def.(stages.Configurer); !ok {
			continue
		}
		task, err := r.Task(name)
		if err != nil {
			t.Fatal(err)
		}
		run := stagestest.NewRun(nil)
		if failed := configure(task, run); failed != nil {
			t.Errorf("%s: an empty context does not decode: %v", name, stagestest.ErrorsOf(*failed))
		}
		if run.Config == nil {
			t.Errorf("%s: no configuration decoded", name)
		}
	}
}

func TestATaskWithoutItsConfigurationSaysSo(t *testing.T) {
	run := stagestest.NewRun(map[string]any{"waitTime": 5.0})
	_, err := WaitTask{}.Execute(context.Background(), run)
	if err == nil {
		t.Fatal("a wait task ran without its configuration; want an error naming the stage")
	}
}

func TestProblemAt(t *testing.T) {
	p := stages.Problems{{Path: "clusters[0].min", Message: "must be a number"}}
	for path, want := range map[string]bool{
		"clusters":        true,
		"clusters[0]":     true,
		"clusters[0].min": true,
		"clusters[1]":     false,
		"clustersX":       false,
		"min":             false,
	} {
		if got := problemAt(p, path); got != want {
			t.Errorf("problemAt(%q) = %v, want %v", path, got, want)
		}
	}
}
