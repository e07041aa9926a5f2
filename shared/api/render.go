package api

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/gennaker/gennaker/shared/model"
)

// executionView renders an execution as Gate does: the model's JSON without
// the engine's bookkeeping (the orchestration field of the run and of each
// stage). The model writes back every field of a run imported from
// Spinnaker, so such a run renders as it was exported; the view only takes
// fields away, whatever fields the model gains later.
type executionView struct {
	e *model.Execution
	// expand keeps stage context and outputs; a listing without expand
	// leaves them out, as Orca does.
	expand bool
}

// renderExecution returns the API view of e.
func renderExecution(e *model.Execution, expand bool) executionView {
	return executionView{e: e, expand: expand}
}

func renderExecutions(list []*model.Execution, expand bool) []executionView {
	out := make([]executionView, len(list))
	for i, e := range list {
		out[i] = renderExecution(e, expand)
	}
	return out
}

// MarshalJSON writes the view.
func (v executionView) MarshalJSON() ([]byte, error) {
	header := *v.e
	header.Stages = nil
	doc, err := fields(header)
	if err != nil {
		return nil, fmt.Errorf("render execution %s: %w", v.e.ID, err)
	}
	delete(doc, "orchestration")
	if _, ok := doc["stages"]; ok || v.e.Stages != nil {
		stages := make([]map[string]json.RawMessage, len(v.e.Stages))
		for i := range v.e.Stages {
			if stages[i], err = v.stage(&v.e.Stages[i]); err != nil {
				return nil, fmt.Errorf("render execution %s: %w", v.e.ID, err)
			}
		}
		if doc["stages"], err = marshal(stages); err != nil {
			return nil, err
		}
	}
	return marshal(doc)
}

// stage renders one stage. With expand, a stage gennaker ran always has a
// context and outputs ({} if it recorded none); an imported stage has what
// it was imported with.
func (v executionView) stage(s *model.StageExecution) (map[string]json.RawMessage, error) {
	doc, err := fields(*s)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", s.ID, err)
	}
	delete(doc, "orchestration")
	for _, k := range []string{"context", "outputs"} {
		if !v.expand {
			delete(doc, k)
			continue
		}
		if _, imported := s.Extra[k]; !imported && isNull(doc[k]) {
			doc[k] = json.RawMessage("{}")
		}
	}
	return doc, nil
}

// fields returns the top-level fields of v's JSON object.
func fields(v any) (map[string]json.RawMessage, error) {
	b, err := marshal(v)
	if err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}

func isNull(raw json.RawMessage) bool { return raw == nil || string(raw) == "null" }

// marshal is json.Marshal without escaping <, > and &, as writeJSON writes.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
