package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/orchestration"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/store"
)

// Publisher takes events onward: the in-process bus locally, EventBridge in
// the cloud. Publishing an event twice is harmless: receivers recognise it
// by its key.
type Publisher interface {
	Publish(ctx context.Context, events []Event) error
}

// Outbox is the orchestrator's StatusHook: it records the lifecycle event
// of each status change in the record that holds the change, so both are
// written at once, and publishes the event once the write succeeded. A
// change whose event a record already holds (a retried step) adds nothing.
type Outbox struct {
	Store     store.Store
	Publisher Publisher
	// LinkBase is the web UI's address, for the links in events.
	LinkBase string
	Now      func() time.Time
	Log      interface {
		WarnContext(ctx context.Context, msg string, args ...any)
	}

	// runs caches what events say of a run that never changes (its
	// application, pipeline and trigger), so a stage's event costs no read
	// of the run's header after the first.
	mu   sync.Mutex
	runs map[model.ExecutionID]*model.Execution
}

// maxCachedRuns bounds the cache of runs.
const maxCachedRuns = 1000

// run returns the fixed part of a run's header.
func (o *Outbox) run(ctx context.Context, id model.ExecutionID) (*model.Execution, error) {
	o.mu.Lock()
	e, ok := o.runs[id]
	o.mu.Unlock()
	if ok {
		return e, nil
	}
	h, err := o.Store.Executions().GetHeader(ctx, id)
	if err != nil {
		return nil, err
	}
	fixed := &model.Execution{
		ID: h.ID, Application: h.Application, Name: h.Name, PipelineConfigID: h.PipelineConfigID,
		Trigger:       model.ExecutionTrigger{Type: h.Trigger.Type, User: h.Trigger.User},
		Orchestration: model.Orchestration{Imported: h.Orchestration.Imported},
	}
	o.mu.Lock()
	if o.runs == nil || len(o.runs) >= maxCachedRuns {
		o.runs = map[model.ExecutionID]*model.Execution{}
	}
	o.runs[id] = fixed
	o.mu.Unlock()
	return fixed, nil
}

var _ orchestration.StatusHook = (*Outbox)(nil)

func (o *Outbox) now() int64 {
	if o.Now != nil {
		return o.Now().UnixMilli()
	}
	return time.Now().UnixMilli()
}

// pipelineEventType is the event a run's status announces, if any.
func pipelineEventType(s model.Status) string {
	switch s {
	case model.StatusRunning:
		return PipelineStarting
	case model.StatusSucceeded:
		return PipelineComplete
	case model.StatusTerminal, model.StatusStopped:
		return PipelineFailed
	case model.StatusCanceled:
		return PipelineCanceled
	}
	return ""
}

// stageEventTypes are the events a stage's status announces. A stage that
// ran within one step reaches its end without RUNNING ever being written:
// it started all the same, and says so first.
func stageEventTypes(s *model.StageExecution) []string {
	types := stageStatusEvents(s)
	if len(types) > 0 && types[0] != StageStarting && s.Status != model.StatusRunning {
		types = append([]string{StageStarting}, types...)
	}
	return types
}

func stageStatusEvents(s *model.StageExecution) []string {
	judgment := s.Type == "manualJudgment"
	switch s.Status {
	case model.StatusRunning:
		if judgment {
			return []string{StageStarting, JudgmentWaiting}
		}
		return []string{StageStarting}
	case model.StatusSucceeded:
		if judgment {
			return []string{StageComplete, JudgmentContinue}
		}
		return []string{StageComplete}
	case model.StatusFailedContinue:
		return []string{StageFailed}
	case model.StatusTerminal, model.StatusStopped:
		if judgment && judgmentOf(s) == "stop" {
			return []string{StageFailed, JudgmentStop}
		}
		return []string{StageFailed}
	}
	return nil
}

func judgmentOf(s *model.StageExecution) string {
	v, _ := s.Context["judgmentStatus"].(string)
	return strings.ToLower(v)
}

// Header implements orchestration.StatusHook.
func (o *Outbox) Header(ctx context.Context, e *model.Execution) (func(context.Context), error) {
	typ := pipelineEventType(e.Status)
	if typ == "" || e.Orchestration.Imported {
		return nil, nil
	}
	attempt := max(e.Orchestration.Attempt, 1)
	key := fmt.Sprintf("%s/pipeline/%d/%s", e.ID, attempt, typ)
	if hasKey(e.Orchestration.Outbox, key) {
		return nil, nil
	}
	ev := o.base(e)
	ev.Key, ev.Type, ev.Status = key, typ, e.Status
	ev.Time = o.now()
	switch typ {
	case PipelineCanceled:
		if e.CanceledBy != "" {
			ev.User = e.CanceledBy
		}
		ev.Error = e.CancellationReason
	case PipelineFailed:
		full, err := o.Store.Executions().Get(ctx, e.ID)
		if err != nil {
			return nil, fmt.Errorf("record the event of run %s: %w", e.ID, err)
		}
		if s, errs := failedStage(full); s != nil {
			ev.FailedStage = s.Name
			ev.Error = strings.Join(errs, "; ")
		}
	}
	return o.add(&e.Orchestration.Outbox, []Event{ev})
}

// Stage implements orchestration.StatusHook.
func (o *Outbox) Stage(ctx context.Context, id model.ExecutionID, s *model.StageExecution) (func(context.Context), error) {
	var events []Event
	var header *model.Execution
	attempt := max(s.Orchestration.Attempt, 1)
	for _, typ := range stageEventTypes(s) {
		key := fmt.Sprintf("%s/%s/%d/%s", id, s.ID, attempt, typ)
		if hasKey(s.Orchestration.Outbox, key) {
			continue
		}
		if header == nil {
			h, err := o.run(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("record the event of stage %s of run %s: %w", s.ID, id, err)
			}
			if h.Orchestration.Imported {
				return nil, nil
			}
			header = h
		}
		ev := o.base(header)
		ev.Key, ev.Type, ev.Status, ev.Time = key, typ, s.Status, o.now()
		ev.Stage = &EventStage{ID: s.ID, Name: s.Name, Type: s.Type}
		if s.Type == "manualJudgment" {
			ev.Stage.Instructions, _ = s.Context["instructions"].(string)
			ev.Stage.Judgment = judgmentOf(s)
			if by := judgedBy(s); by != "" && typ != JudgmentWaiting {
				ev.User = by
			}
		}
		if typ == StageFailed {
			ev.Error = strings.Join(stages.Errors(s.Context), "; ")
		}
		events = append(events, ev)
	}
	if len(events) == 0 {
		return nil, nil
	}
	return o.add(&s.Orchestration.Outbox, events)
}

func judgedBy(s *model.StageExecution) string {
	if v, _ := s.Context["lastModifiedBy"].(string); v != "" {
		return v
	}
	if s.LastModified != nil {
		return s.LastModified.User
	}
	return ""
}

func (o *Outbox) base(e *model.Execution) Event {
	return Event{
		Application: e.Application,
		PipelineID:  e.PipelineConfigID,
		Pipeline:    e.Name,
		ExecutionID: e.ID,
		User:        e.Trigger.User,
		Trigger:     e.Trigger.Type,
		Link:        LinkTo(o.LinkBase, e.Application, e.ID),
	}
}

// add appends events to the record's outbox and returns what publishes
// them once the record is written.
func (o *Outbox) add(outbox *[]json.RawMessage, events []Event) (func(context.Context), error) {
	for _, ev := range events {
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		*outbox = append(*outbox, b)
	}
	return func(ctx context.Context) {
		if o.Publisher == nil {
			return
		}
		// The events are stored: a failure here is made good by the next
		// sweep of the outboxes, so it must not fail the status change.
		if err := o.Publisher.Publish(ctx, events); err != nil && o.Log != nil {
			o.Log.WarnContext(ctx, "publish lifecycle events", "event", events[0].Key, "error", err)
		}
	}, nil
}

// failedStage is the top-level stage that failed the run (TERMINAL or
// STOPPED; the first to end if several did), and its errors: its own, or
// those of the stages it ran as, where the failure happened.
func failedStage(e *model.Execution) (*model.StageExecution, []string) {
	var found *model.StageExecution
	for i := range e.Stages {
		s := &e.Stages[i]
		if s.ParentStageID != "" || (s.Status != model.StatusTerminal && s.Status != model.StatusStopped) {
			continue
		}
		if found == nil || s.EndTime < found.EndTime {
			found = s
		}
	}
	if found == nil {
		return nil, nil
	}
	errs := stages.Errors(found.Context)
	for i := range e.Stages {
		if s := &e.Stages[i]; len(errs) == 0 && s.ParentStageID == found.ID {
			errs = stages.Errors(s.Context)
		}
	}
	return found, errs
}

// Pending returns the events in a run's outboxes (header and stages),
// oldest first.
func Pending(e *model.Execution) []Event {
	events := decodeEvents(e.Orchestration.Outbox)
	for i := range e.Stages {
		events = append(events, decodeEvents(e.Stages[i].Orchestration.Outbox)...)
	}
	sortEvents(events)
	return events
}
