package flow

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
)

// CheckPreconditionsStage is Spinnaker's "checkPreconditions" stage: every
// precondition must hold for the branch to go on.
//
//	preconditions: [{type: "expression",
//	                 context: {expression: <evaluated>, failureMessage},
//	                 failPipeline: true}]
//
// A false precondition fails the stage with its failureMessage. As in orca,
// where each precondition runs as a child stage carrying its own failPipeline,
// a precondition with failPipeline false halts only this branch (STOPPED)
// instead of the pipeline; the stage's own continuePipeline and
// completeOtherBranchesThenFail still apply.
type CheckPreconditionsStage struct{}

// Type implements Definition.
func (CheckPreconditionsStage) Type() string { return "checkPreconditions" }

// preconditionTypes are the types Spinnaker offers, with whether gennaker can
// check them yet. Unsupported ones pass validation, so pipelines exported
// from Spinnaker load, and fail when run.
var preconditionTypes = map[string]bool{
	"expression":  true,
	"clusterSize": false,
}

// checkPreconditionsConfig is a checkPreconditions stage's configuration,
// with the stage's own "if stage fails" choice.
type checkPreconditionsConfig struct {
	Preconditions                 []precondition `json:"preconditions"`
	FailPipeline                  *bool          `json:"failPipeline"`
	ContinuePipeline              *bool          `json:"continuePipeline"`
	CompleteOtherBranchesThenFail *bool          `json:"completeOtherBranchesThenFail"`
}

// precondition is one check; only expression preconditions are run.
type precondition struct {
	Type string `json:"type"`
	// FailPipeline nil means the stage's own failPipeline.
	FailPipeline *bool               `json:"failPipeline"`
	Context      preconditionContext `json:"context"`
}

// preconditionContext holds an expression precondition's evaluated
// expression: a boolean, or a string that should read true or false.
type preconditionContext struct {
	Expression     any    `json:"expression"`
	FailureMessage string `json:"failureMessage"`
}

// Validate checks each precondition's type and expression.
func (CheckPreconditionsStage) Validate(s *model.Stage) []model.Problem {
	var cfg checkPreconditionsConfig
	exprs, p := stages.DecodeConfig(s, &cfg)
	for i, pc := range cfg.Preconditions {
		path := stages.Path("preconditions", i)
		switch _, known := preconditionTypes[pc.Type]; {
		case problemAt(p, path+".type") || exprs.Has(path+".type"):
		case pc.Type == "":
			p.Add(path+".type", "is required (expression)")
		case !known:
			p.Add(path+".type", "unknown precondition type %q (known types: clusterSize, expression)", pc.Type)
		}
		if pc.Type != "expression" {
			continue
		}
		exprPath := path + ".context.expression"
		if problemAt(p, path+".context") || exprs.Has(exprPath) {
			continue
		}
		switch v := pc.Context.Expression.(type) {
		case nil:
			p.Add(exprPath, "is required")
		case bool:
		case string:
			if strings.TrimSpace(v) == "" {
				p.Add(exprPath, "is required")
			}
		default:
			p.Add(exprPath, "must be an expression or true/false, not %s", stages.Describe(v))
		}
	}
	return p
}

// Config implements stages.Configurer.
func (CheckPreconditionsStage) Config(s *model.StageExecution) (any, error) {
	return decodeContext(s.Context, &checkPreconditionsConfig{})
}

// Plan implements Definition.
func (CheckPreconditionsStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{CheckPreconditionsTask{}.Name()}, nil
}

// CheckPreconditionsTask checks every precondition and reports all that fail.
type CheckPreconditionsTask struct{}

// Name implements Task.
func (CheckPreconditionsTask) Name() string { return "CheckPreconditions" }

// Execute implements Task. It writes back the preconditions with
// context.expressionResult set on each expression precondition, as orca shows
// them.
func (CheckPreconditionsTask) Execute(_ context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*checkPreconditionsConfig](run)
	if err != nil {
		return stages.Result{}, err
	}
	stageFailPipeline := cfg.FailPipeline == nil || *cfg.FailPipeline

	var (
		messages []string
		halts    bool // some failed precondition asks to fail the pipeline
		results  = map[int]string{}
	)
	for i, pc := range cfg.Preconditions {
		path := stages.Path("preconditions", i)
		if supported, known := preconditionTypes[pc.Type]; !known || !supported {
			messages = append(messages, fmt.Sprintf("%s: precondition type %q is not supported by gennaker (supported: expression)", path, pc.Type))
			halts = true
			continue
		}
		holds, result, err := expressionHolds(pc.Context.Expression)
		results[i] = result
		if err == nil && holds {
			continue
		}
		msg := pc.Context.FailureMessage
		switch {
		case err != nil:
			msg = fmt.Sprintf("%s: %v", path, err)
		case msg == "":
			msg = fmt.Sprintf("%s: expression precondition is false", path)
		}
		messages = append(messages, msg)
		failPipeline := stageFailPipeline
		if pc.FailPipeline != nil {
			failPipeline = *pc.FailPipeline
		}
		halts = halts || failPipeline
	}

	out := stages.Record(preconditionsChecked{Preconditions: withExpressionResults(run.Stage.Context["preconditions"], results)})
	if len(messages) == 0 {
		return stages.Result{Status: model.StatusSucceeded, Context: out}, nil
	}
	r := stages.FailedWith(out, "%s", messages[0])
	stages.SetErrors(r.Context, messages)
	if !halts && model.FailureBehaviourOf(cfg.FailPipeline, cfg.ContinuePipeline, cfg.CompleteOtherBranchesThenFail) == model.HaltPipeline {
		// Every failed precondition has failPipeline false: halt this
		// branch only, as orca's STOPPED precondition child stage does.
		r.Status = model.StatusStopped
	}
	return r, nil
}

// withExpressionResults copies the preconditions as the stage holds them,
// every field kept, with context.expressionResult set on those checked. The
// copy leaves the stage context to change through the Result only.
func withExpressionResults(preconditions any, results map[int]string) []any {
	list, _ := preconditions.([]any)
	out := make([]any, len(list))
	for i, item := range list {
		result, checked := results[i]
		pc, isMap := item.(map[string]any)
		if !checked || !isMap {
			out[i] = item
			continue
		}
		pc = maps.Clone(pc)
		inner, _ := pc["context"].(map[string]any)
		inner = maps.Clone(inner)
		if inner == nil {
			inner = map[string]any{}
		}
		inner["expressionResult"] = result
		pc["context"] = inner
		out[i] = pc
	}
	return out
}

// expressionHolds reads an evaluated precondition expression: a boolean or
// the string "true"/"false" in any case.
func expressionHolds(v any) (bool, string, error) {
	switch x := v.(type) {
	case bool:
		return x, fmt.Sprint(x), nil
	case string:
		s := strings.TrimSpace(x)
		switch strings.ToLower(s) {
		case "true":
			return true, "true", nil
		case "false":
			return false, "false", nil
		}
		return false, s, fmt.Errorf("expression did not evaluate to true or false: %q", s)
	case nil:
		return false, "", fmt.Errorf("expression is missing")
	default:
		return false, fmt.Sprint(x), fmt.Errorf("expression did not evaluate to true or false: %s", stages.Describe(x))
	}
}

// preconditionsChecked is what CheckPreconditions records: the stage's
// preconditions, each with its expression's result, as orca shows them.
type preconditionsChecked struct {
	Preconditions []any `json:"preconditions"`
}

var _ stages.Configurer = CheckPreconditionsStage{}
