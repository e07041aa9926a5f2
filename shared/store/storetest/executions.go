package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// run returns an execution of pipe in app with a NOT_STARTED stage per id.
func run(id model.ExecutionID, app model.ApplicationName, pipe model.PipelineID, buildTime int64, status model.Status, stages ...model.StageID) *model.Execution {
	e := &model.Execution{
		ID:               id,
		Type:             "PIPELINE",
		Application:      app,
		Name:             "Deploy",
		PipelineConfigID: pipe,
		Status:           status,
		BuildTime:        buildTime,
		Trigger:          model.ExecutionTrigger{Type: "manual", User: "alice"},
	}
	for i, sid := range stages {
		e.Stages = append(e.Stages, model.StageExecution{
			ID:      sid,
			RefID:   fmt.Sprint(i + 1),
			Type:    "wait",
			Name:    "Stage " + string(sid),
			Status:  model.StatusNotStarted,
			Context: map[string]any{"waitTime": 1},
			Outputs: map[string]any{},
		})
	}
	return e
}

func create(t *testing.T, s store.Store, e *model.Execution) {
	t.Helper()
	noErr(t, s.Executions().Create(ctx(t), e), fmt.Sprintf("create execution %s", e.ID))
}

// headerOnly is e without its stages, as GetHeader and listings return it.
func headerOnly(e *model.Execution) *model.Execution {
	h := *e
	h.Stages = nil
	return &h
}

// ids lists the executions' ids in order.
func ids(es []model.Execution) []model.ExecutionID {
	out := []model.ExecutionID{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func stageIDs(e *model.Execution) []model.StageID {
	out := []model.StageID{}
	for _, s := range e.Stages {
		out = append(out, s.ID)
	}
	return out
}

var executionTests = []test{
	{"CreateKeepsAnImportedDocument", func(t *testing.T, s store.Store) {
		// A run exported from Spinnaker: fields gennaker does not know,
		// explicit nulls and empty values, declared fields left out (no
		// type, no trigger, a task without stageStart).
		const doc = `{"id":"imported-1","application":"shop","name":"deploy","pipelineConfigId":"p1",
			"status":"TERMINAL","buildTime":1700000000000,"canceledBy":null,"paused":null,"partition":"us-west",
			"authentication":{"user":"alice","allowedAccounts":[]},"stages":[
			{"id":"s1","refId":"1","type":"wait","name":"Wait","status":"TERMINAL","context":null,
			 "outputs":{},"scheduledTime":0,"lastModified":{"user":"bob","allowedAccounts":["prod"]},
			 "tasks":[{"id":"1","name":"wait","status":"TERMINAL","loopEnd":false}]},
			{"id":"s2","refId":"2","status":"NOT_STARTED","requisiteStageRefIds":["1"]}]}`
		var e model.Execution
		noErr(t, json.Unmarshal([]byte(doc), &e), "decode")
		e.Orchestration = model.Orchestration{Imported: true}
		create(t, s, &e)
		got, err := s.Executions().Get(ctx(t), "imported-1")
		noErr(t, err, "get")
		if !got.Orchestration.Imported {
			t.Error("the header's bookkeeping was not kept")
		}
		// The bookkeeping is the only field the document did not have.
		b, err := json.Marshal(got)
		noErr(t, err, "encode")
		var stored, want map[string]any
		noErr(t, json.Unmarshal(b, &stored), "decode")
		delete(stored, "orchestration")
		noErr(t, json.Unmarshal([]byte(doc), &want), "decode")
		sameJSON(t, "imported execution", stored, want)
	}},
	{"GetMissing", func(t *testing.T, s store.Store) {
		ex := s.Executions()
		_, err := ex.Get(ctx(t), "no-such-run")
		wantErr(t, err, store.ErrNotFound, "no-such-run")
		_, err = ex.GetHeader(ctx(t), "no-such-run")
		wantErr(t, err, store.ErrNotFound, "no-such-run")
		_, err = ex.GetStage(ctx(t), "no-such-run", "no-such-stage")
		wantErr(t, err, store.ErrNotFound, "no-such-run", "no-such-stage")
		create(t, s, run("r1", "shop", "p1", 1000, model.StatusRunning, "s1"))
		_, err = ex.GetStage(ctx(t), "r1", "no-such-stage")
		wantErr(t, err, store.ErrNotFound, "r1", "no-such-stage")
	}},
	{"CreateThenGetReturnsHeaderAndStagesInCreationOrder", func(t *testing.T, s store.Store) {
		var e model.Execution
		load(t, "execution.json", &e)
		want := normalize(t, &e)
		ex := s.Executions()
		noErr(t, ex.Create(ctx(t), &e), "create")
		if e.Revision == 0 {
			t.Error("Create left the header revision at 0")
		}
		for _, st := range e.Stages {
			if st.Revision == 0 {
				t.Errorf("Create left stage %s's revision at 0", st.ID)
			}
		}

		got, err := ex.Get(ctx(t), e.ID)
		noErr(t, err, "get")
		sameJSON(t, "execution", got, want)
		sameJSON(t, "stage order", stageIDs(got), []model.StageID{
			"01J1Z7QA00000000000000000C", "01J1Z7QA00000000000000000A", "01J1Z7QA00000000000000000B", "01J1Z7QA000000000000000009",
		})
		if got.Revision != e.Revision {
			t.Errorf("Get returned revision %d, Create set %d", got.Revision, e.Revision)
		}
		if string(got.Trigger.Extra["digest"]) != `"sha256:7c3b2b1a"` {
			t.Errorf("trigger field digest = %s, want it kept", got.Trigger.Extra["digest"])
		}

		h, err := ex.GetHeader(ctx(t), e.ID)
		noErr(t, err, "get header")
		if len(h.Stages) != 0 {
			t.Errorf("GetHeader returned %d stages, want none", len(h.Stages))
		}
		sameJSON(t, "header", headerOnly(h), headerOnly(&e))
		if h.Revision != e.Revision {
			t.Errorf("GetHeader returned revision %d, Create set %d", h.Revision, e.Revision)
		}

		for _, st := range e.Stages {
			gs, err := ex.GetStage(ctx(t), e.ID, st.ID)
			noErr(t, err, "get stage")
			sameJSON(t, "stage "+string(st.ID), gs, &st)
			if gs.Revision != st.Revision {
				t.Errorf("GetStage(%s) returned revision %d, Create set %d", st.ID, gs.Revision, st.Revision)
			}
		}
	}},
	{"CreateTwiceConflicts", func(t *testing.T, s store.Store) {
		create(t, s, run("r1", "shop", "p1", 1000, model.StatusRunning, "s1", "s2"))
		again := run("r1", "shop", "p1", 2000, model.StatusSucceeded, "s3")
		wantErr(t, s.Executions().Create(ctx(t), again), store.ErrConflict, "r1")
		got, err := s.Executions().Get(ctx(t), "r1")
		noErr(t, err, "get")
		if got.Status != model.StatusRunning || got.BuildTime != 1000 {
			t.Errorf("a conflicting Create changed the run: status %s, buildTime %d", got.Status, got.BuildTime)
		}
		sameJSON(t, "stages after a conflicting Create", stageIDs(got), []model.StageID{"s1", "s2"})
	}},
	{"ConcurrentCreatesOnlyOneWins", func(t *testing.T, s store.Store) {
		const writers = 8
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Executions().Create(ctx(t), run("r1", "shop", "p1", int64(1000+i), model.StatusRunning, "s1"))
			}()
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("creator %d: %v, want nil or ErrConflict", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d concurrent creates of one run succeeded, want exactly 1", wins, writers)
		}
		list, err := s.Executions().ListByApplication(ctx(t), "shop", store.ListOptions{})
		noErr(t, err, "list")
		if len(list) != 1 {
			t.Fatalf("application lists %d runs after concurrent creates of one, want 1", len(list))
		}
	}},
	{"CreateSetsRevisionsForUpdates", func(t *testing.T, s store.Store) {
		e := run("r1", "shop", "p1", 1000, model.StatusNotStarted, "s1")
		create(t, s, e)
		e.Status = model.StatusRunning
		noErr(t, s.Executions().UpdateHeader(ctx(t), e), "update the header Create wrote")
		st := e.Stages[0]
		st.Status = model.StatusRunning
		noErr(t, s.Executions().PutStage(ctx(t), e.ID, &st), "put the stage Create wrote")
	}},
	{"UpdateHeaderOptimisticConcurrency", func(t *testing.T, s store.Store) {
		ex := s.Executions()
		create(t, s, run("r1", "shop", "p1", 1000, model.StatusRunning, "s1"))
		mine, err := ex.GetHeader(ctx(t), "r1")
		noErr(t, err, "get header")
		theirs, err := ex.GetHeader(ctx(t), "r1")
		noErr(t, err, "get header")

		old := mine.Revision
		mine.Status = model.StatusSucceeded
		mine.EndTime = 2000
		noErr(t, ex.UpdateHeader(ctx(t), mine), "update")
		if mine.Revision == old {
			t.Fatalf("UpdateHeader left Revision at %d", old)
		}
		got, err := ex.GetHeader(ctx(t), "r1")
		noErr(t, err, "get header")
		if got.Revision != mine.Revision || got.Status != model.StatusSucceeded || got.EndTime != 2000 {
			t.Fatalf("after update: revision %d status %s endTime %d, want revision %d SUCCEEDED 2000", got.Revision, got.Status, got.EndTime, mine.Revision)
		}

		theirs.Status = model.StatusCanceled
		wantErr(t, ex.UpdateHeader(ctx(t), theirs), store.ErrConflict, "r1")
		if theirs.Revision != old {
			t.Errorf("a failed UpdateHeader changed the caller's Revision from %d to %d", old, theirs.Revision)
		}
		got, err = ex.GetHeader(ctx(t), "r1")
		noErr(t, err, "get header")
		if got.Status != model.StatusSucceeded {
			t.Fatalf("a stale UpdateHeader overwrote the status: %s", got.Status)
		}

		// Re-reading and retrying is how the loser proceeds.
		got.Canceled = true
		noErr(t, ex.UpdateHeader(ctx(t), got), "update after re-reading")
	}},
	{"UpdateHeaderLeavesStagesAlone", func(t *testing.T, s store.Store) {
		ex := s.Executions()
		create(t, s, run("r1", "shop", "p1", 1000, model.StatusRunning, "s1", "s2"))
		e, err := ex.Get(ctx(t), "r1")
		noErr(t, err, "get")
		e.Status = model.StatusTerminal
		e.Stages[0].Status = model.StatusTerminal // must not be written by UpdateHeader
		e.Stages = e.Stages[:1]
		noErr(t, ex.UpdateHeader(ctx(t), e), "update")
		got, err := ex.Get(ctx(t), "r1")
		noErr(t, err, "get")
		if got.Status != model.StatusTerminal {
			t.Errorf("header status %s, want TERMINAL", got.Status)
		}
		sameJSON(t, "stages after a header update", stageIDs(got), []model.StageID{"s1", "s2"})
		if got.Stages[0].Status != model.StatusNotStarted {
			t.Errorf("UpdateHeader wrote stage s1: status %s", got.Stages[0].Status)
		}
	}},
	{"PutStageOptimisticConcurrency", func(t *testing.T, s store.Store) {
		ex := s.Executions()
		create(t, s, run("r1", "shop", "p1", 1000, model.StatusRunning, "s1"))
		mine, err := ex.GetStage(ctx(t), "r1", "s1")
		noErr(t, err, "get stage")
		theirs, err := ex.GetStage(ctx(t), "r1", "s1")
		noErr(t, err, "get stage")

		old := mine.Revision
		mine.Status = model.StatusRunning
		mine.Outputs["deployed"] = "shop-web-v004"
		noErr(t, ex.PutStage(ctx(t), "r1", mine), "put stage")
		if mine.Revision == old {
			t.Fatalf("PutStage left Revision at %d", old)
		}
		got, err := ex.GetStage(ctx(t), "r1", "s1")
		noErr(t, err, "get stage")
		if got.Revision != mine.Revision || got.Status != model.StatusRunning || got.Outputs["deployed"] != "shop-web-v004" {
			t.Fatalf("after put: revision %d status %s outputs %v", got.Revision, got.Status, got.Outputs)
		}

		theirs.Status = model.StatusCanceled
		wantErr(t, ex.PutStage(ctx(t), "r1", theirs), store.ErrConflict, "r1", "s1")
		if theirs.Revision != old {
			t.Errorf("a failed PutStage changed the caller's Revision from %d to %d", old, theirs.Revision)
		}
		got, err = ex.GetStage(ctx(t), "r1", "s1")
		noErr(t, err, "get stage")
		if got.Status != model.StatusRunning {
			t.Fatalf("a stale PutStage overwrote the stage: status %s", got.Status)
		}

		// Revision 0 means "new": it must not overwrite an existing stage.
		fresh := run("", "", "", 0, "", "s1").Stages[0]
		wantErr(t, ex.PutStage(ctx(t), "r1", &fresh), store.ErrConflict, "s1")
		// A stale revision of a stage that does not exist is a conflict too.
		ghost := run("", "", "", 0, "", "ghost").Stages[0]
		ghost.Revision = 7
		wantErr(t, ex.PutStage(ctx(t), "r1", &ghost), store.ErrConflict, "ghost")
		_, err = ex.GetStage(ctx(t), "r1", "ghost")
		wantErr(t, err, store.ErrNotFound, "ghost")
	}},
	{"PutStageNewStagesAppendInCreationOrder", func(t *testing.T, s store.Store) {
		ex := s.Executions()
		create(t, s, run("r1", "shop", "p1", 1000, model.StatusRunning, "s2", "s1"))
		for _, id := range []model.StageID{"z-synthetic", "a-synthetic"} {
			st := run("", "", "", 0, "", id).Stages[0]
			st.SyntheticStageOwner = model.StageAfter
			st.ParentStageID = "s2"
			noErr(t, ex.PutStage(ctx(t), "r1", &st), "put new stage "+string(id))
			if st.Revision == 0 {
				t.Errorf("PutStage left new stage %s's revision at 0", id)
			}
			got, err := ex.GetStage(ctx(t), "r1", id)
			noErr(t, err, "get new stage")
			sameJSON(t, "new stage", got, &st)
		}
		got, err := ex.Get(ctx(t), "r1")
		noErr(t, err, "get")
		sameJSON(t, "stage order", stageIDs(got), []model.StageID{"s2", "s1", "z-synthetic", "a-synthetic"})
	}},
	{"StageWritesLeaveHeaderRevision", func(t *testing.T, s store.Store) {
		ex := s.Executions()
		e := run("r1", "shop", "p1", 1000, model.StatusRunning, "s1")
		create(t, s, e)
		st := e.Stages[0]
		st.Status = model.StatusSucceeded
		noErr(t, ex.PutStage(ctx(t), "r1", &st), "put stage")
		extra := run("", "", "", 0, "", "s2").Stages[0]
		noErr(t, ex.PutStage(ctx(t), "r1", &extra), "put new stage")
		h, err := ex.GetHeader(ctx(t), "r1")
		noErr(t, err, "get header")
		if h.Revision != e.Revision {
			t.Fatalf("stage writes moved the header revision from %d to %d", e.Revision, h.Revision)
		}
		e.Status = model.StatusSucceeded
		noErr(t, ex.UpdateHeader(ctx(t), e), "update header with the revision from before the stage writes")
	}},
	{"ConcurrentReadModifyWriteLosesNoUpdate", func(t *testing.T, s store.Store) {
		ex := s.Executions()
		e := run("r1", "shop", "p1", 1000, model.StatusRunning, "s1")
		e.Stages[0].Context = map[string]any{"count": 0}
		create(t, s, e)

		const workers, increments = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range increments {
					if err := increment(t, ex, w, i); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		got, err := ex.GetStage(ctx(t), "r1", "s1")
		noErr(t, err, "get stage")
		if got.Context["count"] != float64(workers*increments) {
			t.Errorf("count = %v after %d increments, want no lost update", got.Context["count"], workers*increments)
		}
		for w := range workers {
			for i := range increments {
				if k := fmt.Sprintf("w%d-%d", w, i); got.Context[k] != true {
					t.Errorf("update %s was lost", k)
				}
			}
		}
	}},
	{"DistinctStagesDoNotConflict", func(t *testing.T, s store.Store) {
		ex := s.Executions()
		e := run("r1", "shop", "p1", 1000, model.StatusRunning, "s0", "s1", "s2", "s3")
		create(t, s, e)
		const updates = 10
		var wg sync.WaitGroup
		errs := make(chan error, len(e.Stages)+1)
		for i := range e.Stages {
			st := e.Stages[i]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range updates {
					st.Context["n"] = n
					if err := ex.PutStage(ctx(t), "r1", &st); err != nil {
						errs <- fmt.Errorf("stage %s update %d: %w", st.ID, n, err)
						return
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := headerOnly(e)
			for n := range updates {
				h.StartTime = int64(n)
				if err := ex.UpdateHeader(ctx(t), h); err != nil {
					errs <- fmt.Errorf("header update %d: %w", n, err)
					return
				}
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("writers of different records of one run got in each other's way: %v", err)
		}
		got, err := ex.Get(ctx(t), "r1")
		noErr(t, err, "get")
		for _, st := range got.Stages {
			if st.Context["n"] != float64(updates-1) {
				t.Errorf("stage %s: n = %v, want %d", st.ID, st.Context["n"], updates-1)
			}
		}
		if got.StartTime != updates-1 {
			t.Errorf("header startTime = %d, want %d", got.StartTime, updates-1)
		}
	}},
	{"ListNewestFirst", func(t *testing.T, s store.Store) {
		for _, e := range []*model.Execution{
			run("r1", "shop", "p1", 1000, model.StatusSucceeded, "s"),
			run("r2", "shop", "p2", 3000, model.StatusRunning, "s"),
			run("r3", "shop", "p1", 2000, model.StatusTerminal, "s"),
			run("r4-b", "shop", "p1", 4000, model.StatusSucceeded, "s"),
			run("r4-a", "shop", "p2", 4000, model.StatusRunning, "s"),
			run("r0", "shop", "p1", 500, model.StatusNotStarted, "s"),
			run("w1", "web", "p9", 5000, model.StatusSucceeded, "s"),
		} {
			create(t, s, e)
		}
		ex := s.Executions()
		ok, term := model.StatusSucceeded, model.StatusTerminal
		for _, tc := range []struct {
			name string
			list func() ([]model.Execution, error)
			want []model.ExecutionID
		}{
			{"application", func() ([]model.Execution, error) {
				return ex.ListByApplication(ctx(t), "shop", store.ListOptions{})
			}, []model.ExecutionID{"r4-a", "r4-b", "r2", "r3", "r1", "r0"}},
			{"application limit", func() ([]model.Execution, error) {
				return ex.ListByApplication(ctx(t), "shop", store.ListOptions{Limit: 3})
			}, []model.ExecutionID{"r4-a", "r4-b", "r2"}},
			{"application statuses", func() ([]model.Execution, error) {
				return ex.ListByApplication(ctx(t), "shop", store.ListOptions{Statuses: []model.Status{ok, term}})
			}, []model.ExecutionID{"r4-b", "r3", "r1"}},
			{"application statuses and limit", func() ([]model.Execution, error) {
				return ex.ListByApplication(ctx(t), "shop", store.ListOptions{Statuses: []model.Status{ok, term}, Limit: 2})
			}, []model.ExecutionID{"r4-b", "r3"}},
			{"other application", func() ([]model.Execution, error) {
				return ex.ListByApplication(ctx(t), "web", store.ListOptions{})
			}, []model.ExecutionID{"w1"}},
			{"unknown application", func() ([]model.Execution, error) {
				return ex.ListByApplication(ctx(t), "nosuchapp", store.ListOptions{})
			}, []model.ExecutionID{}},
			{"pipeline", func() ([]model.Execution, error) {
				return ex.ListByPipeline(ctx(t), "p1", store.ListOptions{})
			}, []model.ExecutionID{"r4-b", "r3", "r1", "r0"}},
			{"pipeline limit", func() ([]model.Execution, error) {
				return ex.ListByPipeline(ctx(t), "p2", store.ListOptions{Limit: 1})
			}, []model.ExecutionID{"r4-a"}},
			{"pipeline statuses none match", func() ([]model.Execution, error) {
				return ex.ListByPipeline(ctx(t), "p1", store.ListOptions{Statuses: []model.Status{model.StatusRunning}})
			}, []model.ExecutionID{}},
			{"unknown pipeline", func() ([]model.Execution, error) {
				return ex.ListByPipeline(ctx(t), "nosuchpipeline", store.ListOptions{})
			}, []model.ExecutionID{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.list()
				noErr(t, err, "list")
				sameJSON(t, "listed ids", ids(got), tc.want)
				for _, e := range got {
					want := run(e.ID, e.Application, e.PipelineConfigID, e.BuildTime, e.Status)
					sameJSON(t, "listed header", headerOnly(&e), headerOnly(want))
				}
			})
		}
	}},
	{"ListSeesHeaderUpdates", func(t *testing.T, s store.Store) {
		ex := s.Executions()
		e := run("r1", "shop", "p1", 1000, model.StatusRunning, "s1")
		create(t, s, e)
		create(t, s, run("r2", "shop", "p1", 2000, model.StatusRunning, "s1"))
		e.Status = model.StatusSucceeded
		noErr(t, ex.UpdateHeader(ctx(t), e), "update")
		for name, list := range map[string]func(store.ListOptions) ([]model.Execution, error){
			"application": func(o store.ListOptions) ([]model.Execution, error) { return ex.ListByApplication(ctx(t), "shop", o) },
			"pipeline":    func(o store.ListOptions) ([]model.Execution, error) { return ex.ListByPipeline(ctx(t), "p1", o) },
		} {
			running, err := list(store.ListOptions{Statuses: []model.Status{model.StatusRunning}})
			noErr(t, err, "list running by "+name)
			sameJSON(t, "running by "+name, ids(running), []model.ExecutionID{"r2"})
			done, err := list(store.ListOptions{Statuses: []model.Status{model.StatusSucceeded}})
			noErr(t, err, "list succeeded by "+name)
			sameJSON(t, "succeeded by "+name, ids(done), []model.ExecutionID{"r1"})
		}
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		ex := s.Executions()
		e := run("r1", "shop", "p1", 1000, model.StatusRunning, "s1", "s2")
		create(t, s, e)
		create(t, s, run("r2", "shop", "p1", 2000, model.StatusRunning, "s1"))
		noErr(t, ex.Delete(ctx(t), "r1"), "delete")
		_, err := ex.Get(ctx(t), "r1")
		wantErr(t, err, store.ErrNotFound, "r1")
		_, err = ex.GetHeader(ctx(t), "r1")
		wantErr(t, err, store.ErrNotFound, "r1")
		_, err = ex.GetStage(ctx(t), "r1", "s1")
		wantErr(t, err, store.ErrNotFound, "r1", "s1")
		byApp, err := ex.ListByApplication(ctx(t), "shop", store.ListOptions{})
		noErr(t, err, "list by application")
		sameJSON(t, "runs by application after delete", ids(byApp), []model.ExecutionID{"r2"})
		byPipe, err := ex.ListByPipeline(ctx(t), "p1", store.ListOptions{})
		noErr(t, err, "list by pipeline")
		sameJSON(t, "runs by pipeline after delete", ids(byPipe), []model.ExecutionID{"r2"})
		noErr(t, ex.Delete(ctx(t), "r1"), "deleting a missing run")
		if got, err := ex.Get(ctx(t), "r2"); err != nil || len(got.Stages) != 1 {
			t.Fatalf("deleting r1 damaged r2: %v, %+v", err, got)
		}
	}},
	{"WritesAfterDeleteDoNotResurrect", func(t *testing.T, s store.Store) {
		ex := s.Executions()
		e := run("r1", "shop", "p1", 1000, model.StatusRunning, "s1")
		create(t, s, e)
		noErr(t, ex.Delete(ctx(t), "r1"), "delete")
		e.Status = model.StatusSucceeded
		if err := ex.UpdateHeader(ctx(t), e); err == nil {
			t.Error("UpdateHeader of a deleted run succeeded")
		}
		st := e.Stages[0]
		_ = ex.PutStage(ctx(t), "r1", &st) // may fail or not; the run must stay gone
		_, err := ex.Get(ctx(t), "r1")
		wantErr(t, err, store.ErrNotFound, "r1")
		list, err := ex.ListByApplication(ctx(t), "shop", store.ListOptions{})
		noErr(t, err, "list")
		if len(list) != 0 {
			t.Fatalf("a deleted run is listed again: %v", ids(list))
		}
	}},
	{"TooLarge", func(t *testing.T, s store.Store) {
		ex := s.Executions()
		big := run("big-stage", "shop", "p1", 1000, model.StatusRunning, "s1", "s2")
		big.Stages[1].Context["blob"] = oversized
		wantErr(t, ex.Create(ctx(t), big), store.ErrTooLarge, "big-stage")
		_, err := ex.Get(ctx(t), "big-stage")
		wantErr(t, err, store.ErrNotFound, "big-stage")

		bigHeader := run("big-header", "shop", "p1", 1000, model.StatusRunning, "s1")
		bigHeader.Trigger.Parameters = map[string]any{"blob": oversized}
		wantErr(t, ex.Create(ctx(t), bigHeader), store.ErrTooLarge, "big-header")
		_, err = ex.Get(ctx(t), "big-header")
		wantErr(t, err, store.ErrNotFound, "big-header")

		list, err := ex.ListByApplication(ctx(t), "shop", store.ListOptions{})
		noErr(t, err, "list")
		if len(list) != 0 {
			t.Fatalf("refused creates left runs behind: %v", ids(list))
		}

		e := run("r1", "shop", "p1", 1000, model.StatusRunning, "s1")
		create(t, s, e)
		st := e.Stages[0]
		st.Outputs["blob"] = oversized
		wantErr(t, ex.PutStage(ctx(t), "r1", &st), store.ErrTooLarge, "r1", "s1")
		got, err := ex.GetStage(ctx(t), "r1", "s1")
		noErr(t, err, "get stage")
		if got.Outputs["blob"] != nil {
			t.Error("a refused PutStage was stored")
		}
		e.Trigger.Parameters = map[string]any{"blob": oversized}
		wantErr(t, ex.UpdateHeader(ctx(t), e), store.ErrTooLarge, "r1")
	}},
	{"LargeRunIsSplitAcrossRecords", func(t *testing.T, s store.Store) {
		// Four stages of about 300 KB each: every record fits, the run
		// as a whole would not fit in one.
		e := run("r1", "shop", "p1", 1000, model.StatusRunning, "s1", "s2", "s3", "s4")
		for i := range e.Stages {
			e.Stages[i].Context["log"] = largeButFits
		}
		create(t, s, e)
		got, err := s.Executions().Get(ctx(t), "r1")
		noErr(t, err, "get")
		if len(got.Stages) != 4 {
			t.Fatalf("got %d stages, want 4", len(got.Stages))
		}
		for _, st := range got.Stages {
			if st.Context["log"] != largeButFits {
				t.Errorf("stage %s lost its context", st.ID)
			}
		}
	}},
}

// increment adds one to stage s1's count with a read-modify-write loop that
// retries on conflict, as the orchestrator updates a stage, and marks the
// update so a lost one shows.
func increment(t *testing.T, ex store.Executions, worker, i int) error {
	for attempt := 0; attempt < 10000; attempt++ {
		st, err := ex.GetStage(ctx(t), "r1", "s1")
		if err != nil {
			return err
		}
		n, _ := st.Context["count"].(float64)
		st.Context["count"] = n + 1
		st.Context[fmt.Sprintf("w%d-%d", worker, i)] = true
		err = ex.PutStage(ctx(t), "r1", st)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("worker %d increment %d: %w", worker, i, err)
		}
	}
	return fmt.Errorf("worker %d increment %d: still conflicting after 10000 attempts", worker, i)
}
