package kayenta

import (
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
)

func f(v float64) *float64 { return &v }

// TestOrcaDecisions reproduces kayenta.md §4.6: each interval fails at or
// below the marginal score, and the last interval's score alone decides
// the stage.
func TestOrcaDecisions(t *testing.T) {
	cases := []struct {
		scores         []float64
		pass, marginal *float64
		want           model.Status
	}{
		{[]float64{80, 90, 96}, f(95), f(75), model.StatusSucceeded},
		{[]float64{80, 96, 90}, f(95), f(75), model.StatusTerminal},
		{[]float64{10.5, 40, 60.5}, f(60.5), nil, model.StatusSucceeded},
		{[]float64{10.5, 40, 60.5}, f(70), nil, model.StatusTerminal},
		{[]float64{65}, nil, f(68), model.StatusTerminal},
		{[]float64{65}, nil, nil, model.StatusSucceeded},
		{[]float64{75}, f(95), f(75), model.StatusTerminal},
	}
	for _, c := range cases {
		if got, msg := decide(c.scores, c.pass, c.marginal); got != c.want {
			t.Errorf("scores %v: %s (%s), want %s", c.scores, got, msg, c.want)
		}
	}
	if !intervalFails(40, f(75)) || !intervalFails(75, f(75)) || intervalFails(80, f(75)) || intervalFails(0, nil) {
		t.Errorf("an interval fails at or below the marginal score, and never without one")
	}
}

// TestWindows reproduces orca's interval planning: growing windows from
// the start, sliding with a lookback, the baseline offset on the control
// only, and the number of intervals lifetime / interval rounded down.
func TestWindows(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &config{CanaryConfig: canaryContext{LifetimeDuration: "PT48H", IntervalMins: f(480), LookbackMins: f(60)}}
	tm, err := c.schedule(t0)
	if err != nil {
		t.Fatal(err)
	}
	if tm.count != 6 {
		t.Fatalf("48 h in 8 h intervals is 6 intervals, got %d", tm.count)
	}
	for i := 1; i <= 6; i++ {
		w := tm.window(i, t0)
		wantEnd := t0.Add(time.Duration(8*i) * time.Hour)
		if !w.ExperimentEnd.Equal(wantEnd) || !w.ExperimentStart.Equal(wantEnd.Add(-time.Hour)) || !w.Ready.Equal(wantEnd) {
			t.Errorf("interval %d: %s–%s, want %s–%s", i, w.ExperimentStart, w.ExperimentEnd, wantEnd.Add(-time.Hour), wantEnd)
		}
	}

	c = &config{CanaryConfig: canaryContext{LifetimeDuration: "PT0H5M", IntervalMins: f(2), BeginAfterMins: f(1), BaselineOffsetMins: f(10)}}
	tm, _ = c.schedule(t0)
	if tm.count != 2 {
		t.Fatalf("5 min in 2 min intervals is 2 intervals, got %d", tm.count)
	}
	w := tm.window(2, t0)
	if !w.ExperimentStart.Equal(t0.Add(time.Minute)) || !w.ExperimentEnd.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("growing window after a 1 min warmup: %s–%s", w.ExperimentStart, w.ExperimentEnd)
	}
	if !w.ControlStart.Equal(w.ExperimentStart.Add(-10*time.Minute)) || !w.ControlEnd.Equal(w.ExperimentEnd.Add(-10*time.Minute)) {
		t.Errorf("the control window is shifted back by the baseline offset: %s–%s", w.ControlStart, w.ControlEnd)
	}

	// Fractional minutes and seconds make short canaries.
	c = &config{CanaryConfig: canaryContext{LifetimeDuration: "PT45S", IntervalMins: f(0.25), Scopes: []scopeConfig{{Step: f(1)}}}}
	tm, _ = c.schedule(t0)
	if tm.count != 3 || tm.interval != 15*time.Second || tm.step != time.Second {
		t.Errorf("PT45S in 0.25 min intervals: %d of %s, step %s", tm.count, tm.interval, tm.step)
	}
	// No interval: one judgment over the lifetime.
	c = &config{CanaryConfig: canaryContext{LifetimeHours: f(1)}}
	if tm, _ = c.schedule(t0); tm.count != 1 || tm.interval != time.Hour {
		t.Errorf("no interval: %d of %s", tm.count, tm.interval)
	}

	// Retrospective: the scope's own window, no waits.
	c = &config{CanaryConfig: canaryContext{IntervalMins: f(30), Scopes: []scopeConfig{{StartTimeIso: "2024-01-01T00:00:00Z", EndTimeIso: "2024-01-01T01:00:00Z"}}}}
	tm, err = c.schedule(t0.Add(48 * time.Hour))
	if err != nil || !tm.retrospective || tm.count != 2 {
		t.Fatalf("retrospective: %+v %v", tm, err)
	}
	now := t0.Add(48 * time.Hour)
	if w := tm.window(2, now); !w.ExperimentStart.Equal(t0) || !w.ExperimentEnd.Equal(t0.Add(time.Hour)) || w.Ready.After(now) {
		t.Errorf("retrospective window 2: %s–%s ready %s", w.ExperimentStart, w.ExperimentEnd, w.Ready)
	}
}

func TestISODurations(t *testing.T) {
	for in, want := range map[string]time.Duration{"PT0H5M": 5 * time.Minute, "PT1H30M": 90 * time.Minute, "PT45S": 45 * time.Second, "P1D": 24 * time.Hour, "PT0.5S": 500 * time.Millisecond} {
		if got, err := parseISODuration(in); err != nil || got != want {
			t.Errorf("%s: %s %v, want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "P", "PT", "5m", "PT5X"} {
		if _, err := parseISODuration(bad); err == nil {
			t.Errorf("%q should not parse", bad)
		}
	}
}
