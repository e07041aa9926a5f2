package flow

import (
	"context"
	"strings"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
)

// EvaluateVariablesStage is Spinnaker's "evaluateVariables" stage: it
// publishes named values for later stages.
//
//	variables: [{key, value, description}]
//
// The values arrive evaluated; each key becomes a stage output, so later
// stages read it as ${key} or ${#stage('name').outputs.key}.
type EvaluateVariablesStage struct{}

// Type implements Definition.
func (EvaluateVariablesStage) Type() string { return "evaluateVariables" }

// evaluateVariablesConfig is an evaluateVariables stage's configuration.
type evaluateVariablesConfig struct {
	Variables []variable `json:"variables"`
}

// variable is one named value; Value is any JSON value, kept as it came.
// Its description is for people and stays in the context unread.
type variable struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// Validate requires every variable to have a non-empty key, used once.
func (EvaluateVariablesStage) Validate(s *model.Stage) []model.Problem {
	var cfg evaluateVariablesConfig
	_, p := stages.DecodeConfig(s, &cfg)
	if problemAt(p, "variables") && len(cfg.Variables) == 0 {
		return p
	}
	first := map[string]int{}
	for i, v := range cfg.Variables {
		path := stages.Path("variables", i, "key")
		switch {
		case problemAt(p, stages.Path("variables", i)):
		case strings.TrimSpace(v.Key) == "":
			p.Add(path, "is required")
		default:
			if j, dup := first[v.Key]; dup {
				p.Add(path, "%q is already used by variables[%d]", v.Key, j)
				continue
			}
			first[v.Key] = i
		}
	}
	return p
}

// Config implements stages.Configurer.
func (EvaluateVariablesStage) Config(s *model.StageExecution) (any, error) {
	return decodeContext(s.Context, &evaluateVariablesConfig{})
}

// Plan implements Definition.
func (EvaluateVariablesStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{EvaluateVariablesTask{}.Name()}, nil
}

// EvaluateVariablesTask publishes each variable as an output.
type EvaluateVariablesTask struct{}

// Name implements Task.
func (EvaluateVariablesTask) Name() string { return "EvaluateVariables" }

// Execute implements Task. Like orca it skips variables without a key, and a
// later variable with the same key wins.
func (EvaluateVariablesTask) Execute(_ context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*evaluateVariablesConfig](run)
	if err != nil {
		return stages.Result{}, err
	}
	outputs := make(map[string]any, len(cfg.Variables))
	for _, v := range cfg.Variables {
		if v.Key != "" {
			outputs[v.Key] = v.Value
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: outputs}, nil
}

var _ stages.Configurer = EvaluateVariablesStage{}
