package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/cost"
)

// A run's GET /pipelines/{id} carries what it would cost on AWS, from the
// counters of the runtime that ran it, and GET /applications/{app}/cost
// adds up the application's runs.
func TestRunsReportTheirCost(t *testing.T) {
	e := newEnv(t)
	// The API as `gennaker up` serves it: with its calls counted.
	e.srv.Close()
	e.srv = httptest.NewServer(e.rt.API())
	e.createApp(t, "shop")
	e.savePipeline(t, pipelineDoc("shop", "release", waitStage("1", "One", 0), waitStage("2", "Two", 0, "1"), waitStage("3", "Three", 0, "1")))
	before := e.rt.ASL.StateTransitions()
	id := e.trigger(t, "shop", "release", map[string]any{"type": "manual"})
	e.waitStatus(t, id, "SUCCEEDED")

	var run struct {
		Cost cost.Cost `json:"cost"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.must(t, 200, "GET", "/pipelines/"+id, nil).json(t, &run)
		// Machines record their transitions when they end, just after the run.
		if run.Cost.Transitions == e.rt.ASL.StateTransitions()-before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run reports %d transitions; the ASL runtime made %d", run.Cost.Transitions, e.rt.ASL.StateTransitions()-before)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c := run.Cost
	// The trigger; the pipeline machine's start and finalize; the first
	// stage's machine, which carries one follower, and the other
	// follower's own machine.
	if c.APICalls != 1 || c.Invocations != 1+2+2 {
		t.Errorf("API calls %d, invocations %d; want 1 and 5", c.APICalls, c.Invocations)
	}
	if c.GBSeconds <= 0 || c.ReadUnits <= 0 || c.WriteUnits <= 0 || c.TotalUSD <= 0 || c.Region != "us-east-1" {
		t.Errorf("cost %+v: want compute, request units and a price at us-east-1", c)
	}

	var app struct {
		Runs int       `json:"runs"`
		Cost cost.Cost `json:"cost"`
	}
	e.must(t, 200, "GET", "/applications/shop/cost", nil).json(t, &app)
	if app.Runs != 1 || app.Cost.Usage != c.Usage {
		t.Errorf("application cost: %d runs, %+v; want 1 run, %+v", app.Runs, app.Cost.Usage, c.Usage)
	}
	e.must(t, 200, "GET", "/applications/shop/cost?to=2000-01-01T00:00:00Z", nil).json(t, &app)
	if app.Runs != 0 || app.Cost.TotalUSD != 0 {
		t.Errorf("cost up to 2000: %d runs, $%v; want none", app.Runs, app.Cost.TotalUSD)
	}
	var bad apiError
	e.must(t, 400, "GET", "/applications/shop/cost?from=yesterday", nil).json(t, &bad)
	if !strings.Contains(bad.Message, "from=\"yesterday\" is not a time") {
		t.Errorf("message %q", bad.Message)
	}
	e.must(t, 404, "GET", "/applications/nope/cost", nil)
}
