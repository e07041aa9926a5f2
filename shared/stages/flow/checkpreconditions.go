package flow

import (
	"context"
	"fmt"
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

// Validate checks each precondition's type and expression.
func (CheckPreconditionsStage) Validate(s *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(s, &p)
	list, err := preconditionList(cfg)
	if err != nil {
		p.AddErr(err)
		return p
	}
	for i, pc := range list {
		path := fmt.Sprintf("preconditions[%d]", i)
		typ, _, err := stages.String(pc, "type")
		switch _, known := preconditionTypes[typ]; {
		case err != nil:
			p.Add(path+".type", "%v", strings.TrimPrefix(err.Error(), "type: "))
		case typ == "":
			p.Add(path+".type", "is required (expression)")
		case !known:
			p.Add(path+".type", "unknown precondition type %q (known types: clusterSize, expression)", typ)
		}
		stages.CheckField(pc, "failPipeline", &p, func(m map[string]any, k string) error {
			_, _, err := stages.Bool(m, k)
			return prefixErr(path, err)
		})
		if typ != "expression" {
			continue
		}
		inner, ok := pc["context"].(map[string]any)
		if !ok {
			p.Add(path+".context.expression", "is required")
			continue
		}
		switch v := inner["expression"].(type) {
		case nil:
			p.Add(path+".context.expression", "is required")
		case bool:
		case string:
			if strings.TrimSpace(v) == "" {
				p.Add(path+".context.expression", "is required")
			}
		default:
			p.Add(path+".context.expression", "must be an expression or true/false, not %s", stages.Describe(v))
		}
	}
	return p
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
	ctx := run.Stage.Context
	list, err := preconditionList(ctx)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	stageFailPipeline, _, err := stages.Bool(ctx, "failPipeline")
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if _, set := stages.Lookup(ctx, "failPipeline"); !set {
		stageFailPipeline = true
	}

	var (
		messages []string
		halts    bool // some failed precondition asks to fail the pipeline
		checked  = make([]any, 0, len(list))
	)
	for i, pc := range list {
		path := fmt.Sprintf("preconditions[%d]", i)
		pc = cloneMap(pc)
		checked = append(checked, pc)

		typ, _, _ := stages.String(pc, "type")
		if supported, known := preconditionTypes[typ]; !known || !supported {
			messages = append(messages, fmt.Sprintf("%s: precondition type %q is not supported by gennaker (supported: expression)", path, typ))
			halts = true
			continue
		}
		inner, _ := pc["context"].(map[string]any)
		inner = cloneMap(inner)
		pc["context"] = inner
		holds, result, err := expressionHolds(inner["expression"])
		inner["expressionResult"] = result
		if err == nil && holds {
			continue
		}
		msg, _, _ := stages.String(inner, "failureMessage")
		switch {
		case err != nil:
			msg = fmt.Sprintf("%s: %v", path, err)
		case msg == "":
			msg = fmt.Sprintf("%s: expression precondition is false", path)
		}
		messages = append(messages, msg)
		failPipeline, set, err := stages.Bool(pc, "failPipeline")
		if err != nil {
			return stages.Failed("%s: %v", path, err), nil
		}
		if !set {
			failPipeline = stageFailPipeline
		}
		halts = halts || failPipeline
	}

	out := map[string]any{"preconditions": checked}
	if len(messages) == 0 {
		return stages.Result{Status: model.StatusSucceeded, Context: out}, nil
	}
	r := stages.FailedWith(out, "%s", messages[0])
	SetErrors(r.Context, messages)
	if !halts && stageHaltsPipeline(ctx) {
		// Every failed precondition has failPipeline false: halt this
		// branch only, as orca's STOPPED precondition child stage does.
		r.Status = model.StatusStopped
	}
	return r, nil
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

// stageHaltsPipeline reports whether the stage's own "if stage fails" choice
// is to halt the whole pipeline.
func stageHaltsPipeline(ctx map[string]any) bool {
	flag := func(key string) *bool {
		b, set, err := stages.Bool(ctx, key)
		if err != nil || !set {
			return nil
		}
		return &b
	}
	return model.FailureBehaviourOf(flag("failPipeline"), flag("continuePipeline"), flag("completeOtherBranchesThenFail")) == model.HaltPipeline
}

func preconditionList(ctx map[string]any) ([]map[string]any, error) {
	v, ok := stages.Lookup(ctx, "preconditions")
	if !ok {
		return nil, nil
	}
	items, isList := v.([]any)
	if !isList {
		return nil, fmt.Errorf("preconditions: must be a list, not %s", stages.Describe(v))
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		m, isMap := it.(map[string]any)
		if !isMap {
			return nil, fmt.Errorf("preconditions[%d]: must be an object, not %s", i, stages.Describe(it))
		}
		out[i] = m
	}
	return out, nil
}

// SetErrors lists every message in context.exception.details.errors.
func SetErrors(ctx map[string]any, messages []string) {
	errs := make([]any, len(messages))
	for i, m := range messages {
		errs[i] = m
	}
	details := ctx["exception"].(map[string]any)["details"].(map[string]any)
	details["error"] = strings.Join(messages, "; ")
	details["errors"] = errs
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func prefixErr(prefix string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s.%w", prefix, err)
}
