package api

import (
	"github.com/gennaker/gennaker/shared/model"
)

// renderExecution returns the API view of e, as Gate renders a run: the
// model's JSON without the engine's bookkeeping (the orchestration field of
// the run and of each stage, left out while zero). The model writes back
// every field of a run imported from Spinnaker, so such a run renders as it
// was exported. Without expand, stage context and outputs are left out, as
// Orca does in listings. The view is a value, not a Marshaler wrapping one,
// so encoding it passes over the document once.
func renderExecution(e *model.Execution, expand bool) model.Execution {
	view := *e
	view.Orchestration = model.Orchestration{}
	if e.Stages != nil {
		view.Stages = make([]model.StageExecution, len(e.Stages))
		for i := range e.Stages {
			view.Stages[i] = renderStage(e.Stages[i], expand)
		}
	}
	return view
}

func renderExecutions(list []*model.Execution, expand bool) []model.Execution {
	out := make([]model.Execution, len(list))
	for i, e := range list {
		out[i] = renderExecution(e, expand)
	}
	return out
}

// renderStage is one stage as the view shows it. With expand, a stage
// gennaker ran always has a context and outputs ({} if it recorded none);
// an imported stage has what it was imported with. Without expand, neither.
func renderStage(s model.StageExecution, expand bool) model.StageExecution {
	s.Orchestration = model.StageOrchestration{}
	if !expand {
		s.Context, s.Outputs = nil, nil
		_, c := s.Extra["context"]
		_, o := s.Extra["outputs"]
		if c || o {
			s.Extra = withoutKeys(s.Extra, "context", "outputs")
		}
		return s
	}
	if _, imported := s.Extra["context"]; !imported && s.Context == nil {
		s.Context = map[string]any{}
	}
	if _, imported := s.Extra["outputs"]; !imported && s.Outputs == nil {
		s.Outputs = map[string]any{}
	}
	return s
}

// withoutKeys is a copy of x without keys.
func withoutKeys(x model.Extra, keys ...string) model.Extra {
	out := make(model.Extra, len(x))
	for k, val := range x {
		out[k] = val
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}
