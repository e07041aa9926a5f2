// Package durability_test kills the real `gennaker up` process with SIGKILL
// in the middle of a pipeline and checks that, once restarted, the run
// completes with every stage run exactly once.
package durability_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func buildGennaker(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(t.TempDir(), "gennaker")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gennaker")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build gennaker: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type server struct {
	cmd  *exec.Cmd
	base string
	logs *bytes.Buffer
}

func start(t *testing.T, bin, dataDir string) *server {
	t.Helper()
	addr := freeAddr(t)
	logs := &bytes.Buffer{}
	cmd := exec.Command(bin, "up", "--listen", addr, "--data-dir", dataDir)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, logs: logs}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gennaker up did not become healthy: %v\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) do(t *testing.T, method, path string, body any) map[string]any {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func stage(t *testing.T, e map[string]any, name string) map[string]any {
	t.Helper()
	for _, s := range e["stages"].([]any) {
		if m := s.(map[string]any); m["name"] == name {
			return m
		}
	}
	t.Fatalf("no stage %q", name)
	return nil
}

func TestSIGKILLMidPipelineResumesEveryStageOnce(t *testing.T) {
	hits := map[string]*atomic.Int64{"before": {}, "after": {}}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := hits[r.URL.Path[1:]]; ok {
			c.Add(1)
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer hook.Close()

	bin := buildGennaker(t)
	dataDir := t.TempDir()
	s := start(t, bin, dataDir)
	s.do(t, "POST", "/tasks", map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": "durable", "email": "ops@example.com"}}}})
	s.do(t, "POST", "/pipelines", map[string]any{
		"application": "durable", "name": "survive",
		"stages": []any{
			map[string]any{"refId": "1", "type": "webhook", "name": "Before", "url": hook.URL + "/before"},
			map[string]any{"refId": "2", "type": "wait", "name": "Soak", "waitTime": 4, "requisiteStageRefIds": []string{"1"}},
			map[string]any{"refId": "3", "type": "manualJudgment", "name": "Approve", "requisiteStageRefIds": []string{"1"}},
			map[string]any{"refId": "4", "type": "webhook", "name": "After", "url": hook.URL + "/after", "requisiteStageRefIds": []string{"2", "3"}},
		},
	})
	ref := s.do(t, "POST", "/pipelines/durable/survive", map[string]any{"type": "manual", "user": "ops"})["ref"].(string)

	var before map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for {
		before = s.do(t, "GET", ref, nil)
		if stage(t, before, "Soak")["status"] == "RUNNING" && stage(t, before, "Approve")["status"] == "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stages never ran: %v", before)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Kill it in the middle of the wait and the judgment, and start again.
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
	time.Sleep(500 * time.Millisecond)
	s = start(t, bin, dataDir)

	approve := stage(t, before, "Approve")["id"].(string)
	s.do(t, "PATCH", ref+"/stages/"+approve, map[string]any{"judgmentStatus": "continue", "judgmentInput": "ok"})
	var after map[string]any
	deadline = time.Now().Add(30 * time.Second)
	for {
		after = s.do(t, "GET", ref, nil)
		if st := after["status"]; st != "RUNNING" && st != "NOT_STARTED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run did not finish after the restart: %v\n%s", after["status"], s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after["status"] != "SUCCEEDED" {
		t.Fatalf("run ended %v after the restart: %v", after["status"], after)
	}
	for name, c := range hits {
		if c.Load() != 1 {
			t.Errorf("webhook %q called %d times, want exactly once", name, c.Load())
		}
	}
	soakBefore, soakAfter := stage(t, before, "Soak"), stage(t, after, "Soak")
	if soakBefore["startTime"] != soakAfter["startTime"] {
		t.Errorf("Soak started again: %v then %v", soakBefore["startTime"], soakAfter["startTime"])
	}
	if d := soakAfter["endTime"].(float64) - soakAfter["startTime"].(float64); d < 4000 {
		t.Errorf("Soak's wait of 4 s lasted %v ms across the restart", d)
	}
	var runs []any
	resp, err := http.Get(s.base + "/applications/durable/pipelines")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&runs)
	if len(runs) != 1 {
		t.Errorf("%d runs recorded, want 1 (a restart must neither lose nor duplicate a run)", len(runs))
	}
}
