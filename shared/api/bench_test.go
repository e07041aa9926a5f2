package api_test

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"
)

// Benchmarks of the API as `gennaker up` serves it: the real handler over
// loopback HTTP, the embedded store and the local runtime.
//
//	go test ./shared/api -run '^$' -bench . -benchtime 2000x

// BenchmarkGetExecution50Stages reads a finished 50-stage execution with
// GET /pipelines/{id} and reports the latency percentiles.
func BenchmarkGetExecution50Stages(b *testing.B) {
	e := newEnv(b)
	e.createApp(b, "bench")
	stages := make([]map[string]any, 50)
	for i := range stages {
		ref := fmt.Sprint(i + 1)
		st := map[string]any{"refId": ref, "type": "noop", "name": "Stage " + ref, "requisiteStageRefIds": []string{}}
		if i > 0 {
			st["requisiteStageRefIds"] = []string{fmt.Sprint(i)}
		}
		stages[i] = st
	}
	e.savePipeline(b, pipelineDoc("bench", "Fifty", stages...))
	id := e.trigger(b, "bench", "Fifty", map[string]any{"parameters": map[string]any{"version": "1.0.0"}})
	x := e.waitUntil(b, id, "SUCCEEDED", func(x *execution) bool { return x.Status == "SUCCEEDED" })
	if len(x.Stages) != 50 {
		b.Fatalf("execution has %d stages, want 50", len(x.Stages))
	}
	url := e.srv.URL + "/pipelines/" + id
	client := e.srv.Client()
	get := func() (time.Duration, int) {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(start), int(n)
	}
	_, size := get() // warm up the connection
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, _ := get()
		lat = append(lat, d)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(percentile(lat, 50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(size), "bytes/response")
}

// BenchmarkTriggerPipeline sends POST /pipelines/{app}/{name} from several
// clients at once and reports how many triggers per second are accepted
// (answered 202) while the runtime runs the executions they start.
func BenchmarkTriggerPipeline(b *testing.B) {
	e := newEnv(b)
	e.createApp(b, "bench")
	e.savePipeline(b, pipelineDoc("bench", "One", map[string]any{"refId": "1", "type": "noop", "name": "Noop", "requisiteStageRefIds": []string{}}))
	url := e.srv.URL + "/pipelines/bench/One"
	client := e.srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			resp, err := client.Post(url, "application/json", nil)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "triggers/s")
	b.ReportMetric(float64(percentile(lat, 50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 99).Microseconds()), "p99-µs")
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	if i > 0 {
		i--
	}
	return sorted[i]
}
