package triggers

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gennaker/gennaker/shared/model"
)

// A pipeline trigger (application, pipeline, status) fires when a run of
// the pipeline it names ends with one of its statuses: successful
// (SUCCEEDED), failed (TERMINAL) or canceled (CANCELED). The run's trigger
// has parentExecution (the run that ended, as Gate renders it), and the
// artifacts that run had.

// triggerStatus is the status a pipeline trigger lists for a finished run,
// or "" for one no trigger listens to.
func triggerStatus(s model.Status) string {
	switch s {
	case model.StatusSucceeded:
		return "successful"
	case model.StatusTerminal:
		return "failed"
	case model.StatusCanceled:
		return "canceled"
	}
	return ""
}

// maxParentExecution bounds the parent run recorded on a child's trigger;
// a larger one is recorded without its stages.
const maxParentExecution = 64 << 10

// PipelineEnded is the event of a run that ended. It returns nil for a run
// that triggers nothing (one that is not a pipeline's, or still running).
func PipelineEnded(e *model.Execution) *Event {
	status := triggerStatus(e.Status)
	if e.PipelineConfigID == "" || status == "" {
		return nil
	}
	parent := *e
	parent.Orchestration = model.Orchestration{}
	doc, err := json.Marshal(parent)
	if err != nil || len(doc) > maxParentExecution {
		parent.Stages = []model.StageExecution{}
		doc, _ = json.Marshal(parent)
	}
	arts := slices.Clone(e.Trigger.Artifacts)
	for _, st := range e.Stages {
		if list, ok := st.Outputs["artifacts"]; ok {
			var more []model.Artifact
			if b, err := json.Marshal(list); err == nil && json.Unmarshal(b, &more) == nil {
				arts = append(arts, more...)
			}
		}
	}
	return &Event{
		ID:          fmt.Sprintf("pipeline/%s/%d", e.ID, e.EndTime),
		Type:        "pipeline",
		Key:         model.TriggerIndexKey("pipeline", string(e.PipelineConfigID)),
		Description: fmt.Sprintf("run %s of %q (%s) ended %s", e.ID, e.Name, e.Application, e.Status),
		Artifacts:   arts,
		match: func(tr model.Trigger) string {
			if p := tr.Field("pipeline"); p != string(e.PipelineConfigID) {
				return fmt.Sprintf("the trigger listens to pipeline %q, not %q", p, e.PipelineConfigID)
			}
			var statuses []string
			if err := decodeField(tr, "status", &statuses); err != nil {
				return "the trigger's status is not a list of strings"
			}
			if !slices.Contains(statuses, status) {
				return fmt.Sprintf("the run ended %s, and the trigger fires on %v", status, statuses)
			}
			return ""
		},
		fields: func(model.Trigger) map[string]any {
			return map[string]any{
				"parentExecution":           json.RawMessage(doc),
				"parentPipelineId":          e.PipelineConfigID,
				"parentPipelineName":        e.Name,
				"parentPipelineApplication": e.Application,
				"parentStatus":              e.Status,
			}
		},
	}
}
