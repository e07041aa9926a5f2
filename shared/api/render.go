package api

import "github.com/gennaker/gennaker/shared/model"

// executionView renders an execution as Gate does: the model's fields
// without the engine's bookkeeping. The shadowing fields win over the
// embedded ones because they are less deeply nested, so the orchestration
// field is left out (nil with omitempty) and stages render through
// stageView, whatever fields the model gains later.
type executionView struct {
	*model.Execution
	Orchestration *struct{}   `json:"orchestration,omitempty"`
	Stages        []stageView `json:"stages"`
}

type stageView struct {
	*model.StageExecution
	Orchestration *struct{} `json:"orchestration,omitempty"`
	// Context and Outputs are shadowed so a listing without expand can
	// leave them out.
	Context *map[string]any `json:"context,omitempty"`
	Outputs *map[string]any `json:"outputs,omitempty"`
}

// renderExecution returns the API view of e. Without expand, stage context
// and outputs are left out, as Orca does for listings.
func renderExecution(e *model.Execution, expand bool) executionView {
	v := executionView{Execution: e, Stages: make([]stageView, len(e.Stages))}
	for i := range e.Stages {
		s := &e.Stages[i]
		sv := stageView{StageExecution: s}
		if expand {
			ctx, out := s.Context, s.Outputs
			if ctx == nil {
				ctx = map[string]any{}
			}
			if out == nil {
				out = map[string]any{}
			}
			sv.Context, sv.Outputs = &ctx, &out
		}
		v.Stages[i] = sv
	}
	return v
}

func renderExecutions(list []*model.Execution, expand bool) []executionView {
	out := make([]executionView, len(list))
	for i, e := range list {
		out[i] = renderExecution(e, expand)
	}
	return out
}
