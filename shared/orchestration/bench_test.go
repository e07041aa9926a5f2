package orchestration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
)

// dagPipeline builds a pipeline of n noop stages in layers of width: each
// stage requires two stages of the layer before it, so branches join and
// fork the whole way down.
func dagPipeline(n, width int) string {
	var stages []map[string]any
	for i := 0; i < n; i++ {
		s := map[string]any{"refId": fmt.Sprint(i), "type": "noop", "name": fmt.Sprintf("Stage %d", i)}
		if layer := i / width; layer > 0 {
			pos := i % width
			prev := (layer - 1) * width
			reqs := []string{fmt.Sprint(prev + pos)}
			if other := prev + (pos+1)%width; other != prev+pos && other < i {
				reqs = append(reqs, fmt.Sprint(other))
			}
			s["requisiteStageRefIds"] = reqs
		}
		stages = append(stages, s)
	}
	b, _ := json.Marshal(map[string]any{"name": "dag100", "stages": stages})
	return string(b)
}

// BenchmarkPipeline100Stages runs a 100-stage DAG of no-op stages end to end
// in the local runtime (embedded store, ASL interpreter, orchestrator) and
// reports milliseconds per pipeline and per stage.
func BenchmarkPipeline100Stages(b *testing.B) {
	rt := newRuntime(b)
	p := savePipeline(b, rt, dagPipeline(100, 10))
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		id, err := rt.Orchestrator.TriggerPipeline(ctx, p, model.ExecutionTrigger{Type: "manual"}, "")
		if err != nil {
			b.Fatal(err)
		}
		e := waitDone(b, rt, id, 60*time.Second)
		if e.Status != model.StatusSucceeded {
			b.Fatalf("run ended %s", e.Status)
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N), "ms/pipeline")
	b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(b.N*100), "ms/stage")
}

func TestDAGShape(t *testing.T) {
	var p model.Pipeline
	if err := json.Unmarshal([]byte(dagPipeline(100, 10)), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Stages) != 100 {
		t.Fatalf("stages = %d", len(p.Stages))
	}
	if err := model.Validate(&p, nil); err == nil {
		t.Fatalf("application missing should be reported")
	}
	p.Application = "x"
	if err := model.Validate(&p, nil); err != nil {
		t.Fatalf("benchmark DAG invalid: %v", err)
	}
}
