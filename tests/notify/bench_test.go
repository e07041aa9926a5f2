package notify_test

import (
	"net/http"
	"testing"
)

// BenchmarkRunTime measures a three-stage run end to end on `gennaker up`,
// without notifications and with every pipeline and stage event notified
// to a receiver that never answers: notifications stay off the pipeline's
// path, so the two should take the same time within noise.
//
//	go test -run '^$' -bench RunTime -benchtime 10x ./tests/notify
func BenchmarkRunTime(b *testing.B) {
	release := make(chan struct{})
	defer close(release)
	silent := newRecorder(b, func(r *http.Request, _ int) int {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return 200
	})
	s := up(b, "notifications: {timeout: 60s}\n")
	s.createApp("bench")
	hook := []any{map[string]any{"type": "webhook", "address": silent.URL, "when": []any{"stage.starting", "stage.complete"}}}
	for _, name := range []string{"quiet", "notified"} {
		p := map[string]any{"application": "bench", "name": name, "stages": []any{
			map[string]any{"refId": "1", "type": "wait", "name": "A", "waitTime": 0},
			map[string]any{"refId": "2", "type": "wait", "name": "B", "waitTime": 0, "requisiteStageRefIds": []any{"1"}},
			map[string]any{"refId": "3", "type": "wait", "name": "C", "waitTime": 0, "requisiteStageRefIds": []any{"2"}},
		}}
		if name == "notified" {
			p["notifications"] = []any{map[string]any{"type": "webhook", "address": silent.URL, "when": []any{"pipeline.starting", "pipeline.complete"}}}
			for _, st := range p["stages"].([]any) {
				st.(map[string]any)["sendNotifications"] = true
				st.(map[string]any)["notifications"] = hook
			}
		}
		s.savePipeline("", p)
	}
	for _, name := range []string{"quiet", "notified"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				id := s.trigger("bench", name, map[string]any{"type": "manual", "user": "bench"})
				s.waitStatus(id, "SUCCEEDED")
			}
		})
	}
}
