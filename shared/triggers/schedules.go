package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/gennaker/gennaker/shared/model"
)

// SchedulerAPI is the part of the EventBridge Scheduler client Schedules
// calls; *scheduler.Client is one.
type SchedulerAPI interface {
	CreateSchedule(ctx context.Context, in *scheduler.CreateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error)
	UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
	DeleteSchedule(ctx context.Context, in *scheduler.DeleteScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error)
}

var _ SchedulerAPI = (*scheduler.Client)(nil)

// Schedules keeps one EventBridge Scheduler schedule per enabled cron
// trigger of an enabled pipeline, in one schedule group, each invoking the
// triggers function with a ScheduledInput. Nothing polls: at idle the
// schedules cost nothing.
type Schedules struct {
	Client SchedulerAPI
	// Group is the schedule group (the stack creates it).
	Group string
	// TargetARN is the triggers function's ARN.
	TargetARN string
	// RoleARN is the role EventBridge Scheduler assumes to invoke it.
	RoleARN string
}

// ScheduledInput is what a schedule sends the triggers function.
type ScheduledInput struct {
	Cron struct {
		PipelineID   model.PipelineID `json:"pipelineId"`
		TriggerIndex int              `json:"triggerIndex"`
		// ScheduledTime is the time the schedule fired for, filled by
		// EventBridge Scheduler.
		ScheduledTime string `json:"scheduledTime"`
	} `json:"gennakerCron"`
}

// Event is the cron event of the scheduled input.
func (in ScheduledInput) Event() (*Event, error) {
	at, err := time.Parse(time.RFC3339, in.Cron.ScheduledTime)
	if err != nil {
		return nil, fmt.Errorf("gennakerCron.scheduledTime %q: %w", in.Cron.ScheduledTime, err)
	}
	return CronFired(in.Cron.PipelineID, in.Cron.TriggerIndex, at), nil
}

var scheduleName = regexp.MustCompile(`^[0-9a-zA-Z_.-]{1,58}$`)

// ScheduleName is the name of the schedule of a pipeline's trigger.
func ScheduleName(id model.PipelineID, index int) string {
	if scheduleName.MatchString(string(id)) {
		return fmt.Sprintf("%s-%d", id, index)
	}
	return fmt.Sprintf("h%s-%d", hashID(string(id))[:32], index)
}

// cronTriggers returns the enabled cron triggers of p by index, with their
// EventBridge expression; nil p has none.
func cronTriggers(p *model.Pipeline) map[int]model.Trigger {
	out := map[int]model.Trigger{}
	if p == nil || p.Disabled {
		return out
	}
	for i, tr := range p.Triggers {
		if tr.Type == "cron" && tr.Enabled {
			if _, _, err := cronSchedule(tr); err == nil {
				out[i] = tr
			}
		}
	}
	return out
}

// Sync makes the schedules of a pipeline match its saved version cur (nil
// once deleted), given the version it replaced (nil for none): it creates
// the schedules of new cron triggers, updates those that remain, and
// deletes those that went. It is idempotent, so a sync that failed half way
// is finished by the next.
func (s *Schedules) Sync(ctx context.Context, prev, cur *model.Pipeline) error {
	var id model.PipelineID
	switch {
	case cur != nil:
		id = cur.ID
	case prev != nil:
		id = prev.ID
	default:
		return nil
	}
	want := cronTriggers(cur)
	var errs []error
	for i := range cronTriggers(prev) {
		if _, ok := want[i]; ok {
			continue
		}
		if err := s.delete(ctx, ScheduleName(id, i)); err != nil {
			errs = append(errs, err)
		}
	}
	for i, tr := range want {
		if err := s.put(ctx, id, i, tr); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("schedules of pipeline %s: %w", id, err)
	}
	return nil
}

func (s *Schedules) delete(ctx context.Context, name string) error {
	_, err := s.Client.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: &name, GroupName: &s.Group})
	var missing *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &missing) {
		return fmt.Errorf("delete schedule %s: %w", name, err)
	}
	return nil
}

func (s *Schedules) put(ctx context.Context, id model.PipelineID, index int, tr model.Trigger) error {
	q, loc, _ := cronSchedule(tr)
	expr, _ := q.EventBridge()
	var in ScheduledInput
	in.Cron.PipelineID, in.Cron.TriggerIndex = id, index
	in.Cron.ScheduledTime = "<aws.scheduler.scheduled-time>"
	payload, _ := json.Marshal(in)
	name := ScheduleName(id, index)
	tz := loc.String()
	target := &types.Target{Arn: &s.TargetARN, RoleArn: &s.RoleARN, Input: ptr(string(payload))}
	window := &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}
	desc := fmt.Sprintf("gennaker: cron trigger %d of pipeline %s", index, id)
	_, err := s.Client.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
		Name: &name, GroupName: &s.Group, ScheduleExpression: &expr, ScheduleExpressionTimezone: &tz,
		Target: target, FlexibleTimeWindow: window, Description: &desc, State: types.ScheduleStateEnabled,
	})
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		_, err = s.Client.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
			Name: &name, GroupName: &s.Group, ScheduleExpression: &expr, ScheduleExpressionTimezone: &tz,
			Target: target, FlexibleTimeWindow: window, Description: &desc, State: types.ScheduleStateEnabled,
		})
	}
	if err != nil {
		return fmt.Errorf("schedule %s (%s): %w", name, expr, err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
