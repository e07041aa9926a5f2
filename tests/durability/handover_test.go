package durability_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestSIGKILLBetweenStagesStartsTheNextStageOnce kills `gennaker up` in the
// instant between one stage ending and the next one starting, at several
// moments of that hand-over, restarts it on the same data directory, and
// checks the run finishes with every stage run exactly once: the next stage
// neither stays NOT_STARTED nor starts twice.
func TestSIGKILLBetweenStagesStartsTheNextStageOnce(t *testing.T) {
	var after atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/after" {
			after.Add(1)
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer hook.Close()
	bin := buildGennaker(t)

	// One takes no time, so One and then Two are dispatched and started
	// within some tens of milliseconds of the trigger, too fast to see by
	// polling: killing after a delay lands anywhere in One's dispatch and
	// start, its end, and Two's dispatch and start.
	afterTrigger := func(d time.Duration) func(*testing.T, *server, string) {
		return func(*testing.T, *server, string) { time.Sleep(d) }
	}
	untilStages := func(one, two string) func(*testing.T, *server, string) {
		return func(t *testing.T, s *server, ref string) {
			deadline := time.Now().Add(20 * time.Second)
			for {
				e := s.do(t, "GET", ref, nil)
				if stage(t, e, "One")["status"] == one && (two == "" || stage(t, e, "Two")["status"] == two) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("One never became %s (Two %q): %v", one, two, e)
				}
			}
		}
	}
	for _, tc := range []struct {
		name string
		wait func(*testing.T, *server, string)
	}{
		{"right after One succeeds", untilStages("SUCCEEDED", "")},
		{"while Two waits", untilStages("SUCCEEDED", "RUNNING")},
		{"at once after the trigger", afterTrigger(0)},
		{"2ms after the trigger", afterTrigger(2 * time.Millisecond)},
		{"5ms after the trigger", afterTrigger(5 * time.Millisecond)},
		{"10ms after the trigger", afterTrigger(10 * time.Millisecond)},
		{"15ms after the trigger", afterTrigger(15 * time.Millisecond)},
		{"20ms after the trigger", afterTrigger(20 * time.Millisecond)},
		{"25ms after the trigger", afterTrigger(25 * time.Millisecond)},
		{"30ms after the trigger", afterTrigger(30 * time.Millisecond)},
		{"40ms after the trigger", afterTrigger(40 * time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after.Store(0)
			dataDir := t.TempDir()
			s := start(t, bin, dataDir)
			s.do(t, "POST", "/tasks", map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": "handover", "email": "ops@example.com"}}}})
			s.do(t, "POST", "/pipelines", map[string]any{
				"application": "handover", "name": "chain",
				"stages": []any{
					map[string]any{"refId": "1", "type": "wait", "name": "One", "waitTime": 0},
					map[string]any{"refId": "2", "type": "wait", "name": "Two", "waitTime": 2, "requisiteStageRefIds": []string{"1"}},
					map[string]any{"refId": "3", "type": "webhook", "name": "After", "url": hook.URL + "/after", "requisiteStageRefIds": []string{"2"}},
				},
			})
			ref := s.do(t, "POST", "/pipelines/handover/chain", map[string]any{"type": "manual", "user": "ops"})["ref"].(string)
			tc.wait(t, s, ref)
			if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = s.cmd.Wait()
			// What the dead process had recorded when it died.
			s = start(t, bin, dataDir)
			before := s.do(t, "GET", ref, nil)

			var end map[string]any
			deadline := time.Now().Add(30 * time.Second)
			for {
				end = s.do(t, "GET", ref, nil)
				if st := end["status"]; st != "RUNNING" && st != "NOT_STARTED" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("run still %v 30 s after the restart (stages One %v, Two %v, After %v; before the restart Two was %v)\n%s",
						end["status"], stage(t, end, "One")["status"], stage(t, end, "Two")["status"], stage(t, end, "After")["status"],
						stage(t, before, "Two")["status"], s.logs)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if end["status"] != "SUCCEEDED" {
				t.Fatalf("run ended %v after the restart: %v", end["status"], end)
			}
			if n := after.Load(); n != 1 {
				t.Errorf("the stage after Two called its webhook %d times, want exactly once", n)
			}
			two := stage(t, end, "Two")
			if b := stage(t, before, "Two"); b["status"] == "RUNNING" && b["startTime"] != two["startTime"] {
				t.Errorf("Two started again after the restart: %v then %v", b["startTime"], two["startTime"])
			}
			if d := two["endTime"].(float64) - two["startTime"].(float64); d < 2000 {
				t.Errorf("Two's wait of 2 s lasted %v ms", d)
			}
			if tasks := two["tasks"].([]any); len(tasks) != 1 {
				t.Errorf("Two has %d tasks, want its one wait: %v", len(tasks), tasks)
			}
		})
	}
}
