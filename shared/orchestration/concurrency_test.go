package orchestration_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
)

// Three runs of a limitConcurrent pipeline triggered within milliseconds: the
// first starts at once, whichever machine arrives first; the second is
// superseded by the third, which runs after the first.
func TestQuickTriggersOfALimitedPipeline(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	p := savePipeline(t, rt, `{"name": "quick", "limitConcurrent": true, "keepWaitingPipelines": false,
	  "stages": [{"refId": "1", "type": "wait", "name": "W", "waitTime": 0}]}`)
	for round := range 50 {
		start := time.Now()
		ids := []model.ExecutionID{trigger(t, rt, p, nil), trigger(t, rt, p, nil), trigger(t, rt, p, nil)}
		if took := time.Since(start); took > 10*time.Millisecond {
			t.Logf("round %d: three triggers took %s", round, took)
		}
		var got []model.Status
		for _, id := range ids {
			got = append(got, waitDone(t, rt, id, 20*time.Second).Status)
		}
		want := []model.Status{model.StatusSucceeded, model.StatusCanceled, model.StatusSucceeded}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: statuses %v, want %v", round, got, want)
		}
	}
}

// A pipeline saved without limitConcurrent does not limit its runs, as in
// orca: 100 concurrent triggers all run at the same time.
func TestAbsentLimitConcurrentRunsEveryTriggerAtOnce(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	p := savePipeline(t, rt, `{"name": "open",
	  "stages": [{"refId": "1", "type": "manualJudgment", "name": "Hold"}]}`)
	if p.LimitsConcurrency() {
		t.Fatal("a pipeline without limitConcurrent limits concurrency")
	}
	ids := make([]model.ExecutionID, 100)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = trigger(t, rt, p, nil)
		}()
	}
	wg.Wait()
	// Every run reaches its judgment while none has finished: all 100 run
	// at once.
	for _, id := range ids {
		waitFor(t, rt, id, 60*time.Second, "judgment waiting", func(e *model.Execution) bool {
			return e.Status == model.StatusRunning && stageStatus(e, "Hold") == model.StatusRunning
		})
	}
	for _, id := range ids {
		if err := rt.Orchestrator.Cancel(context.Background(), id, "tester", "done"); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		assertStatus(t, waitDone(t, rt, id, 30*time.Second), model.StatusCanceled)
	}
}
