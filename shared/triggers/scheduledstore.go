package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// WithSchedules returns st with pipelines whose saves and deletes also
// create, change and delete their cron triggers' schedules (see
// Schedules.Sync): whatever saves a pipeline — the API, a restore — keeps
// the schedules in step.
func WithSchedules(st store.Store, s *Schedules) store.Store {
	return scheduledStore{Store: st, schedules: s}
}

type scheduledStore struct {
	store.Store
	schedules *Schedules
}

func (s scheduledStore) Pipelines() store.Pipelines {
	return scheduledPipelines{Pipelines: s.Store.Pipelines(), schedules: s.schedules}
}

type scheduledPipelines struct {
	store.Pipelines
	schedules *Schedules
}

// previous returns the current version of a pipeline, or nil.
func (p scheduledPipelines) previous(ctx context.Context, id model.PipelineID) (*model.Pipeline, error) {
	prev, err := p.Pipelines.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return prev, err
}

// Save saves the pipeline, then brings its schedules in line. A schedule
// that cannot be written is an error after the save: the next save of the
// pipeline writes it again.
func (p scheduledPipelines) Save(ctx context.Context, pl *model.Pipeline, user string, expectVersion int) (int, error) {
	prev, err := p.previous(ctx, pl.ID)
	if err != nil {
		return 0, err
	}
	v, err := p.Pipelines.Save(ctx, pl, user, expectVersion)
	if err != nil {
		return v, err
	}
	if err := p.schedules.Sync(ctx, prev, pl); err != nil {
		return v, fmt.Errorf("pipeline %q saved as version %d, but its schedules were not updated (save it again): %w", pl.Name, v, err)
	}
	return v, nil
}

// Delete deletes the pipeline and its schedules.
func (p scheduledPipelines) Delete(ctx context.Context, id model.PipelineID) error {
	prev, err := p.previous(ctx, id)
	if err != nil {
		return err
	}
	if err := p.Pipelines.Delete(ctx, id); err != nil {
		return err
	}
	return p.schedules.Sync(ctx, prev, nil)
}

// HandleLambda handles what the triggers function receives: an EventBridge
// event from a rule, a batch of SQS messages (pubsub triggers), or a
// ScheduledInput from a cron trigger's schedule. An error makes Lambda
// deliver the event again, which starts nothing twice.
func (h *Handler) HandleLambda(ctx context.Context, raw []byte) (Response, error) {
	return h.dispatch(ctx, raw, true)
}

// dispatch handles any of what POST /events and the triggers function
// take, or (start false) explains it.
func (h *Handler) dispatch(ctx context.Context, raw []byte, start bool) (Response, error) {
	resp := Response{Events: []EventOutcome{}}
	var probe struct {
		Cron    *struct{}       `json:"gennakerCron"`
		Records json.RawMessage `json:"Records"`
	}
	_ = jsonUnmarshal(raw, &probe)
	switch {
	case probe.Cron != nil:
		var in ScheduledInput
		if err := jsonUnmarshal(raw, &in); err != nil {
			return resp, &BadEventError{Err: err}
		}
		ev, err := in.Event()
		if err != nil {
			return resp, &BadEventError{Err: err}
		}
		out, err := h.handleOne(ctx, ev, start)
		resp.Events = append(resp.Events, out)
		return resp, err
	case probe.Records != nil:
		var batch sqsBatch
		if err := jsonUnmarshal(raw, &batch); err != nil {
			return resp, &BadEventError{Err: err}
		}
		for _, r := range batch.Records {
			ev, err := fromSQS(r)
			if errors.Is(err, ErrUnknownEvent) {
				resp.Events = append(resp.Events, EventOutcome{ID: r.MessageID, Ignored: err.Error(), Pipelines: []Outcome{}})
				continue
			}
			if err != nil {
				return resp, &BadEventError{Err: err}
			}
			out, err := h.handleOne(ctx, ev, start)
			if err != nil {
				return resp, err
			}
			resp.Events = append(resp.Events, out)
		}
		return resp, nil
	}
	events, err := ParseEventBridge(raw)
	if err != nil {
		return resp, &BadEventError{Err: fmt.Errorf("not an EventBridge event, a PutEvents request, an SQS batch or a schedule's input: %w", err)}
	}
	for _, e := range events {
		out, err := h.eventBridge(ctx, e, start)
		if err != nil {
			return resp, err
		}
		resp.Events = append(resp.Events, out)
	}
	return resp, nil
}
