package triggers

import (
	"strings"
	"testing"
	"time"
)

func TestQuartzNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		expr, after, want string
	}{
		{"0 0/30 * * * ?", "2026-03-02T10:00:00Z", "2026-03-02T10:30:00Z"},
		{"0 0/30 * * * ? *", "2026-03-02T10:31:00Z", "2026-03-02T11:00:00Z"},
		{"0 0 12 ? * MON-FRI", "2026-03-06T13:00:00Z", "2026-03-09T12:00:00Z"}, // Friday afternoon → Monday noon
		{"0 15 10 15 * ?", "2026-03-16T00:00:00Z", "2026-04-15T10:15:00Z"},
		{"*/20 * * * * ?", "2026-03-02T10:00:05Z", "2026-03-02T10:00:20Z"},
		{"0 0 0 1 JAN ? 2027", "2026-03-02T10:00:00Z", "2027-01-01T00:00:00Z"},
		{"0 0 0 1 1 ? 2020", "2026-03-02T10:00:00Z", "0001-01-01T00:00:00Z"},
	}
	for _, tc := range cases {
		q, err := ParseQuartz(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		got := q.Next(at(tc.after))
		if !got.Equal(at(tc.want)) && !(got.IsZero() && tc.want == "0001-01-01T00:00:00Z") {
			t.Errorf("%s after %s: got %s, want %s", tc.expr, tc.after, got, tc.want)
		}
	}
	for _, bad := range []string{"0 0 12 * *", "0 0 25 * * ?", "0 0 12 L * ?", "0 0 12 ? * 2#1"} {
		if _, err := ParseQuartz(bad); err == nil {
			t.Errorf("%q parsed; want an error", bad)
		}
	}
}

func TestQuartzInEventBridge(t *testing.T) {
	for expr, want := range map[string]string{
		"0 0/30 * * * ?":       "cron(0/30 * * * ? *)",
		"0 0 12 ? * MON-FRI *": "cron(0 12 ? * MON-FRI *)",
	} {
		q, _ := ParseQuartz(expr)
		got, ok := q.EventBridge()
		if got != want || !ok {
			t.Errorf("%s: got %s (%v), want %s", expr, got, ok, want)
		}
	}
	q, _ := ParseQuartz("* 0/30 * * * ? *")
	if _, ok := q.EventBridge(); ok {
		t.Errorf("an expression firing every second fits EventBridge Scheduler")
	}
}

func TestCronFiresOnTime(t *testing.T) {
	s := openStore(t)
	savePipeline(t, s, pipelineWith(t, "p1", "HalfHourly", `[{"type":"cron","enabled":true,"cronExpression":"0 0/30 * * * ?"}]`, ""))
	savePipeline(t, s, pipelineWith(t, "p2", "Paris", `[{"type":"cron","enabled":true,"cronExpression":"0 0 11 * * ?","timeZone":"Europe/Paris"}]`, ""))
	savePipeline(t, s, pipelineWith(t, "p3", "Off", `[{"type":"cron","enabled":false,"cronExpression":"0 0/30 * * * ?"}]`, ""))
	st := &fakeStarter{}
	now := time.Date(2026, 3, 2, 9, 59, 0, 0, time.UTC)
	c := &Cron{Handler: &Handler{Store: s, Starter: st}, Now: func() time.Time { return now }}
	step := func(to string, want ...string) {
		t.Helper()
		var err error
		if now, err = time.Parse(time.RFC3339, to); err != nil {
			t.Fatal(err)
		}
		outs, err := c.Tick(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got, _ := started(outs)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("at %s started %v, want %v", to, got, want)
		}
	}
	step("2026-03-02T09:59:00Z")
	step("2026-03-02T09:59:59Z")
	step("2026-03-02T10:00:00Z", "HalfHourly", "Paris") // 11:00 in Paris is 10:00 UTC in March
	step("2026-03-02T10:00:01Z")
	step("2026-03-02T10:29:59Z")
	step("2026-03-02T11:15:00Z", "HalfHourly") // 10:30 and 11:00 were missed: one run, not two
	if len(st.calls) != 3 {
		t.Fatalf("started %d runs, want 3", len(st.calls))
	}
}

func TestCheckWarnsAboutTriggersThatNeverFire(t *testing.T) {
	p := pipelineWith(t, "p", "P", `[
		{"type":"jenkins","enabled":true,"master":"m","job":"j"},
		{"type":"cron","enabled":true,"cronExpression":"* 0/30 * * * ? *"},
		{"type":"cron","enabled":true,"cronExpression":"0 0 12 L * ?"},
		{"type":"git","enabled":true,"source":"svn","slug":"x"},
		{"type":"docker","enabled":true,"repository":"x","tag":"v(("},
		{"type":"docker","enabled":true,"repository":"x","tag":"v.*"}]`, "")
	var got []string
	for _, w := range Check(p) {
		got = append(got, w.Path)
	}
	want := "triggers[0].type triggers[1].cronExpression triggers[2].cronExpression triggers[3].source triggers[4].tag"
	if strings.Join(got, " ") != want {
		t.Fatalf("warnings at %v, want at %s", got, want)
	}
}
