package embedded

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/gennaker/gennaker/shared/asl"
	"github.com/gennaker/gennaker/shared/asl/journaltest"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/storetest"
)

// openAt opens the store at path, and on cleanup checks its invariants
// and closes it.
func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.db.Path() == "" { // closed by the test
			return
		}
		for _, p := range s.check() {
			t.Errorf("after the test the file is inconsistent: %v", p)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openAt(t, filepath.Join(t.TempDir(), "gennaker.db"))
	})
}

// TestReopen closes the store and opens the file again: everything written
// is there, revisions included, so work in progress resumes after a restart.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "gennaker.db") // Open creates data/
	ctx := t.Context()
	s := openAt(t, path)

	app := &model.Application{Name: "shop", Email: "shop@example.com", Extra: model.Extra{"instancePort": json.RawMessage("8080")}}
	must(t, s.Applications().Put(ctx, app))
	p := &model.Pipeline{ID: "p1", Application: "shop", Name: "Deploy", Stages: []model.Stage{{RefID: "1", Type: "wait", Extra: model.Extra{"waitTime": json.RawMessage("5")}}}}
	for _, user := range []string{"alice", "bob"} {
		if _, err := s.Pipelines().Save(ctx, p, user, 0); err != nil {
			t.Fatal(err)
		}
	}
	e := &model.Execution{ID: "r1", Application: "shop", PipelineConfigID: "p1", Status: model.StatusRunning, BuildTime: 1000,
		Stages: []model.StageExecution{{ID: "b", RefID: "1", Status: model.StatusRunning}, {ID: "a", RefID: "2", Status: model.StatusNotStarted}}}
	must(t, s.Executions().Create(ctx, e))
	late := model.StageExecution{ID: "0", RefID: "3", Status: model.StatusNotStarted}
	must(t, s.Executions().PutStage(ctx, "r1", &late))
	e.Stages[0].Status = model.StatusSucceeded
	must(t, s.Executions().PutStage(ctx, "r1", &e.Stages[0]))
	must(t, s.Leases().Acquire(ctx, "cluster/shop-web", "r1", time.Hour))
	must(t, s.Records().Put(ctx, "journal/r1/1", []byte(`{"state":"Wait"}`)))
	before, err := s.Executions().Get(ctx, "r1")
	must(t, err)
	must(t, s.Close())

	s = openAt(t, path)
	gotApp, err := s.Applications().Get(ctx, "shop")
	must(t, err)
	if gotApp.Email != app.Email || string(gotApp.Extra["instancePort"]) != "8080" {
		t.Errorf("application after reopen: %+v", gotApp)
	}
	hist, err := s.Pipelines().History(ctx, "p1")
	must(t, err)
	if len(hist) != 2 || hist[0].User != "bob" || hist[1].User != "alice" {
		t.Errorf("pipeline history after reopen: %+v", hist)
	}
	after, err := s.Executions().Get(ctx, "r1")
	must(t, err)
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if string(b1) != string(b2) || after.Revision != before.Revision {
		t.Errorf("execution after reopen:\n%s\nwant\n%s", b2, b1)
	}
	for i := range after.Stages {
		if after.Stages[i].Revision != before.Stages[i].Revision {
			t.Errorf("stage %s revision %d after reopen, was %d", after.Stages[i].ID, after.Stages[i].Revision, before.Stages[i].Revision)
		}
	}
	// Revisions survived: updates based on what was read before the
	// restart still go through.
	before.Status = model.StatusSucceeded
	must(t, s.Executions().UpdateHeader(ctx, before))
	before.Stages[1].Status = model.StatusRunning
	must(t, s.Executions().PutStage(ctx, "r1", &before.Stages[1]))
	// So did the lease, and the journal.
	if err := s.Leases().Acquire(ctx, "cluster/shop-web", "r2", time.Hour); !errors.Is(err, store.ErrConflict) {
		t.Errorf("lease taken before the restart: Acquire by another owner = %v, want ErrConflict", err)
	}
	v, found, err := s.Records().Get(ctx, "journal/r1/1")
	must(t, err)
	if !found || string(v) != `{"state":"Wait"}` {
		t.Errorf("record after reopen: %q found=%v", v, found)
	}
	list, err := s.Executions().ListByPipeline(ctx, "p1", store.ListOptions{})
	must(t, err)
	if len(list) != 1 || list[0].Status != model.StatusSucceeded {
		t.Errorf("listing after reopen: %+v", list)
	}
}

// TestSecondOpenFails: two gennaker processes on one data directory would
// corrupt each other's view; the second is told, not hung.
func TestSecondOpenFails(t *testing.T) {
	old := lockTimeout
	lockTimeout = 50 * time.Millisecond
	t.Cleanup(func() { lockTimeout = old })
	path := filepath.Join(t.TempDir(), "gennaker.db")
	openAt(t, path)
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "another") {
		t.Fatalf("second Open = %v, want an error naming %s and saying another process holds it", err, path)
	}
}

// TestRefusesOtherLayout: a file written by a gennaker with another layout
// is refused, not misread.
func TestRefusesOtherLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gennaker.db")
	s := openAt(t, path)
	must(t, s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte("schema"), []byte("99"))
	}))
	must(t, s.Close())
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), `"99"`) {
		t.Fatalf("Open of a layout-99 file = %v, want an error naming the layout", err)
	}
}

// crashEnv, when set, makes TestCrash the writer child: the store file is
// its value.
const crashEnv = "GENNAKER_EMBEDDED_CRASH_CHILD"

// TestCrash kills a process with SIGKILL while it writes runs from several
// goroutines, several times over the same file. After each kill the file
// opens, holds only whole writes (every header with all its stages and
// index entries, every record decoding), and holds every write the child
// saw acknowledged.
func TestCrash(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path, os.Getenv(crashEnv+"_ROUND"))
		return
	}
	path := filepath.Join(t.TempDir(), "gennaker.db")
	acked := map[string]string{} // execution id → the last acknowledged write
	stages := map[string]int{}   // execution id → its stage count
	for round := range 3 {
		crashRound(t, path, round, acked, stages)

		s := openAt(t, path)
		ctx := t.Context()
		for _, p := range s.check() {
			t.Errorf("round %d: %v", round, p)
		}
		for id, last := range acked {
			e, err := s.Executions().Get(ctx, model.ExecutionID(id))
			if last == "deleted" {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("round %d: %s was deleted, Get = %v", round, id, err)
				}
				continue
			}
			if errors.Is(err, store.ErrNotFound) && deleteMayBeUnderWay(id, acked) {
				continue
			}
			if err != nil {
				t.Errorf("round %d: acknowledged run %s: %v", round, id, err)
				continue
			}
			if len(e.Stages) != stages[id] {
				t.Errorf("round %d: run %s has %d of its %d stages", round, id, len(e.Stages), stages[id])
			}
			if (last == "stage" || last == "header" || last == "record") && e.Stages[0].Status != model.StatusSucceeded {
				t.Errorf("round %d: run %s lost an acknowledged stage update", round, id)
			}
			if (last == "header" || last == "record") && e.Status != model.StatusSucceeded {
				t.Errorf("round %d: run %s lost an acknowledged header update", round, id)
			}
			if last == "record" {
				if _, found, err := s.Records().Get(ctx, "journal/"+id); err != nil || !found {
					t.Errorf("round %d: acknowledged record of %s: found=%v err=%v", round, id, found, err)
				}
			}
		}
		// Runs whose Create was under way when the child died are either
		// whole or absent.
		runs, err := s.Executions().ListByApplication(ctx, "crash", store.ListOptions{})
		must(t, err)
		for _, h := range runs {
			e, err := s.Executions().Get(ctx, h.ID)
			if err != nil {
				t.Errorf("round %d: listed run %s: %v", round, h.ID, err)
				continue
			}
			if want := int(e.Trigger.Parameters["stages"].(float64)); len(e.Stages) != want {
				t.Errorf("round %d: run %s has %d of its %d stages", round, h.ID, len(e.Stages), want)
			}
		}
		must(t, s.Records().Scan(ctx, "", func(k string, v []byte) error {
			var rec struct{ ID string }
			if err := json.Unmarshal(v, &rec); err != nil || "journal/"+rec.ID != k {
				t.Errorf("round %d: record %s = %q does not decode", round, k, v)
			}
			return nil
		}))
		t.Logf("round %d: %d runs in the file, %d acknowledged writes so far", round, len(runs), len(acked))
		must(t, s.Close())
	}
}

// deleteMayBeUnderWay reports whether the child may have deleted run id
// without living to acknowledge it: the child deletes run i of a writer
// right after writing the journal record of run i+2.
func deleteMayBeUnderWay(id string, acked map[string]string) bool {
	cut := strings.LastIndexByte(id, '-')
	i, err := strconv.Atoi(id[cut+1:])
	if err != nil || i%5 != 2 {
		return false
	}
	return acked[fmt.Sprintf("%s-%04d", id[:cut], i+2)] == "record"
}

// crashRound starts the child on path, lets it acknowledge a number of
// writes, kills it, and records what it acknowledged.
func crashRound(t *testing.T, path string, round int, acked map[string]string, stages map[string]int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path, crashEnv+"_ROUND="+strconv.Itoa(round))
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	// Should the test stop early, the child must not outlive it.
	defer cmd.Process.Kill()

	killAfter := 60 + rand.IntN(60)
	lines := bufio.NewScanner(out)
	n := 0
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "error":
			t.Errorf("child: %s", lines.Text())
		case "created":
			stages[f[1]], _ = strconv.Atoi(f[2])
			fallthrough
		case "stage", "header", "record", "deleted":
			acked[f[1]] = f[0]
			n++
		}
		if n == killAfter {
			// Let the writers get back into a commit, then pull the plug.
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			must(t, cmd.Process.Kill()) // SIGKILL: no deferred calls, no Close
		}
	}
	err = cmd.Wait()
	if n < killAfter {
		t.Fatalf("round %d: the child exited after %d acknowledged writes: %v", round, n, err)
	}
}

// crashChild writes runs from four goroutines until it is killed, printing
// each write after it returns: created, stage update, header update,
// journal record, and now and then a delete.
func crashChild(path, round string) {
	s, err := Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	var mu sync.Mutex // one line per write
	say := func(what, id string, more ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Println(append([]any{what, id}, more...)...)
	}
	fail := func(err error) {
		say("error", err.Error())
		os.Exit(2)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("crash-%s-%d-%04d", round, g, i)
				n := 1 + i%7
				e := &model.Execution{
					ID: model.ExecutionID(id), Application: "crash", PipelineConfigID: model.PipelineID(fmt.Sprint("p", g)),
					Status: model.StatusRunning, BuildTime: time.Now().UnixMilli(),
					Trigger: model.ExecutionTrigger{Type: "manual", Parameters: map[string]any{"stages": n}},
				}
				for j := range n {
					e.Stages = append(e.Stages, model.StageExecution{
						ID: model.StageID(fmt.Sprint("s", j)), RefID: fmt.Sprint(j), Status: model.StatusNotStarted,
						// Payloads of varying size make the file grow and
						// pages split while the child is being killed.
						Context: map[string]any{"log": strings.Repeat("x", rand.IntN(16<<10))},
					})
				}
				if err := s.Executions().Create(ctx, e); err != nil {
					fail(err)
				}
				say("created", id, n)
				e.Stages[0].Status = model.StatusSucceeded
				if err := s.Executions().PutStage(ctx, e.ID, &e.Stages[0]); err != nil {
					fail(err)
				}
				say("stage", id)
				e.Status = model.StatusSucceeded
				if err := s.Executions().UpdateHeader(ctx, e); err != nil {
					fail(err)
				}
				say("header", id)
				if err := s.Records().Put(ctx, "journal/"+id, []byte(`{"id":"`+id+`"}`)); err != nil {
					fail(err)
				}
				say("record", id)
				if i%5 == 4 {
					old := fmt.Sprintf("crash-%s-%d-%04d", round, g, i-2)
					if err := s.Executions().Delete(ctx, model.ExecutionID(old)); err != nil {
						fail(err)
					}
					if err := s.Records().Delete(ctx, "journal/"+old); err != nil {
						fail(err)
					}
					say("deleted", old)
				}
			}
		}()
	}
	wg.Wait()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRecordsAreAJournal runs the state-machine runtime's journal
// conformance suite on Records, which is what the local runtime journals to.
func TestRecordsAreAJournal(t *testing.T) {
	journaltest.Run(t, func(t *testing.T) asl.Journal {
		return openAt(t, filepath.Join(t.TempDir(), "gennaker.db")).Records()
	})
}
