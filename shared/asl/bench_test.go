package asl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gennaker/gennaker/shared/asl"
	"github.com/gennaker/gennaker/shared/asl/journaltest"
)

// pipelineDefinition is a pipeline-shaped machine: each stage runs a task,
// checks its result, and records it, five state transitions per stage.
func pipelineDefinition(stages int) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"Run0","States":{`)
	for i := range stages {
		next := fmt.Sprintf("Run%d", i+1)
		if i == stages-1 {
			next = "Done"
		}
		fmt.Fprintf(&b, `"Run%[1]d":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"stage","Payload":{"stage":%[1]d,"execution.$":"$$.Execution.Name"}},"ResultSelector":{"status.$":"$.Payload.status"},"ResultPath":"$.last","Next":"Check%[1]d"},`, i)
		fmt.Fprintf(&b, `"Check%[1]d":{"Type":"Choice","Choices":[{"Variable":"$.last.status","StringEquals":"FAILED","Next":"Failed"}],"Default":"Record%[1]d"},`, i)
		fmt.Fprintf(&b, `"Record%[1]d":{"Type":"Pass","Parameters":{"count.$":"States.MathAdd($.count, 1)","last.$":"$.last"},"Next":"Note%[1]d"},`, i)
		fmt.Fprintf(&b, `"Note%[1]d":{"Type":"Pass","Result":"ok","ResultPath":"$.note","Next":"Gate%[1]d"},`, i)
		fmt.Fprintf(&b, `"Gate%[1]d":{"Type":"Choice","Choices":[{"Variable":"$.count","NumericGreaterThan":100000,"Next":"Failed"}],"Default":"%[2]s"},`, i, next)
	}
	b.WriteString(`"Failed":{"Type":"Fail","Error":"StageFailed"},"Done":{"Type":"Succeed"}}}`)
	return b.String()
}

func stageFunction(context.Context, json.RawMessage) (json.RawMessage, error) {
	return json.RawMessage(`{"status":"SUCCEEDED"}`), nil
}

// fsyncJournal is a Journal that appends every write to a file and fsyncs
// it, as a bbolt store does once per transaction, to price durable points.
type fsyncJournal struct {
	*journaltest.Memory
	mu sync.Mutex
	f  *os.File
}

func newFsyncJournal(b *testing.B) *fsyncJournal {
	f, err := os.Create(filepath.Join(b.TempDir(), "journal.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return &fsyncJournal{Memory: journaltest.NewMemory(), f: f}
}

func (j *fsyncJournal) Put(ctx context.Context, key string, value []byte) error {
	j.mu.Lock()
	_, err := fmt.Fprintf(j.f, "%s\t%s\n", key, value)
	if err == nil {
		err = j.f.Sync()
	}
	j.mu.Unlock()
	if err != nil {
		return err
	}
	return j.Memory.Put(ctx, key, value)
}

func benchmarkPipeline(b *testing.B, journal asl.Journal, memory *journaltest.Memory) {
	const stages = 100
	const transitions = stages * 5
	ctx := context.Background()
	rt, err := asl.New(asl.Options{Journal: journal, Functions: map[string]asl.Function{"stage": stageFunction}})
	if err != nil {
		b.Fatal(err)
	}
	if err := rt.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	arn, err := rt.RegisterStateMachine("pipeline", []byte(pipelineDefinition(stages)))
	if err != nil {
		b.Fatal(err)
	}
	puts := memory.Puts()
	b.ResetTimer()
	for b.Loop() {
		exec, err := rt.StartExecution(ctx, arn, "", json.RawMessage(`{"count":0}`))
		if err != nil {
			b.Fatal(err)
		}
		d, err := rt.Wait(ctx, exec)
		if err != nil || d.Status != asl.StatusSucceeded {
			b.Fatalf("execution %s: %v %s", d.Status, err, d.Cause)
		}
	}
	b.StopTimer()
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/transitions, "ns/transition")
	b.ReportMetric(float64(memory.Puts()-puts)/float64(b.N), "writes/op")
}

// BenchmarkSequentialTasks runs a 100-stage pipeline (500 transitions, 100
// task invocations) per operation on an in-memory journal.
func BenchmarkSequentialTasks(b *testing.B) {
	j := journaltest.NewMemory()
	benchmarkPipeline(b, j, j)
}

// BenchmarkSequentialTasksFsync is BenchmarkSequentialTasks with an fsync
// per journal write, which dominates the cost of a durable pipeline.
func BenchmarkSequentialTasksFsync(b *testing.B) {
	j := newFsyncJournal(b)
	benchmarkPipeline(b, j, j.Memory)
}

// BenchmarkManyExecutions runs 50 executions of a 10-stage pipeline at once
// per operation.
func BenchmarkManyExecutions(b *testing.B) {
	const executions, stages = 50, 10
	const transitions = executions * stages * 5
	ctx := context.Background()
	j := journaltest.NewMemory()
	rt, err := asl.New(asl.Options{Journal: j, Functions: map[string]asl.Function{"stage": stageFunction}})
	if err != nil {
		b.Fatal(err)
	}
	if err := rt.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	arn, err := rt.RegisterStateMachine("pipeline", []byte(pipelineDefinition(stages)))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		execs := make([]string, executions)
		for i := range execs {
			if execs[i], err = rt.StartExecution(ctx, arn, "", json.RawMessage(`{"count":0}`)); err != nil {
				b.Fatal(err)
			}
		}
		for _, exec := range execs {
			if d, err := rt.Wait(ctx, exec); err != nil || d.Status != asl.StatusSucceeded {
				b.Fatalf("execution %s: %v %s", d.Status, err, d.Cause)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/transitions, "ns/transition")
}
