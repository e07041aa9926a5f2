package embedded

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/gennaker/gennaker/shared/model"
)

// The local runtime's writes are small and many: a stage moves to RUNNING,
// records each task, ends. These benchmarks measure that path with fsync
// on, as it runs for users.
//
//	go test -run '^$' -bench . ./shared/store/embedded/

func benchStore(b *testing.B) *Store {
	b.Helper()
	return openAt(b, filepath.Join(b.TempDir(), "gennaker.db"))
}

// commits returns how many write transactions the file has committed:
// bbolt numbers them, and a read transaction sees the last one's number.
func commits(b *testing.B, s *Store) int64 {
	var id int
	must(b, s.db.View(func(tx *bbolt.Tx) error { id = tx.ID(); return nil }))
	return int64(id)
}

// reportCommits reports commits per operation since start: each commit is
// a couple of fsyncs, so this is what coalescing saves, whatever the speed
// of the disk under the benchmark.
func reportCommits(b *testing.B, s *Store, start int64) {
	b.ReportMetric(float64(commits(b, s)-start)/float64(b.N), "commits/op")
}

func benchRun(id string, stages int) *model.Execution {
	e := &model.Execution{ID: model.ExecutionID(id), Application: "bench", PipelineConfigID: "p1", Status: model.StatusNotStarted, BuildTime: 1}
	for i := range stages {
		e.Stages = append(e.Stages, model.StageExecution{
			ID: model.StageID(fmt.Sprintf("s%03d", i)), RefID: fmt.Sprint(i), Type: "wait", Status: model.StatusNotStarted,
			Context: map[string]any{"waitTime": 0}, Outputs: map[string]any{},
		})
	}
	return e
}

// BenchmarkPutStage updates a stage: serially, one commit per write, and
// from many goroutines at once, each on its own stage, where commits are
// shared.
func BenchmarkPutStage(b *testing.B) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		s := benchStore(b)
		e := benchRun("r1", 1)
		must(b, s.Executions().Create(ctx, e))
		st := &e.Stages[0]
		start := commits(b, s)
		for i := 0; b.Loop(); i++ {
			st.Context["n"] = i
			if err := s.Executions().PutStage(ctx, e.ID, st); err != nil {
				b.Fatal(err)
			}
		}
		reportCommits(b, s, start)
	})
	b.Run("parallel", func(b *testing.B) {
		s := benchStore(b)
		e := benchRun("r1", 0)
		must(b, s.Executions().Create(ctx, e))
		var next atomic.Int64
		b.SetParallelism(8) // goroutines per CPU: a pipeline's parallel branches
		start := commits(b, s)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			st := benchRun("", 1).Stages[0]
			st.ID = model.StageID(fmt.Sprint("s", next.Add(1)))
			for i := 0; pb.Next(); i++ {
				st.Context["n"] = i
				if err := s.Executions().PutStage(ctx, e.ID, &st); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportCommits(b, s, start)
	})
}

// BenchmarkRun100Stages writes what running a 100-stage pipeline writes:
// the run, the header moving to RUNNING, each stage starting, recording its
// task and ending, and the header at the end (303 writes). "chain" runs the
// stages one after another; "4-branches" runs four branches of 25 at once.
// The target is well under a second per run.
func BenchmarkRun100Stages(b *testing.B) {
	ctx := context.Background()
	for _, branches := range []int{1, 4} {
		name := "chain"
		if branches > 1 {
			name = fmt.Sprintf("%d-branches", branches)
		}
		b.Run(name, func(b *testing.B) {
			s := benchStore(b)
			x := s.Executions()
			start := commits(b, s)
			for n := 0; b.Loop(); n++ {
				e := benchRun(fmt.Sprint("run-", n), 100)
				must(b, x.Create(ctx, e))
				e.Status = model.StatusRunning
				must(b, x.UpdateHeader(ctx, e))
				var wg sync.WaitGroup
				for br := range branches {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := br; i < len(e.Stages); i += branches {
							st := &e.Stages[i]
							for _, step := range []func(){
								func() { st.Status = model.StatusRunning },
								func() {
									st.Tasks = []model.TaskExecution{{ID: "1", Name: "wait", Status: model.StatusSucceeded, StageStart: true, StageEnd: true}}
								},
								func() { st.Status = model.StatusSucceeded },
							} {
								step()
								if err := x.PutStage(ctx, e.ID, st); err != nil {
									b.Error(err)
									return
								}
							}
						}
					}()
				}
				wg.Wait()
				e.Status = model.StatusSucceeded
				must(b, x.UpdateHeader(ctx, e))
			}
			reportCommits(b, s, start)
		})
	}
}
