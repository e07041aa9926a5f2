package model

import (
	"encoding/json"
	"reflect"
)

// Execution is one run of a pipeline, rendered as Gate renders it. The store
// keeps the header (everything but Stages) as one record and each stage as a
// record of its own.
//
// An execution, its stages, tasks and trigger keep every field of the
// document they were decoded from in Extra, and leave out on encoding the
// declared fields that document did not have: an execution exported from
// Spinnaker is written back as it was.
type Execution struct {
	ID                      ExecutionID      `json:"id"`
	Type                    string           `json:"type"`
	Application             ApplicationName  `json:"application"`
	Name                    string           `json:"name"`
	PipelineConfigID        PipelineID       `json:"pipelineConfigId,omitempty"`
	Status                  Status           `json:"status"`
	BuildTime               int64            `json:"buildTime"`
	StartTime               int64            `json:"startTime,omitempty"`
	EndTime                 int64            `json:"endTime,omitempty"`
	Trigger                 ExecutionTrigger `json:"trigger"`
	Canceled                bool             `json:"canceled"`
	CanceledBy              string           `json:"canceledBy,omitempty"`
	CancellationReason      string           `json:"cancellationReason,omitempty"`
	Paused                  *PausedDetails   `json:"paused,omitempty"`
	LimitConcurrent         bool             `json:"limitConcurrent"`
	MaxConcurrentExecutions int              `json:"maxConcurrentExecutions,omitempty"`
	KeepWaitingPipelines    bool             `json:"keepWaitingPipelines"`
	Origin                  string           `json:"origin,omitempty"`
	Notifications           []map[string]any `json:"notifications,omitempty"`
	SpelEvaluator           string           `json:"spelEvaluator,omitempty"`
	// NotificationDeliveries records each notification sent for the run,
	// or why it could not be sent.
	NotificationDeliveries []NotificationDelivery `json:"notificationDeliveries,omitempty"`
	Stages                 []StageExecution       `json:"stages"`

	// Orchestration holds the engine's bookkeeping for this run. It is not
	// part of Gate's shape but is stored with the header; left out while
	// zero, so a view can drop it by clearing it.
	Orchestration Orchestration `json:"orchestration,omitzero"`

	// Revision is the store's optimistic-concurrency counter: an update
	// succeeds only if the stored revision still equals it.
	Revision int64 `json:"-"`
	Extra    Extra `json:"-"`
}

type executionJSON Execution

// UnmarshalJSON keeps every field of the document.
func (e *Execution) UnmarshalJSON(b []byte) error {
	rev := e.Revision
	var v executionJSON
	extra, err := decodeExact(b, &v)
	if err != nil {
		return err
	}
	*e = Execution(v)
	e.Extra, e.Revision = extra, rev
	return nil
}

// MarshalJSON writes the document back as it was decoded.
func (e Execution) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(executionJSON(e), e.Extra)
}

// Orchestration is the engine's bookkeeping on an execution header.
type Orchestration struct {
	// Token is the task token the pipeline state machine waits on until every
	// stage is finished.
	Token string `json:"token,omitempty"`
	// QueueToken is the task token of a run waiting for a concurrency slot.
	QueueToken string `json:"queueToken,omitempty"`
	// Attempt counts pipeline state machine runs (restarts start new ones).
	Attempt int `json:"attempt,omitempty"`
	// Halted records that a stage failed the pipeline: running stages stop
	// and no stage starts.
	Halted bool `json:"halted,omitempty"`
	// Finalized records that the end of the run has been handled.
	Finalized bool `json:"finalized,omitempty"`
	// Imported records a finished run imported from another Spinnaker
	// (POST /pipelines/import): it is history, and nothing runs it again.
	Imported bool `json:"imported,omitempty"`
	// RunAs is who the run acts as: the user who started it, the service
	// account of an automated trigger, or the run that started it as a
	// child. Each stage is authorized for it before it starts.
	RunAs *RunAs `json:"runAs,omitempty"`
	// Outbox holds the lifecycle events of the run's status changes, each
	// written with the change it announces, so none is lost if the process
	// dies before sending it (see shared/notify).
	Outbox []json.RawMessage `json:"outbox,omitempty"`
}

// RunAs is an identity a run acts as, with the roles it held when the run
// started.
type RunAs struct {
	User  string   `json:"user"`
	Roles []string `json:"roles,omitempty"`
}

// NotificationDelivery is the outcome of one notification of a run.
type NotificationDelivery struct {
	// ID names the delivery: the event's key and the notification's index.
	ID string `json:"id"`
	// Event is the lifecycle event it announces ("pipeline.failed").
	Event string `json:"event"`
	// Type and Address are the notification's ("slack", "#deploys").
	Type    string `json:"type"`
	Address string `json:"address,omitempty"`
	// Status is "sent" or "failed"; Reason says why it failed.
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	Attempts int    `json:"attempts"`
	Time     int64  `json:"time"`
}

// PausedDetails records who paused a run and for how long.
type PausedDetails struct {
	PauseTime  int64  `json:"pauseTime,omitempty"`
	ResumeTime int64  `json:"resumeTime,omitempty"`
	PausedBy   string `json:"pausedBy,omitempty"`
	ResumedBy  string `json:"resumedBy,omitempty"`
	PausedMs   int64  `json:"pausedMs,omitempty"`
	Extra      Extra  `json:"-"`
}

type pausedDetailsJSON PausedDetails

// UnmarshalJSON keeps every field of the document.
func (p *PausedDetails) UnmarshalJSON(b []byte) error {
	return decodeExactKeeping(b, (*pausedDetailsJSON)(p), &p.Extra)
}

// MarshalJSON writes the document back as it was decoded.
func (p PausedDetails) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(pausedDetailsJSON(p), p.Extra)
}

// ExecutionTrigger says what started a run: its type, user, parameters and
// artifacts, plus whatever the trigger source attached.
type ExecutionTrigger struct {
	Type       string         `json:"type"`
	User       string         `json:"user,omitempty"`
	Parameters map[string]any `json:"parameters"`
	Artifacts  []Artifact     `json:"artifacts"`
	// ParentExecution is set when another pipeline's stage started this run.
	ParentExecutionID ExecutionID `json:"parentExecutionId,omitempty"`
	ParentStageID     StageID     `json:"parentPipelineStageId,omitempty"`
	Extra             Extra       `json:"-"`
}

type executionTriggerJSON ExecutionTrigger

// UnmarshalJSON keeps what the trigger source attached.
func (t *ExecutionTrigger) UnmarshalJSON(b []byte) error {
	var v executionTriggerJSON
	extra, err := decodeExact(b, &v)
	if err != nil {
		return err
	}
	*t = ExecutionTrigger(v)
	t.Extra = extra
	return nil
}

// MarshalJSON writes back what the trigger source attached.
func (t ExecutionTrigger) MarshalJSON() ([]byte, error) {
	if t.Parameters == nil && !t.Extra.absent("parameters") {
		t.Parameters = map[string]any{}
	}
	if t.Artifacts == nil && !t.Extra.absent("artifacts") {
		t.Artifacts = []Artifact{}
	}
	return encodeWithExtra(executionTriggerJSON(t), t.Extra)
}

// Own returns the trigger as gennaker's own, for a request that starts a
// run: it keeps what the trigger source attached, and every declared field
// is written as gennaker writes it, whatever the request had.
func (t ExecutionTrigger) Own() ExecutionTrigger {
	t.Extra = t.Extra.withoutDeclared(fieldsOf(reflect.TypeOf(executionTriggerJSON{})))
	return t
}

// Synthetic stage owners, as Spinnaker names them.
const (
	StageBefore = "STAGE_BEFORE"
	StageAfter  = "STAGE_AFTER"
)

// StageExecution is one stage of a run.
type StageExecution struct {
	ID                   StageID            `json:"id"`
	RefID                string             `json:"refId"`
	Type                 string             `json:"type"`
	Name                 string             `json:"name"`
	Status               Status             `json:"status"`
	StartTime            int64              `json:"startTime,omitempty"`
	EndTime              int64              `json:"endTime,omitempty"`
	Context              map[string]any     `json:"context,omitzero"`
	Outputs              map[string]any     `json:"outputs,omitzero"`
	Tasks                []TaskExecution    `json:"tasks"`
	RequisiteStageRefIDs []string           `json:"requisiteStageRefIds"`
	ParentStageID        StageID            `json:"parentStageId,omitempty"`
	SyntheticStageOwner  string             `json:"syntheticStageOwner,omitempty"`
	LastModified         *LastModified      `json:"lastModified,omitempty"`
	Orchestration        StageOrchestration `json:"orchestration,omitzero"`

	// Revision is the store's optimistic-concurrency counter.
	Revision int64 `json:"-"`
	Extra    Extra `json:"-"`
}

type stageExecutionJSON StageExecution

// UnmarshalJSON keeps every field of the document.
func (s *StageExecution) UnmarshalJSON(b []byte) error {
	rev := s.Revision
	var v stageExecutionJSON
	extra, err := decodeExact(b, &v)
	if err != nil {
		return err
	}
	*s = StageExecution(v)
	s.Extra, s.Revision = extra, rev
	return nil
}

// MarshalJSON writes the document back as it was decoded.
func (s StageExecution) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(stageExecutionJSON(s), s.Extra)
}

// StageOrchestration is the engine's bookkeeping on a stage.
type StageOrchestration struct {
	// Attempt counts runs of this stage (a restart starts a new one).
	Attempt int `json:"attempt,omitempty"`
	// Token is the task token the stage state machine waits on (a manual
	// judgment, a paused stage, a wait that may be cut short).
	Token string `json:"token,omitempty"`
	// DispatchedAt is when the orchestrator started the stage's state
	// machine (ms); until the stage records that it runs, this is what says
	// it will.
	DispatchedAt int64 `json:"dispatchedAt,omitempty"`
	// Carrier names the stage machine run that took the stage on when the
	// stage before it ended, instead of a machine of its own; "" means the
	// stage has (or will have) its own.
	Carrier string `json:"carrier,omitempty"`
	// TaskStartTime is when the current task started, for task timeouts.
	TaskStartTime int64 `json:"taskStartTime,omitempty"`
	// WakePending records a change (a judgment, a skip, a cancel, a pause or
	// a resume) that a parked stage must see; parking consumes it.
	WakePending bool `json:"wakePending,omitempty"`
	// Config is the stage as configured, before expressions were evaluated;
	// a restarted stage starts again from it.
	Config map[string]any `json:"config,omitempty"`
	// RunAs is who restarted the stage, when someone did: the stage acts as
	// them rather than as the run's RunAs.
	RunAs *RunAs `json:"runAs,omitempty"`
	// Outbox holds the lifecycle events of the stage's status changes,
	// written with the change (see Orchestration.Outbox).
	Outbox []json.RawMessage `json:"outbox,omitempty"`
}

// LastModified records who last acted on a stage (a manual judgment, a skip).
type LastModified struct {
	User  string `json:"user,omitempty"`
	Time  int64  `json:"lastModifiedTime,omitempty"`
	Extra Extra  `json:"-"`
}

type lastModifiedJSON LastModified

// UnmarshalJSON keeps every field of the document.
func (m *LastModified) UnmarshalJSON(b []byte) error {
	return decodeExactKeeping(b, (*lastModifiedJSON)(m), &m.Extra)
}

// MarshalJSON writes the document back as it was decoded.
func (m LastModified) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(lastModifiedJSON(m), m.Extra)
}

// TaskExecution is one task of a stage.
type TaskExecution struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	ImplementingClass string `json:"implementingClass,omitempty"`
	Status            Status `json:"status"`
	StartTime         int64  `json:"startTime,omitempty"`
	EndTime           int64  `json:"endTime,omitempty"`
	StageStart        bool   `json:"stageStart"`
	StageEnd          bool   `json:"stageEnd"`
	Extra             Extra  `json:"-"`
}

type taskExecutionJSON TaskExecution

// UnmarshalJSON keeps every field of the document.
func (t *TaskExecution) UnmarshalJSON(b []byte) error {
	return decodeExactKeeping(b, (*taskExecutionJSON)(t), &t.Extra)
}

// MarshalJSON writes the document back as it was decoded.
func (t TaskExecution) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(taskExecutionJSON(t), t.Extra)
}

// Header returns the run without its stages, as stores keep it apart from
// them. An empty list stays an empty list rather than becoming nil, so that
// a run imported with "stages": [] and fields gennaker does not declare is
// not written back with "stages": null: the header's encoding is what
// records how the document wrote its stages.
func (e *Execution) Header() Execution {
	h := *e
	if h.Stages != nil {
		h.Stages = []StageExecution{}
	}
	return h
}

// StageByRefID returns the stage with the given refId: a top-level one
// first, else a part a stage runs as (see stages.Expander); nil if none.
func (e *Execution) StageByRefID(refID string) *StageExecution {
	var part *StageExecution
	for i := range e.Stages {
		switch {
		case e.Stages[i].RefID != refID:
		case e.Stages[i].ParentStageID == "":
			return &e.Stages[i]
		case part == nil:
			part = &e.Stages[i]
		}
	}
	return part
}

// StageByID returns the stage with the given id, or nil.
func (e *Execution) StageByID(id StageID) *StageExecution {
	for i := range e.Stages {
		if e.Stages[i].ID == id {
			return &e.Stages[i]
		}
	}
	return nil
}
