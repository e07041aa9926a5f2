// Package notify is gennaker's event stream and its notifications: the
// lifecycle events of runs (recorded with the status change they announce,
// in an outbox on the run's records), the configuration events of
// pipelines, the audit log built from them, and the notifications
// (Slack, email, SNS, webhooks, GitHub statuses, Teams, Google Chat) that
// pipelines, stages and applications ask for.
//
// Locally the events go to an in-process bus whose worker records them and
// delivers notifications; in the cloud they go to the stack's EventBridge
// bus, and a notifier function fed by a rule delivers them. Either way a
// notification is sent outside the pipeline's path, retried on 5xx and
// network errors, and its outcome is recorded on the run.
package notify

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
)

// Source is the EventBridge source of every gennaker event.
const Source = "gennaker"

// Event types: the EventBridge detail-type, and what a notification's
// `when` names.
const (
	PipelineStarting = "pipeline.starting"
	PipelineComplete = "pipeline.complete"
	PipelineFailed   = "pipeline.failed"
	PipelineCanceled = "pipeline.canceled"
	StageStarting    = "stage.starting"
	StageComplete    = "stage.complete"
	StageFailed      = "stage.failed"
	// Judgment events of manualJudgment stages, as Spinnaker names them.
	JudgmentWaiting  = "manualJudgment"
	JudgmentContinue = "manualJudgmentContinue"
	JudgmentStop     = "manualJudgmentStop"
	// Configuration events.
	PipelineSaved    = "pipeline.saved"
	PipelineDeleted  = "pipeline.deleted"
	PipelineEnabled  = "pipeline.enabled"
	PipelineDisabled = "pipeline.disabled"
)

// Event is one lifecycle or configuration event: the `detail` of the
// EventBridge event, the body a webhook notification posts, and a line of
// the audit log. docs/events.md describes it field by field.
type Event struct {
	// Key identifies the event: the run, the stage (or "pipeline"), the
	// attempt and the type. A status change has one key, so an event sent
	// twice is recognised as one.
	Key  string `json:"key"`
	Type string `json:"type"`
	// Time is when the change happened, in ms since the epoch.
	Time        int64                 `json:"time"`
	Application model.ApplicationName `json:"application"`
	PipelineID  model.PipelineID      `json:"pipelineConfigId,omitempty"`
	Pipeline    string                `json:"pipelineName,omitempty"`
	ExecutionID model.ExecutionID     `json:"executionId,omitempty"`
	Status      model.Status          `json:"status,omitempty"`
	// User is who caused the event: who triggered the run, made the
	// judgment, canceled the run or saved the pipeline.
	User  string      `json:"user,omitempty"`
	Stage *EventStage `json:"stage,omitempty"`
	// Error is why the run or stage failed: the failing stage's errors.
	Error string `json:"error,omitempty"`
	// FailedStage names the stage that failed the run.
	FailedStage string `json:"failedStage,omitempty"`
	// Trigger is the run's trigger type ("manual", "git", …).
	Trigger string `json:"trigger,omitempty"`
	// Link is the run's page in the web UI.
	Link string `json:"link,omitempty"`
}

// EventStage is the stage an event is about.
type EventStage struct {
	ID   model.StageID `json:"id"`
	Name string        `json:"name"`
	Type string        `json:"type"`
	// Instructions are a manual judgment's.
	Instructions string `json:"instructions,omitempty"`
	// Judgment is the judgment made: "continue" or "stop".
	Judgment string `json:"judgment,omitempty"`
}

// IsPipeline reports whether the event is about a whole run.
func (e Event) IsPipeline() bool { return strings.HasPrefix(e.Type, "pipeline.") && e.Stage == nil }

// LinkTo is the UI route of a run under base.
func LinkTo(base string, app model.ApplicationName, id model.ExecutionID) string {
	return fmt.Sprintf("%s/#/applications/%s/executions/details/%s", strings.TrimRight(base, "/"), app, id)
}

func decodeEvents(raw []json.RawMessage) []Event {
	out := make([]Event, 0, len(raw))
	for _, r := range raw {
		var ev Event
		if json.Unmarshal(r, &ev) == nil && ev.Key != "" {
			out = append(out, ev)
		}
	}
	return out
}

func hasKey(raw []json.RawMessage, key string) bool {
	for _, ev := range decodeEvents(raw) {
		if ev.Key == key {
			return true
		}
	}
	return false
}
