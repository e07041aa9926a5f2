package flow

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
)

// ExecutionWindowTaskName is the task the orchestrator plans before a stage's
// own tasks when the stage sets restrictExecutionDuringTimeWindow.
const ExecutionWindowTaskName = "WaitForExecutionWindow"

// executionWindowConfig is what any stage may carry to be held by an
// execution window, plus what WaitForExecutionWindow and a user recorded.
// The window task runs for stages of every type, so it decodes this part of
// the context itself rather than through the stage type's configuration.
type executionWindowConfig struct {
	RestrictExecutionDuringTimeWindow bool                   `json:"restrictExecutionDuringTimeWindow"`
	RestrictedExecutionWindow         *model.ExecutionWindow `json:"restrictedExecutionWindow"`
	// SkipRemainingWait is set by a user's PATCH.
	SkipRemainingWait bool `json:"skipRemainingWait"`
	// JitterUntil is when the jitter delay ends (ms since epoch).
	JitterUntil *int64 `json:"executionWindowJitterUntil"`
}

// RestrictsExecutionWindow reports whether a stage's evaluated context asks
// for an execution window (restrictExecutionDuringTimeWindow, which Deck lets
// users set to an expression).
func RestrictsExecutionWindow(ctx map[string]any) (bool, error) {
	var restrict struct {
		Restrict bool `json:"restrictExecutionDuringTimeWindow"`
	}
	if err := stages.Decode(ctx, &restrict).Err(); err != nil {
		return false, err
	}
	return restrict.Restrict, nil
}

// heldByWindow reports whether a stage is restricted to execution windows,
// so that a user may skip the window.
func heldByWindow(s *model.StageExecution) bool {
	restricted, err := RestrictsExecutionWindow(s.Context)
	return err == nil && restricted
}

// executionWindowPatcher takes a user's skip of the execution window that
// holds a stage of any type.
type executionWindowPatcher struct{}

// Patch implements stages.Patcher.
func (executionWindowPatcher) Patch(s *model.StageExecution, patch map[string]any) (map[string]any, error) {
	return decidePatch(s, patch, patchRules{skip: func(s *model.StageExecution) bool {
		// Orca once planned windows as a stage of their own type.
		return s.Type == "restrictExecutionDuringTimeWindow" || heldByWindow(s)
	}})
}

// WaitForExecutionWindowTask holds a stage until one of its execution
// windows is open, then waits the configured jitter. A user may skip the
// window (PATCH skipRemainingWait: true).
type WaitForExecutionWindowTask struct{}

// Name implements Task.
func (WaitForExecutionWindowTask) Name() string { return ExecutionWindowTaskName }

// Execute implements Task.
func (WaitForExecutionWindowTask) Execute(_ context.Context, run *stages.Run) (stages.Result, error) {
	var cfg executionWindowConfig
	if err := stages.Decode(run.Stage.Context, &cfg).Err(); err != nil {
		return stages.Failed("%v", err), nil
	}
	if cfg.SkipRemainingWait {
		// The stage's own tasks share this context; a wait stage must not see
		// the skip meant for its window.
		return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(windowSkipped{Skipped: true})}, nil
	}
	if cfg.JitterUntil != nil {
		return sleepUntil(run.Now, time.UnixMilli(*cfg.JitterUntil)), nil
	}
	w := cfg.RestrictedExecutionWindow
	if w == nil {
		return stages.Failed("restrictExecutionDuringTimeWindow is set but restrictedExecutionWindow is missing"), nil
	}
	start, inWindow, err := NextWindow(run.Now, *w)
	if err != nil {
		return stages.Failed("restrictedExecutionWindow: %v", err), nil
	}
	if !inWindow {
		return stages.Result{
			Status:  model.StatusRunning,
			Backoff: start.Sub(run.Now),
			Wake:    stages.Sleep,
			Context: stages.Record(windowClosed{OpensAt: start.UnixMilli()}),
		}, nil
	}
	if delay := jitterDelay(run, w.Jitter); delay > 0 {
		until := run.Now.Add(delay)
		r := sleepUntil(run.Now, until)
		r.Context = stages.Record(windowJitter{Until: until.UnixMilli()})
		return r, nil
	}
	return stages.Succeeded(), nil
}

// windowSkipped is what a skipped window records.
type windowSkipped struct {
	// SkipRemainingWait is cleared: the stage's own tasks share this
	// context, and a wait stage must not see the skip meant for its window.
	SkipRemainingWait bool `json:"skipRemainingWait"`
	Skipped           bool `json:"executionWindowSkipped"`
}

// windowClosed is what a wait for the window records, for people watching
// the run: when it opens, in Unix milliseconds.
type windowClosed struct {
	OpensAt int64 `json:"executionWindowOpensAt"`
}

// windowJitter is what a wait for the window's jitter records: when it
// ends, in Unix milliseconds.
type windowJitter struct {
	Until int64 `json:"executionWindowJitterUntil"`
}

func sleepUntil(now, until time.Time) stages.Result {
	if !now.Before(until) {
		return stages.Succeeded()
	}
	return stages.Result{Status: model.StatusRunning, Backoff: until.Sub(now), Wake: stages.Sleep}
}

// jitterDelay is the random delay after a window opens that spreads stages
// started by one event. It is derived from the stage id, so a retried task
// picks the same delay.
func jitterDelay(run *stages.Run, j *model.WindowJitter) time.Duration {
	if j == nil || !j.Enabled || j.MaxDelay <= 0 {
		return 0
	}
	if j.SkipManual && run.Execution != nil && run.Execution.Trigger.Type == "manual" {
		return 0
	}
	lo, hi := max(j.MinDelay, 0), j.MaxDelay
	if hi <= lo {
		return time.Duration(lo) * time.Second
	}
	h := fnv.New64a()
	h.Write([]byte(run.Stage.ID))
	secs := lo + int(h.Sum64()%uint64(hi-lo+1))
	return time.Duration(secs) * time.Second
}

// NextWindow returns the earliest instant at or after now that lies inside
// the execution window w, and whether that instant is now itself.
//
// The semantics are Spinnaker's:
//   - Whitelist ranges are wall-clock times of day in w.TimeZone (UTC when
//     empty), start inclusive and end exclusive; an end hour of 24 means
//     midnight. A range whose end is before its start wraps past midnight and
//     counts as two ranges of the same calendar day, start–24:00 and
//     00:00–end (so with a day filter, "Mon 22:00–02:00" covers early Monday
//     morning and Monday night). A range whose start equals its end is empty.
//   - Days are Spinnaker's (Deck and orca use java.util.Calendar numbering):
//     1 is Sunday, 2 Monday, … 7 Saturday. No days means every day.
//   - No whitelist ranges means the whole of every allowed day.
//
// Times are built in the zone, day by day, so windows keep their wall-clock
// times across daylight-saving changes; a window start that falls in a
// spring-forward gap opens when the clocks reach the next valid time.
//
// It fails when w is malformed (bad zone, hours, minutes or days) or when no
// window ever opens (every range is empty).
func NextWindow(now time.Time, w model.ExecutionWindow) (time.Time, bool, error) {
	loc, err := windowLocation(w.TimeZone)
	if err != nil {
		return time.Time{}, false, err
	}
	segments, err := windowSegments(w.Whitelist)
	if err != nil {
		return time.Time{}, false, err
	}
	days, err := windowDays(w.Days)
	if err != nil {
		return time.Time{}, false, err
	}
	if len(segments) == 0 {
		return time.Time{}, false, fmt.Errorf("no window ever opens: every whitelist range starts and ends at the same time")
	}

	local := now.In(loc)
	y, m, d := local.Date()
	// Eight days cover every weekday once more than needed, so a window
	// that opened before now today is found again next week.
	for offset := 0; offset <= 7; offset++ {
		day := d + offset
		// Noon is never in a daylight-saving gap, so it names the weekday.
		if !days[time.Date(y, m, day, 12, 0, 0, 0, loc).Weekday()] {
			continue
		}
		var next time.Time
		for _, seg := range segments {
			start := wallClock(y, m, day, seg.start, loc)
			end := wallClock(y, m, day, seg.end, loc)
			if !now.Before(start) && now.Before(end) {
				return now, true, nil
			}
			if start.After(now) && start.Before(end) && (next.IsZero() || start.Before(next)) {
				next = start
			}
		}
		if !next.IsZero() {
			return next, false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("no window opens in the next week")
}

// segment is a range of minutes of one day, [start, end).
type segment struct{ start, end int }

const minutesPerDay = 24 * 60

func windowSegments(ranges []model.TimeRange) ([]segment, error) {
	if len(ranges) == 0 {
		return []segment{{0, minutesPerDay}}, nil
	}
	var out []segment
	for i, r := range ranges {
		if r.StartHour < 0 || r.StartHour > 23 || r.StartMin < 0 || r.StartMin > 59 {
			return nil, fmt.Errorf("whitelist[%d]: start %02d:%02d is not a time of day (hours 0-23, minutes 0-59)", i, r.StartHour, r.StartMin)
		}
		if r.EndHour < 0 || r.EndHour > 24 || r.EndMin < 0 || r.EndMin > 59 || (r.EndHour == 24 && r.EndMin != 0) {
			return nil, fmt.Errorf("whitelist[%d]: end %02d:%02d is not a time of day (hours 0-24, minutes 0-59)", i, r.EndHour, r.EndMin)
		}
		start, end := r.StartHour*60+r.StartMin, r.EndHour*60+r.EndMin
		switch {
		case start < end:
			out = append(out, segment{start, end})
		case start > end:
			out = append(out, segment{start, minutesPerDay})
			if end > 0 {
				out = append(out, segment{0, end})
			}
		}
	}
	return out, nil
}

func windowDays(days []int) (map[time.Weekday]bool, error) {
	out := map[time.Weekday]bool{}
	if len(days) == 0 {
		for wd := time.Sunday; wd <= time.Saturday; wd++ {
			out[wd] = true
		}
		return out, nil
	}
	for i, d := range days {
		if d < 1 || d > 7 {
			return nil, fmt.Errorf("days[%d]: %d is not a day (1 is Sunday … 7 is Saturday)", i, d)
		}
		out[time.Weekday(d-1)] = true
	}
	return out, nil
}

func windowLocation(name string) (*time.Location, error) {
	if strings.TrimSpace(name) == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("timeZone %q is not an IANA time zone such as Europe/Paris: %w", name, err)
	}
	return loc, nil
}

// wallClock is the instant a day's minute-of-day names in loc; minute 1440 is
// the next midnight. A wall-clock time that does not exist, because clocks
// jump forward over it, is taken as the instant of the jump: a window edge at
// 02:30 on a day the clocks go from 02:00 to 03:00 is 03:00.
func wallClock(y int, m time.Month, d, minute int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, minute/60, minute%60, 0, 0, loc)
	want := time.Date(y, m, d, minute/60, minute%60, 0, 0, time.UTC)
	got := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
	switch start, end := t.ZoneBounds(); {
	case got.Before(want) && !end.IsZero():
		return end
	case got.After(want) && !start.IsZero():
		return start
	}
	return t
}

var _ stages.Patcher = executionWindowPatcher{}
