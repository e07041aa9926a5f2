package flow

import (
	"context"
	"fmt"
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

// Validate requires every variable to have a non-empty key, used once.
func (EvaluateVariablesStage) Validate(s *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(s, &p)
	vars, err := variableList(cfg)
	if err != nil {
		p.AddErr(err)
		return p
	}
	first := map[string]int{}
	for i, v := range vars {
		path := fmt.Sprintf("variables[%d].key", i)
		key, ok := v["key"].(string)
		switch {
		case v["key"] != nil && !ok:
			p.Add(path, "must be a string, not %s", stages.Describe(v["key"]))
		case strings.TrimSpace(key) == "":
			p.Add(path, "is required")
		default:
			if j, dup := first[key]; dup {
				p.Add(path, "%q is already used by variables[%d]", key, j)
				continue
			}
			first[key] = i
		}
	}
	return p
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
	vars, err := variableList(run.Stage.Context)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	outputs := make(map[string]any, len(vars))
	for _, v := range vars {
		if key, ok := v["key"].(string); ok && key != "" {
			outputs[key] = v["value"]
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: outputs}, nil
}

func variableList(ctx map[string]any) ([]map[string]any, error) {
	v, ok := stages.Lookup(ctx, "variables")
	if !ok {
		return nil, nil
	}
	items, isList := v.([]any)
	if !isList {
		return nil, fmt.Errorf("variables: must be a list of {key, value}, not %s", stages.Describe(v))
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		m, isMap := it.(map[string]any)
		if !isMap {
			return nil, fmt.Errorf("variables[%d]: must be an object with key and value, not %s", i, stages.Describe(it))
		}
		out[i] = m
	}
	return out, nil
}
