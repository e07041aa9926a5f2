package flow

import (
	"cmp"
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"

	"github.com/gennaker/gennaker/shared/model"
)

// Spinnaker day numbers (java.util.Calendar, as Deck saves them).
const (
	sun = 1
	mon = 2
	tue = 3
	wed = 4
	thu = 5
	fri = 6
	sat = 7
)

func at(t *testing.T, zone, value string) time.Time {
	t.Helper()
	loc := time.UTC
	if zone != "" {
		var err error
		if loc, err = time.LoadLocation(zone); err != nil {
			t.Fatal(err)
		}
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", value, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func hours(sh, sm, eh, em int) model.TimeRange {
	return model.TimeRange{StartHour: sh, StartMin: sm, EndHour: eh, EndMin: em}
}

var nineToFive = []model.TimeRange{hours(9, 0, 17, 0)}

func TestNextWindow(t *testing.T) {
	// 2025-03-10 is a Monday.
	tests := []struct {
		name    string
		window  model.ExecutionWindow
		zone    string // of now and want
		now     string
		want    string // empty: now is in the window
		wantErr string
	}{
		{name: "inside the window", window: model.ExecutionWindow{Whitelist: nineToFive}, now: "2025-03-10 10:00"},
		{name: "at the window start", window: model.ExecutionWindow{Whitelist: nineToFive}, now: "2025-03-10 09:00"},
		{name: "before it opens today", window: model.ExecutionWindow{Whitelist: nineToFive}, now: "2025-03-10 08:30", want: "2025-03-10 09:00"},
		{name: "end is exclusive", window: model.ExecutionWindow{Whitelist: nineToFive}, now: "2025-03-10 17:00", want: "2025-03-11 09:00"},
		{name: "after it closes: tomorrow", window: model.ExecutionWindow{Whitelist: nineToFive}, now: "2025-03-10 18:00", want: "2025-03-11 09:00"},
		{name: "end of the year", window: model.ExecutionWindow{Whitelist: nineToFive}, now: "2025-12-31 20:00", want: "2026-01-01 09:00"},
		{name: "weekdays only, on Saturday", window: model.ExecutionWindow{Whitelist: nineToFive, Days: []int{mon, tue, wed, thu, fri}}, now: "2025-03-15 10:00", want: "2025-03-17 09:00"},
		{name: "weekdays only, Friday evening", window: model.ExecutionWindow{Whitelist: nineToFive, Days: []int{mon, tue, wed, thu, fri}}, now: "2025-03-14 18:00", want: "2025-03-17 09:00"},
		{name: "weekdays only, Monday inside", window: model.ExecutionWindow{Whitelist: nineToFive, Days: []int{mon, tue, wed, thu, fri}}, now: "2025-03-10 16:59"},
		{name: "Sunday is day 1", window: model.ExecutionWindow{Whitelist: nineToFive, Days: []int{sun}}, now: "2025-03-10 10:00", want: "2025-03-16 09:00"},
		{name: "Saturday is day 7", window: model.ExecutionWindow{Whitelist: nineToFive, Days: []int{sat}}, now: "2025-03-15 09:30"},
		{name: "only today, already closed: next week", window: model.ExecutionWindow{Whitelist: nineToFive, Days: []int{mon}}, now: "2025-03-10 18:00", want: "2025-03-17 09:00"},
		{name: "past midnight, late part", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(22, 0, 2, 0)}}, now: "2025-03-10 23:00"},
		{name: "past midnight, early part", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(22, 0, 2, 0)}}, now: "2025-03-11 01:30"},
		{name: "past midnight, in between", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(22, 0, 2, 0)}}, now: "2025-03-10 12:00", want: "2025-03-10 22:00"},
		{name: "past midnight, end exclusive", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(22, 0, 2, 0)}}, now: "2025-03-10 02:00", want: "2025-03-10 22:00"},
		{name: "same hour, wrapping minutes", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(10, 30, 10, 15)}}, now: "2025-03-10 10:20", want: "2025-03-10 10:30"},
		{
			name:   "past midnight with a day filter counts per calendar day",
			window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(22, 0, 2, 0)}, Days: []int{mon}},
			now:    "2025-03-11 01:00", want: "2025-03-17 00:00",
		},
		{
			name:   "past midnight with a day filter, Monday night",
			window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(22, 0, 2, 0)}, Days: []int{mon}},
			now:    "2025-03-10 03:00", want: "2025-03-10 22:00",
		},
		{name: "several ranges out of order, between", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(13, 0, 14, 0), hours(9, 0, 10, 0)}}, now: "2025-03-10 11:00", want: "2025-03-10 13:00"},
		{name: "several ranges out of order, early", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(13, 0, 14, 0), hours(9, 0, 10, 0)}}, now: "2025-03-10 08:00", want: "2025-03-10 09:00"},
		{name: "several ranges, in the second", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(13, 0, 14, 0), hours(9, 0, 10, 0)}}, now: "2025-03-10 13:30"},
		{name: "days without ranges: the whole day", window: model.ExecutionWindow{Days: []int{sat}}, now: "2025-03-10 10:00", want: "2025-03-15 00:00"},
		{name: "days without ranges, on the day", window: model.ExecutionWindow{Days: []int{mon}}, now: "2025-03-10 23:59"},
		{name: "nothing configured: always open", window: model.ExecutionWindow{}, now: "2025-03-10 03:17"},
		{name: "end hour 24 is midnight, inside", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(20, 0, 24, 0)}}, now: "2025-03-10 23:59"},
		{name: "end hour 24 is midnight, before", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(20, 0, 24, 0)}}, now: "2025-03-10 19:00", want: "2025-03-10 20:00"},
		{name: "an empty range is ignored", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(0, 0, 0, 0), hours(9, 0, 17, 0)}}, now: "2025-03-10 08:00", want: "2025-03-10 09:00"},
		{name: "in a time zone", window: model.ExecutionWindow{Whitelist: nineToFive, TimeZone: "Europe/Paris"}, zone: "Europe/Paris", now: "2025-03-10 08:30", want: "2025-03-10 09:00"},
		{name: "in a time zone, weekday by local date", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(0, 0, 8, 0)}, Days: []int{tue}, TimeZone: "Asia/Tokyo"}, zone: "Asia/Tokyo", now: "2025-03-11 07:00"},
		{name: "clocks go forward overnight", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(9, 0, 10, 0)}, TimeZone: "America/New_York"}, zone: "America/New_York", now: "2025-03-08 12:00", want: "2025-03-09 09:00"},
		{name: "clocks go back overnight", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(9, 0, 10, 0)}, TimeZone: "America/New_York"}, zone: "America/New_York", now: "2025-11-01 12:00", want: "2025-11-02 09:00"},
		{name: "window starts in the skipped hour", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(2, 30, 4, 0)}, TimeZone: "America/New_York"}, zone: "America/New_York", now: "2025-03-09 01:00", want: "2025-03-09 03:00"},
		{name: "window in the repeated hour", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(1, 0, 1, 30)}, TimeZone: "America/New_York"}, zone: "America/New_York", now: "2025-11-02 00:30", want: "2025-11-02 01:00"},
		{name: "unknown time zone", window: model.ExecutionWindow{Whitelist: nineToFive, TimeZone: "Mars/Olympus"}, now: "2025-03-10 10:00", wantErr: `timeZone "Mars/Olympus"`},
		{name: "hour out of range", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(9, 0, 25, 0)}}, now: "2025-03-10 10:00", wantErr: "whitelist[0]: end 25:00"},
		{name: "minute out of range", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(9, 0, 10, 0), hours(9, 60, 10, 0)}}, now: "2025-03-10 10:00", wantErr: "whitelist[1]: start 09:60"},
		{name: "day 0", window: model.ExecutionWindow{Whitelist: nineToFive, Days: []int{mon, 0}}, now: "2025-03-10 10:00", wantErr: "days[1]: 0 is not a day"},
		{name: "day 8", window: model.ExecutionWindow{Days: []int{8}}, now: "2025-03-10 10:00", wantErr: "days[0]: 8 is not a day"},
		{name: "only empty ranges", window: model.ExecutionWindow{Whitelist: []model.TimeRange{hours(0, 0, 0, 0)}}, now: "2025-03-10 10:00", wantErr: "no window ever opens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := at(t, tt.zone, tt.now)
			got, in, err := NextWindow(now, tt.window)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, wantIn := now, true
			if tt.want != "" {
				want, wantIn = at(t, tt.zone, tt.want), false
			}
			if !got.Equal(want) || in != wantIn {
				t.Fatalf("NextWindow(%s) = %s (in window %v), want %s (in window %v)", now, got.In(now.Location()), in, want, wantIn)
			}
		})
	}
}

func TestWaitForExecutionWindowTask(t *testing.T) {
	weekdaysNineToFive := map[string]any{
		"whitelist": []any{map[string]any{"startHour": 9.0, "startMin": 0.0, "endHour": 17.0, "endMin": 0.0}},
		"days":      []any{2.0, 3.0, 4.0, 5.0, 6.0},
	}
	withJitter := func(j map[string]any) map[string]any {
		w := maps.Clone(weekdaysNineToFive)
		w["jitter"] = j
		return w
	}
	tests := []struct {
		name        string
		ctx         map[string]any
		now         time.Time
		trigger     string
		wantStatus  model.Status
		wantBackoff time.Duration
		wantContext map[string]any
		wantError   string
	}{
		{name: "inside the window", ctx: map[string]any{"restrictedExecutionWindow": weekdaysNineToFive}, now: stagestest.T0, wantStatus: model.StatusSucceeded},
		{
			name: "before it opens", ctx: map[string]any{"restrictedExecutionWindow": weekdaysNineToFive},
			now: stagestest.T0.Add(-4 * time.Hour), wantStatus: model.StatusRunning, wantBackoff: time.Hour,
			wantContext: map[string]any{"executionWindowOpensAt": float64(stagestest.T0.Add(-3 * time.Hour).UnixMilli())},
		},
		{
			name: "Friday night until Monday", ctx: map[string]any{"restrictedExecutionWindow": weekdaysNineToFive},
			now: stagestest.T0.Add(-(2*24 + 14) * time.Hour), wantStatus: model.StatusRunning, wantBackoff: (2*24 + 11) * time.Hour,
		},
		{
			name: "skipped by a user", ctx: map[string]any{"restrictedExecutionWindow": weekdaysNineToFive, "skipRemainingWait": true},
			now: stagestest.T0.Add(-4 * time.Hour), wantStatus: model.StatusSucceeded,
			wantContext: map[string]any{"skipRemainingWait": false, "executionWindowSkipped": true},
		},
		{
			name: "jitter after the window opens", ctx: map[string]any{"restrictedExecutionWindow": withJitter(map[string]any{"enabled": true, "minDelay": 30.0, "maxDelay": 30.0})},
			now: stagestest.T0, wantStatus: model.StatusRunning, wantBackoff: 30 * time.Second,
			wantContext: map[string]any{"executionWindowJitterUntil": float64(stagestest.T0.Add(30 * time.Second).UnixMilli())},
		},
		{
			name: "jitter in progress", ctx: map[string]any{"restrictedExecutionWindow": weekdaysNineToFive, "executionWindowJitterUntil": float64(stagestest.T0.Add(20 * time.Second).UnixMilli())},
			now: stagestest.T0, wantStatus: model.StatusRunning, wantBackoff: 20 * time.Second,
		},
		{
			name: "jitter over", ctx: map[string]any{"restrictedExecutionWindow": weekdaysNineToFive, "executionWindowJitterUntil": float64(stagestest.T0.UnixMilli())},
			now: stagestest.T0, wantStatus: model.StatusSucceeded,
		},
		{
			name: "jitter skipped for manual runs", ctx: map[string]any{"restrictedExecutionWindow": withJitter(map[string]any{"enabled": true, "minDelay": 30.0, "maxDelay": 60.0, "skipManual": true})},
			now: stagestest.T0, trigger: "manual", wantStatus: model.StatusSucceeded,
		},
		{
			name: "jitter disabled", ctx: map[string]any{"restrictedExecutionWindow": withJitter(map[string]any{"enabled": false, "minDelay": 30.0, "maxDelay": 60.0})},
			now: stagestest.T0, wantStatus: model.StatusSucceeded,
		},
		{name: "window missing", ctx: map[string]any{"restrictExecutionDuringTimeWindow": true}, now: stagestest.T0, wantStatus: model.StatusTerminal, wantError: "restrictedExecutionWindow is missing"},
		{
			name: "bad time zone", ctx: map[string]any{"restrictedExecutionWindow": map[string]any{"timeZone": "Nowhere/Atlantis"}},
			now: stagestest.T0, wantStatus: model.StatusTerminal, wantError: `restrictedExecutionWindow: timeZone "Nowhere/Atlantis"`,
		},
		{
			name: "window of the wrong shape", ctx: map[string]any{"restrictedExecutionWindow": map[string]any{"days": "weekdays"}},
			now: stagestest.T0, wantStatus: model.StatusTerminal, wantError: "restrictedExecutionWindow.days: must be a list",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := stagestest.NewRun(tt.ctx)
			run.Now = tt.now
			run.Execution.Trigger.Type = cmp.Or(tt.trigger, "git")
			r, err := WaitForExecutionWindowTask{}.Execute(context.Background(), run)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantError != "" {
				stagestest.CheckFailure(t, r, tt.wantStatus, tt.wantError)
				return
			}
			if r.Status != tt.wantStatus || r.Backoff != tt.wantBackoff {
				t.Fatalf("got %s after %v, want %s after %v", r.Status, r.Backoff, tt.wantStatus, tt.wantBackoff)
			}
			if r.Status == model.StatusRunning && r.Wake != stages.Sleep {
				t.Errorf("wake = %v, want Sleep so that a skip ends the wait at once", r.Wake)
			}
			for k, want := range tt.wantContext {
				if got := r.Context[k]; got != want {
					t.Errorf("context[%s] = %v, want %v", k, got, want)
				}
			}
		})
	}
}

// A user who skips the execution window of a wait stage still gets the wait.
func TestSkippingTheWindowDoesNotSkipTheWait(t *testing.T) {
	run := stagestest.NewRun(map[string]any{
		"waitTime":                          600.0,
		"restrictExecutionDuringTimeWindow": true,
		"restrictedExecutionWindow":         map[string]any{"days": []any{float64(sat)}},
		"skipRemainingWait":                 true,
	})
	r, err := WaitForExecutionWindowTask{}.Execute(context.Background(), run)
	if err != nil || r.Status != model.StatusSucceeded {
		t.Fatalf("window task: %v, %v; want SUCCEEDED", r.Status, err)
	}
	stagestest.Apply(run, r)
	run.Stage.Orchestration.TaskStartTime = run.Now.UnixMilli()
	r, err = execute(WaitTask{}, run)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != model.StatusRunning || r.Backoff != 10*time.Minute {
		t.Fatalf("wait task after a skipped window: %s after %v, want RUNNING for 10m", r.Status, r.Backoff)
	}
}

// The jitter is the same when the task is retried, and spread between stages.
func TestJitterIsStablePerStage(t *testing.T) {
	j := &model.WindowJitter{Enabled: true, MinDelay: 10, MaxDelay: 600}
	seen := map[time.Duration]bool{}
	for _, id := range []model.StageID{"a", "b", "c", "d", "e", "f"} {
		run := stagestest.NewRun(nil)
		run.Stage.ID = id
		d := jitterDelay(run, j)
		if d != jitterDelay(run, j) {
			t.Fatalf("stage %s: jitter changed between calls", id)
		}
		if d < 10*time.Second || d > 600*time.Second {
			t.Fatalf("stage %s: jitter %v outside [10s, 600s]", id, d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatalf("every stage got the same jitter %v", seen)
	}
}

func TestRestrictsExecutionWindow(t *testing.T) {
	tests := []struct {
		name    string
		ctx     map[string]any
		want    bool
		wantErr bool
	}{
		{"unset", map[string]any{}, false, false},
		{"true", map[string]any{"restrictExecutionDuringTimeWindow": true}, true, false},
		{"evaluated expression", map[string]any{"restrictExecutionDuringTimeWindow": "true"}, true, false},
		{"false", map[string]any{"restrictExecutionDuringTimeWindow": false}, false, false},
		{"garbage", map[string]any{"restrictExecutionDuringTimeWindow": "sometimes"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RestrictsExecutionWindow(tt.ctx)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("got %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
