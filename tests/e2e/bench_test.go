package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

// BenchmarkUpTriggers measures how many pipeline triggers per second the
// real `gennaker up` binary accepts (POST /pipelines/{app}/{name} answered
// 202) from 8 concurrent clients, while it runs the executions they start,
// and how long GET /pipelines/{id} of a finished 50-stage execution takes.
//
//	go test ./tests/e2e -run '^$' -bench UpTriggers -benchtime 2000x
func BenchmarkUpTriggers(b *testing.B) {
	needBinaries(b)
	s := startServer(b, filepath.Join(b.TempDir(), "data"))
	post := func(path string, body any) {
		enc, _ := json.Marshal(body)
		resp, err := http.Post(s.url+path, "application/json", bytes.NewReader(enc))
		if err != nil {
			b.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			b.Fatalf("POST %s: %d %s", path, resp.StatusCode, msg)
		}
	}
	post("/tasks", map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": "bench"}}}})
	post("/pipelines", map[string]any{"application": "bench", "name": "One", "limitConcurrent": false,
		"stages": []any{map[string]any{"refId": "1", "type": "noop", "name": "Noop"}}})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.SetParallelism(4) // × GOMAXPROCS clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			resp, err := client.Post(s.url+"/pipelines/bench/One", "application/json", nil)
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
	b.ReportMetric(float64(pct(lat, 50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(pct(lat, 99).Microseconds()), "p99-µs")
}

// BenchmarkUpGetExecution50Stages reads a finished 50-stage execution from
// the real binary with GET /pipelines/{id}.
//
//	go test ./tests/e2e -run '^$' -bench UpGetExecution -benchtime 2000x
func BenchmarkUpGetExecution50Stages(b *testing.B) {
	needBinaries(b)
	s := startServer(b, filepath.Join(b.TempDir(), "data"))
	post := func(path string, body any) []byte {
		enc, _ := json.Marshal(body)
		resp, err := http.Post(s.url+path, "application/json", bytes.NewReader(enc))
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			b.Fatalf("POST %s: %d %s", path, resp.StatusCode, msg)
		}
		return msg
	}
	post("/tasks", map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": "bench"}}}})
	stages := make([]any, 50)
	for i := range stages {
		st := map[string]any{"refId": fmt.Sprint(i + 1), "type": "noop", "name": fmt.Sprintf("Stage %d", i+1)}
		if i > 0 {
			st["requisiteStageRefIds"] = []string{fmt.Sprint(i)}
		}
		stages[i] = st
	}
	post("/pipelines", map[string]any{"application": "bench", "name": "Fifty", "stages": stages})
	var ref struct{ Ref string }
	_ = json.Unmarshal(post("/pipelines/bench/Fifty", map[string]any{}), &ref)
	id := ref.Ref[len("/pipelines/"):]
	s.waitStatus(b, id, "SUCCEEDED")

	client := &http.Client{}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		resp, err := client.Get(s.url + "/pipelines/" + id)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(pct(lat, 50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(pct(lat, 99).Microseconds()), "p99-µs")
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	if i > 0 {
		i--
	}
	return sorted[i]
}
