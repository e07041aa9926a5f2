package triggers

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/gennaker/gennaker/shared/mototest"
)

func TestSchedulesFollowThePipeline(t *testing.T) {
	srv := mototest.Shared(t)
	client := scheduler.NewFromConfig(srv.Config(srv.NewAccount()))
	ctx := t.Context()
	if _, err := client.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: ptr("gennaker")}); err != nil {
		t.Fatal(err)
	}
	s := &Schedules{Client: client, Group: "gennaker",
		TargetARN: "arn:aws:lambda:us-east-1:123456789012:function:triggers",
		RoleARN:   "arn:aws:iam::123456789012:role/scheduler"}
	get := func(name string) *scheduler.GetScheduleOutput {
		t.Helper()
		out, err := client.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: &name, GroupName: ptr("gennaker")})
		var missing *types.ResourceNotFoundException
		if errors.As(err, &missing) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	v1 := pipelineWith(t, "p1", "Nightly", `[{"type":"cron","enabled":true,"cronExpression":"0 0 2 * * ?"},
		{"type":"cron","enabled":false,"cronExpression":"0 0 3 * * ?"}]`, "")
	if err := s.Sync(ctx, nil, v1); err != nil {
		t.Fatal(err)
	}
	got := get(ScheduleName("p1", 0))
	if got == nil || *got.ScheduleExpression != "cron(0 2 * * ? *)" || *got.Target.Arn != s.TargetARN || *got.Target.RoleArn != s.RoleARN {
		t.Fatalf("schedule of trigger 0: %+v, want cron(0 2 * * ? *) invoking the triggers function", got)
	}
	var in ScheduledInput
	if err := json.Unmarshal([]byte(*got.Target.Input), &in); err != nil || in.Cron.PipelineID != "p1" || in.Cron.TriggerIndex != 0 {
		t.Fatalf("schedule input %s does not name trigger 0 of p1", *got.Target.Input)
	}
	if get(ScheduleName("p1", 1)) != nil {
		t.Fatal("a disabled cron trigger has a schedule")
	}

	v2 := pipelineWith(t, "p1", "Nightly", `[{"type":"cron","enabled":true,"cronExpression":"0 30 4 ? * MON-FRI","timeZone":"Europe/Paris"},
		{"type":"cron","enabled":true,"cronExpression":"0 0 3 * * ?"}]`, "")
	if err := s.Sync(ctx, v1, v2); err != nil {
		t.Fatal(err)
	}
	if got := get(ScheduleName("p1", 0)); got == nil || *got.ScheduleExpression != "cron(30 4 ? * MON-FRI *)" || *got.ScheduleExpressionTimezone != "Europe/Paris" {
		t.Fatalf("changed schedule: %+v", got)
	}
	if get(ScheduleName("p1", 1)) == nil {
		t.Fatal("an enabled cron trigger has no schedule")
	}

	v3 := *v2
	v3.Disabled = true
	if err := s.Sync(ctx, v2, &v3); err != nil {
		t.Fatal(err)
	}
	if get(ScheduleName("p1", 0)) != nil || get(ScheduleName("p1", 1)) != nil {
		t.Fatal("a disabled pipeline keeps its schedules")
	}
	if err := s.Sync(ctx, v2, v2); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx, v2, nil); err != nil {
		t.Fatal(err)
	}
	if get(ScheduleName("p1", 0)) != nil || get(ScheduleName("p1", 1)) != nil {
		t.Fatal("a deleted pipeline keeps its schedules")
	}
	if err := s.Sync(ctx, v2, nil); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
}

func TestSavingAPipelineKeepsItsSchedules(t *testing.T) {
	srv := mototest.Shared(t)
	client := scheduler.NewFromConfig(srv.Config(srv.NewAccount()))
	ctx := t.Context()
	if _, err := client.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: ptr("g")}); err != nil {
		t.Fatal(err)
	}
	st := WithSchedules(openStore(t), &Schedules{Client: client, Group: "g",
		TargetARN: "arn:aws:lambda:us-east-1:123456789012:function:triggers", RoleARN: "arn:aws:iam::123456789012:role/scheduler"})
	count := func() int {
		out, err := client.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: ptr("g")})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Schedules)
	}
	p := pipelineWith(t, "p1", "Nightly", `[{"type":"cron","enabled":true,"cronExpression":"0 0 2 * * ?"}]`, "")
	if _, err := st.Pipelines().Save(ctx, p, "", 0); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("after saving a pipeline with a cron trigger: %d schedules, want 1", n)
	}
	if entries, _ := st.Triggers().Lookup(ctx, CronKey); len(entries) != 1 {
		t.Fatalf("the wrapped store does not index the trigger: %v", entries)
	}
	if err := st.Pipelines().Delete(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("after deleting it: %d schedules, want 0", n)
	}
}
