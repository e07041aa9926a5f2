package orchestration_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/stages/builtin"

	"github.com/gennaker/gennaker/shared/asl"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/runtime/local"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/statemachines"
)

// fakePollStage is a stage type for this test only: its one task asks to be
// polled a given number of times before it succeeds.
type fakePollStage struct{}

func (fakePollStage) Type() string                                 { return "fakePoll" }
func (fakePollStage) Validate(*model.Stage) []model.Problem        { return nil }
func (fakePollStage) Plan(*model.StageExecution) ([]string, error) { return []string{"FakePoll"}, nil }

type fakePollTask struct{}

func (fakePollTask) Name() string { return "FakePoll" }
func (fakePollTask) Execute(_ context.Context, run *stages.Run) (stages.Result, error) {
	n, _ := run.Stage.Context["polled"].(float64)
	want, _ := run.Stage.Context["polls"].(float64)
	if n >= want {
		return stages.Succeeded(), nil
	}
	return stages.Result{Status: model.StatusRunning, Backoff: time.Second, Context: map[string]any{"polled": n + 1}}, nil
}

// A stage that polls past the stage machine's history threshold continues
// in fresh runs of the machine, named deterministically, and completes. The
// threshold is lowered from 1,500 polls to 2 so the test runs in seconds.
func TestLongPollingContinuesInAFreshStageMachineRun(t *testing.T) {
	t.Parallel()
	stage := string(statemachines.Definitions()["stage"])
	if strings.Count(stage, `"NumericGreaterThanEquals": 1500`) != 1 {
		t.Fatal("the stage machine's threshold is not where this test expects it")
	}
	lowered := strings.ReplaceAll(stage, `"NumericGreaterThanEquals": 1500`, `"NumericGreaterThanEquals": 2`)
	reg := builtin.New()
	reg.Register(fakePollStage{}, fakePollTask{})
	rt, err := local.Open(context.Background(), local.Options{
		DataDir:     t.TempDir(),
		Registry:    reg,
		Definitions: map[string][]byte{"stage": []byte(lowered)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	p := savePipeline(t, rt, `{"name": "longpoll", "stages": [{"refId": "1", "type": "fakePoll", "name": "Poll", "polls": 5}]}`)
	e := waitDone(t, rt, trigger(t, rt, p, nil), 30*time.Second)
	assertStatus(t, e, model.StatusSucceeded)
	s := stageNamed(t, e, "Poll")
	if s.Context["polled"] != float64(5) {
		t.Fatalf("polled %v times, want 5", s.Context["polled"])
	}
	base := string(s.ID) + "-Poll-1"
	// The last machine run may still be taking its final states when the
	// run it advanced has ended; each must end SUCCEEDED.
	for _, name := range []string{base, base + "-g1", base + "-g2"} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			d, err := rt.ASL.DescribeExecution(context.Background(), asl.ExecutionArn("stage", name))
			if err != nil {
				t.Fatalf("stage machine run %s: %v", name, err)
			}
			if d.Status == asl.StatusSucceeded {
				break
			}
			if d.Status != asl.StatusRunning || time.Now().After(deadline) {
				t.Fatalf("stage machine run %s is %s", name, d.Status)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
