package triggers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// A cron trigger (cronExpression in Quartz form, optional timeZone, an IANA
// name; UTC without) fires on its schedule. In the cloud each enabled cron
// trigger is an EventBridge Scheduler schedule (schedules.go) that invokes
// the triggers function; in `gennaker up` an in-process scheduler (Cron)
// fires them. Either way the event's id is the trigger and the scheduled
// time, so a schedule delivered twice starts one run.

// CronKey is the index key every cron trigger is under.
var CronKey = model.TriggerIndexKey("cron")

// cronSchedule parses a cron trigger's expression and time zone.
func cronSchedule(tr model.Trigger) (*Quartz, *time.Location, error) {
	q, err := ParseQuartz(tr.Field("cronExpression"))
	if err != nil {
		return nil, nil, err
	}
	loc := time.UTC
	if tz := tr.Field("timeZone"); tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			return nil, nil, fmt.Errorf("timeZone %q: %w", tz, err)
		}
	}
	return q, loc, nil
}

// CronFired is the event of a cron trigger firing for the time it was
// scheduled at.
func CronFired(pipeline model.PipelineID, index int, scheduled time.Time) *Event {
	at := scheduled.UTC().Format(time.RFC3339)
	return &Event{
		ID:          fmt.Sprintf("cron/%s/%d/%s", pipeline, index, at),
		Type:        "cron",
		Key:         CronKey,
		Description: fmt.Sprintf("schedule of pipeline %s (trigger %d) at %s", pipeline, index, at),
		only:        &store.TriggerEntry{PipelineID: pipeline, Index: index},
		match:       func(model.Trigger) string { return "" },
		fields: func(model.Trigger) map[string]any {
			return map[string]any{"scheduledTime": at}
		},
	}
}

// Cron fires the cron triggers of the pipelines in the store, in process:
// every second it starts a run for each schedule that came due since the
// previous check. Schedules missed while it was not running do not fire
// late.
type Cron struct {
	Handler *Handler
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	last   time.Time
}

// Run checks the schedules every second until ctx ends.
func (c *Cron) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if _, err := c.Tick(ctx); err != nil && ctx.Err() == nil {
			c.log().WarnContext(ctx, "cron triggers", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *Cron) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// Tick starts the runs of every schedule due since the previous Tick (the
// first only notes the time) and returns what it did.
func (c *Cron) Tick(ctx context.Context) ([]Outcome, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	t := now()
	since := c.last
	c.last = t
	if since.IsZero() {
		return nil, nil
	}
	entries, err := c.Handler.Store.Triggers().Lookup(ctx, CronKey)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	for _, e := range entries {
		if e.Trigger.Type != "cron" || !e.Trigger.Enabled || e.PipelineDisabled {
			continue
		}
		q, loc, err := cronSchedule(e.Trigger)
		if err != nil {
			continue // the save warned about it
		}
		// The latest due time in (since, t], if any.
		var due time.Time
		for n := q.Next(since.In(loc)); !n.IsZero() && !n.After(t); n = q.Next(n) {
			due = n
		}
		if due.IsZero() {
			continue
		}
		outs, err := c.Handler.Handle(ctx, CronFired(e.PipelineID, e.Index, due))
		if err != nil {
			return out, err
		}
		out = append(out, outs...)
	}
	return out, nil
}
