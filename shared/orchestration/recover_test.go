package orchestration

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/stages/builtin"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/embedded"
)

// fakeEngine stands in for the state-machine engine to test one decision:
// which runs Reconcile starts.
type fakeEngine struct {
	Engine
	known   map[string]bool
	started []string
}

func (f *fakeEngine) DescribeExecution(_ context.Context, arn string) (ExecutionDescription, error) {
	if f.known[arn] {
		return ExecutionDescription{Status: "RUNNING"}, nil
	}
	return ExecutionDescription{}, ErrExecutionNotFound
}

func (f *fakeEngine) StartExecution(_ context.Context, machine, name string, _ json.RawMessage) (string, error) {
	f.started = append(f.started, name)
	return ExecutionArn(machine, name), nil
}

func TestReconcileStartsOnlyRunsWithoutAMachine(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(t.TempDir() + "/g.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const machine = "arn:aws:states:local:000000000000:stateMachine:pipeline"
	eng := &fakeEngine{known: map[string]bool{}}
	o := New(Options{Store: st, Engine: eng, Machines: Machines{Pipeline: machine}, Registry: builtin.New()})
	if err := st.Applications().Put(ctx, &model.Application{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	p := &model.Pipeline{ID: "p1", Application: "app", Name: "p", Stages: []model.Stage{{RefID: "1", Type: "noop", Name: "n"}}}
	mk := func(status model.Status, token string) model.ExecutionID {
		e, err := o.newExecution(p, model.ExecutionTrigger{Type: "manual"}, "")
		if err != nil {
			t.Fatal(err)
		}
		e.Status = status
		e.Orchestration.Token = token
		if err := st.Executions().Create(ctx, e); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		return e.ID
	}
	orphan := mk(model.StatusNotStarted, "")
	withMachine := mk(model.StatusNotStarted, "")
	eng.known[ExecutionArn(machine, string(withMachine))] = true
	_ = mk(model.StatusRunning, "token") // its machine reached StartPipeline
	_ = mk(model.StatusSucceeded, "")    // finished
	started, err := o.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(started) != 1 || started[0] != orphan || len(eng.started) != 1 || eng.started[0] != string(orphan) {
		t.Fatalf("reconcile started %v (engine saw %v), want only the orphan %s", started, eng.started, orphan)
	}
	var _ store.Store = st
}

// A stage dispatched a moment ago to a machine of its own that never
// started (the process died in between) has its machine started by
// Reconcile; a stage a machine run carries is left to that run, which a
// restart resumes.
func TestReconcileStartsStagesDispatchedToNoMachine(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(t.TempDir() + "/g.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const pipeline = "arn:aws:states:local:000000000000:stateMachine:pipeline"
	const stage = "arn:aws:states:local:000000000000:stateMachine:stage"
	eng := &fakeEngine{known: map[string]bool{}}
	o := New(Options{Store: st, Engine: eng, Machines: Machines{Pipeline: pipeline, Stage: stage}, Registry: builtin.New()})
	if err := st.Applications().Put(ctx, &model.Application{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	p := &model.Pipeline{ID: "p1", Application: "app", Name: "p", Stages: []model.Stage{
		{RefID: "1", Type: "wait", Name: "Own"},
		{RefID: "2", Type: "wait", Name: "Carried"},
	}}
	e, err := o.newExecution(p, model.ExecutionTrigger{Type: "manual"}, "")
	if err != nil {
		t.Fatal(err)
	}
	e.Status = model.StatusRunning
	e.Orchestration.Token = "token" // its machine reached StartPipeline
	now := time.Now().UnixMilli()
	e.Stages[0].Orchestration.DispatchedAt = now
	e.Stages[1].Orchestration.DispatchedAt = now
	e.Stages[1].Orchestration.Carrier = "another-stage-1"
	if err := st.Executions().Create(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	want := stageMachineName(&e.Stages[0])
	if len(eng.started) != 1 || eng.started[0] != want {
		t.Fatalf("reconcile started %v, want only the machine of the stage dispatched to its own, %s", eng.started, want)
	}
}
