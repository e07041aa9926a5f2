package orchestration

import (
	"encoding/json"

	"github.com/gennaker/gennaker/shared/expr"
	"github.com/gennaker/gennaker/shared/model"
)

// exprContext is what expressions in stage s can see: the run as JSON, its
// trigger and parameters, the stage, and the outputs of every stage
// upstream of it.
func (o *Orchestrator) exprContext(e *model.Execution, s *model.StageExecution) *expr.Context {
	execMap := toMap(e)
	trigger, _ := execMap["trigger"].(map[string]any)
	params, _ := trigger["parameters"].(map[string]any)
	if params == nil {
		params = map[string]any{}
	}
	return &expr.Context{
		Execution:  execMap,
		Trigger:    trigger,
		Parameters: params,
		Stage:      toMap(s),
		Variables:  ancestorOutputs(e, s),
	}
}

func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{}
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// ancestorOutputs merges the outputs of every stage upstream of s, nearer
// stages winning, as Spinnaker exposes them to expressions.
func ancestorOutputs(e *model.Execution, s *model.StageExecution) map[string]any {
	out := map[string]any{}
	seen := map[string]bool{}
	var order []*model.StageExecution
	queue := append([]string(nil), s.RequisiteStageRefIDs...)
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		if seen[ref] {
			continue
		}
		seen[ref] = true
		a := e.StageByRefID(ref)
		if a == nil {
			continue
		}
		order = append(order, a)
		queue = append(queue, a.RequisiteStageRefIDs...)
	}
	for i := len(order) - 1; i >= 0; i-- {
		outputs := toMap(order[i].Outputs)
		for k, v := range outputs {
			out[k] = v
		}
	}
	return out
}
