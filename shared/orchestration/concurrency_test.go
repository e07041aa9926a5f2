package orchestration_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/runtime/local"
)

// Three runs of a limitConcurrent pipeline triggered within milliseconds: the
// first starts at once, whichever machine arrives first; the second is
// superseded by the third, which runs after the first.
func TestQuickTriggersOfALimitedPipeline(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t)
	// 50 rounds: five pipelines side by side, ten rounds each. The first run
	// waits a second, so it is still running when the third is triggered.
	errs := make(chan error, 5)
	for g := range 5 {
		p := savePipeline(t, rt, fmt.Sprintf(`{"name": "quick-%d", "limitConcurrent": true, "keepWaitingPipelines": false,
		  "stages": [{"refId": "1", "type": "wait", "name": "W", "waitTime": 1}]}`, g))
		go func() { errs <- quickRounds(rt, p, 10) }()
	}
	for range 5 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// quickRounds triggers p three times in a row, rounds times, and checks how
// each round ended.
func quickRounds(rt *local.Runtime, p *model.Pipeline, rounds int) error {
	ctx := context.Background()
	want := []model.Status{model.StatusSucceeded, model.StatusCanceled, model.StatusSucceeded}
	for round := range rounds {
		var ids []model.ExecutionID
		for range 3 {
			id, err := rt.Orchestrator.TriggerPipeline(ctx, p, model.ExecutionTrigger{Type: "manual", User: "tester"}, "")
			if err != nil {
				return fmt.Errorf("%s round %d: trigger: %w", p.Name, round, err)
			}
			ids = append(ids, id)
		}
		var got []model.Status
		for _, id := range ids {
			deadline := time.Now().Add(30 * time.Second)
			for {
				e, err := rt.Store.Executions().GetHeader(ctx, id)
				if err != nil {
					return fmt.Errorf("%s round %d: %w", p.Name, round, err)
				}
				if e.Status.IsComplete() && e.Orchestration.Finalized {
					got = append(got, e.Status)
					break
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("%s round %d: run %s still %s after 30s", p.Name, round, id, e.Status)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("%s round %d: statuses %v, want %v", p.Name, round, got, want)
		}
	}
	return nil
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
