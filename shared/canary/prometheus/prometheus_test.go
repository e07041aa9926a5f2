package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/canary"
	"github.com/gennaker/gennaker/shared/canary/judge"
	"github.com/gennaker/gennaker/shared/canary/prometheus/promtest"
)

// TestFetchFromPrometheus scrapes a real HTTP server's metrics with a real
// Prometheus, then reads the baseline's and the canary's latency back
// through Kayenta's query shape with a scope template: the canary, three
// times slower, is judged High.
func TestFetchFromPrometheus(t *testing.T) {
	var tick atomic.Int64
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := tick.Add(1)
		wobble := float64(n%5) * 0.001
		fmt.Fprintf(w, "# TYPE app_latency_seconds gauge\n")
		fmt.Fprintf(w, "app_latency_seconds{server_group=\"web-prod-baseline-v001\"} %g\n", 0.100+wobble)
		fmt.Fprintf(w, "app_latency_seconds{server_group=\"web-prod-canary-v002\"} %g\n", 0.300+wobble)
	}))
	defer exporter.Close()

	prom := promtest.Start(t, 200*time.Millisecond)
	prom.SetTargets(t, strings.TrimPrefix(exporter.URL, "http://"))
	src, err := New(Options{BaseURL: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	m := canary.MetricConfig{Name: "latency", Query: canary.Query{Type: Type, MetricName: "app_latency_seconds",
		CustomFilterTemplate: "sg"}}
	templates := map[string]string{"sg": `server_group="${scope}"`}
	ctx := context.Background()

	start := time.Now()
	var ctrl, exp []canary.Series
	deadline := time.Now().Add(60 * time.Second)
	for {
		time.Sleep(time.Second)
		end := time.Now()
		scope := func(s string) canary.Scope {
			return canary.Scope{Scope: s, Start: start, End: end, Step: 200 * time.Millisecond}
		}
		if ctrl, err = src.Fetch(ctx, m, templates, scope("web-prod-baseline-v001")); err != nil {
			t.Fatal(err)
		}
		if exp, err = src.Fetch(ctx, m, templates, scope("web-prod-canary-v002")); err != nil {
			t.Fatal(err)
		}
		if len(ctrl) == 1 && len(exp) == 1 && len(ctrl[0].Values) >= 10 && len(exp[0].Values) >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has not scraped 10 points of each side in 60s: %v %v", ctrl, exp)
		}
	}
	r := judge.Production.Classify(judge.MetricDefaults("latency"), judge.Series{Name: "latency", Control: ctrl[0].Values, Experiment: exp[0].Values}, nil)
	if r.Classification != judge.High {
		t.Fatalf("a canary three times slower is High; got %s (%s)", r.Classification, r.Why)
	}
	if r.Ratio < 2.5 || r.Ratio > 3.5 {
		t.Errorf("mean ratio %.2f, want about 3", r.Ratio)
	}

	none, err := src.Fetch(ctx, m, templates, canary.Scope{Scope: "nothing-here", Start: start, End: time.Now(), Step: time.Second})
	if err != nil || len(none) != 0 {
		t.Errorf("a scope without series: %v, %v", none, err)
	}
	_, err = src.QueryRange(ctx, "avg(", start, time.Now(), time.Second)
	if err == nil || !strings.Contains(err.Error(), "avg(") {
		t.Errorf("a bad query is an error that quotes it: %v", err)
	}
}
