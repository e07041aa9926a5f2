package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGennakerCLI walks through the quickstart with the gennaker CLI: an
// application, the example pipelines, runs watched to the end, judgments,
// history, and the execution commands.
func TestGennakerCLI(t *testing.T) {
	needBinaries(t)
	s := startServer(t, filepath.Join(t.TempDir(), "data"))

	r := ok(t, s.gennaker(t, "app", "list"), "app list")
	if !strings.Contains(r.stdout, "No applications yet") {
		t.Errorf("app list on an empty platform printed %q", r.stdout)
	}
	ok(t, s.gennaker(t, "app", "save", "demo", "--email", "you@example.com", "--description", "Quickstart"), "app save")
	r = ok(t, s.gennaker(t, "app", "list"), "app list")
	if !strings.Contains(r.stdout, "demo") || !strings.Contains(r.stdout, "you@example.com") {
		t.Errorf("app list printed %q", r.stdout)
	}
	r = ok(t, s.gennaker(t, "app", "get", "demo", "-o", "json"), "app get -o json")
	var app map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &app); err != nil || app["description"] != "Quickstart" {
		t.Errorf("app get -o json printed %q (%v)", r.stdout, err)
	}

	// Validate, save, list, get.
	examples := filepath.Join(repoRoot, "examples", "pipelines")
	r = ok(t, s.gennaker(t, "pipeline", "validate", "-f", filepath.Join(examples, "approval.json")), "pipeline validate")
	if !strings.Contains(r.stdout, "is valid") {
		t.Errorf("validate printed %q", r.stdout)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"application":"demo","name":"Bad","stages":[{"refId":"1","type":"teleport","requisiteStageRefIds":["2"]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r = s.gennaker(t, "pipeline", "validate", "-f", bad)
	if r.code != 1 || !strings.Contains(r.stdout, `stages[0].type: stage type "teleport" is not available here`) || !strings.Contains(r.stdout, `stages[0].requisiteStageRefIds[0]`) {
		t.Errorf("validate of a bad pipeline: %s", r)
	}
	if r := s.gennaker(t, "pipeline", "save", "-f", bad); r.code == 0 || !strings.Contains(r.stderr, "HTTP 400") {
		t.Errorf("saving a bad pipeline: %s", r)
	}
	for _, f := range []string{"hello.json", "approval.json", "parallel.json"} {
		r = ok(t, s.gennaker(t, "pipeline", "save", "-f", filepath.Join(examples, f)), "pipeline save "+f)
		if !strings.Contains(r.stdout, "version 1") {
			t.Errorf("save %s printed %q", f, r.stdout)
		}
	}
	r = ok(t, s.gennaker(t, "pipeline", "list", "demo"), "pipeline list")
	for _, name := range []string{"Hello", "approval", "Parallel branches"} {
		if !strings.Contains(r.stdout, name) {
			t.Errorf("pipeline list does not show %q: %s", name, r.stdout)
		}
	}
	r = ok(t, s.gennaker(t, "pipeline", "get", "demo", "Hello"), "pipeline get")
	var hello map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &hello); err != nil || hello["name"] != "Hello" {
		t.Errorf("pipeline get printed %q", r.stdout)
	}

	// Run and watch to the end.
	r = ok(t, s.gennaker(t, "pipeline", "run", "demo", "Parallel branches", "--watch"), "pipeline run --watch")
	for _, want := range []string{`stage "Test in us-east-1" (wait) RUNNING`, `stage "Test in eu-west-1" (wait) SUCCEEDED`, `stage "Join" (noop) SUCCEEDED`, `Pipeline "Parallel branches" SUCCEEDED in`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("watch output lacks %q:\n%s", want, r.stdout)
		}
	}

	// A judgment while watching: continue, then stop.
	for _, tc := range []struct {
		choice, input, final string
		code                 int
	}{
		{"continue", "ship it", "SUCCEEDED", 0},
		{"stop", "not today", "TERMINAL", 1},
	} {
		watch := startWatch(t, s, "pipeline", "run", "demo", "approval", "--param", "version=9.9.9", "--watch")
		line := watch.waitLine(t, "waiting for a judgment: gennaker execution judge ")
		id := strings.Fields(line[strings.Index(line, "judge ")+len("judge "):])[0]
		ok(t, s.gennaker(t, "execution", "judge", id, "--stage", "Approve", tc.choice, "--input", tc.input), "execution judge "+tc.choice)
		out, code := watch.wait(t)
		if code != tc.code || !strings.Contains(out, `Pipeline "approval" `+tc.final) {
			t.Errorf("after judging %s the watch exited %d (want %d):\n%s", tc.choice, code, tc.code, out)
		}
		r = ok(t, s.gennaker(t, "execution", "get", id), "execution get")
		if !strings.Contains(r.stdout, "Status:    "+tc.final) {
			t.Errorf("execution get after %s: %s", tc.choice, r.stdout)
		}
		if tc.choice == "stop" && !strings.Contains(r.stdout, "stopped by e2e-user") {
			t.Errorf("execution get does not say who stopped it: %s", r.stdout)
		}
	}

	// A judgment the stage does not offer is refused with the choices.
	r = ok(t, s.gennaker(t, "pipeline", "run", "demo", "approval", "-o", "json"), "pipeline run -o json")
	var started struct{ ID, Ref string }
	if err := json.Unmarshal([]byte(r.stdout), &started); err != nil || started.ID == "" {
		t.Fatalf("run -o json printed %q", r.stdout)
	}
	s.waitStage(t, started.ID, "Approve", "RUNNING")
	if r := s.gennaker(t, "execution", "judge", started.ID, "--stage", "Approve", "continue", "--input", "yolo"); r.code == 0 || !strings.Contains(r.stderr, `"ship it", "not today"`) {
		t.Errorf("a judgment input not offered: %s", r)
	}

	// Pause, resume, cancel; list and get.
	ok(t, s.gennaker(t, "execution", "pause", started.ID), "execution pause")
	s.waitStatus(t, started.ID, "PAUSED")
	if r := s.gennaker(t, "execution", "pause", started.ID); r.code == 0 || !strings.Contains(r.stderr, "HTTP 409") {
		t.Errorf("pausing a paused execution: %s", r)
	}
	ok(t, s.gennaker(t, "execution", "resume", started.ID), "execution resume")
	s.waitStatus(t, started.ID, "RUNNING")
	ok(t, s.gennaker(t, "execution", "cancel", started.ID, "--reason", "e2e"), "execution cancel")
	s.waitStatus(t, started.ID, "CANCELED")
	r = ok(t, s.gennaker(t, "execution", "list", "demo"), "execution list")
	if !strings.Contains(r.stdout, started.ID) || !strings.Contains(r.stdout, "CANCELED") || !strings.Contains(r.stdout, "TERMINAL") {
		t.Errorf("execution list: %s", r.stdout)
	}
	r = ok(t, s.gennaker(t, "execution", "list", "demo", "--pipeline", "approval", "--status", "succeeded", "-o", "json"), "execution list --pipeline --status -o json")
	var runs []execution
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil || len(runs) != 1 || runs[0].Status != "SUCCEEDED" {
		t.Errorf("execution list --status succeeded: %q (%v)", r.stdout, err)
	}
	// `execution watch` of a finished run reports how it ended.
	if r := s.gennaker(t, "execution", "watch", started.ID); r.code != 1 || !strings.Contains(r.stdout, "CANCELED") {
		t.Errorf("watching a canceled run: %s", r)
	}

	// History: a second save is version 2; diff, restore.
	edited := example(t, "hello.json", "demo")
	var doc map[string]any
	b, _ := os.ReadFile(edited)
	_ = json.Unmarshal(b, &doc)
	doc["stages"].([]any)[0].(map[string]any)["waitTime"] = 1
	b, _ = json.Marshal(doc)
	if err := os.WriteFile(edited, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r = ok(t, s.gennaker(t, "pipeline", "save", "-f", edited), "pipeline save (edit)")
	if !strings.Contains(r.stdout, "version 2") {
		t.Errorf("second save printed %q", r.stdout)
	}
	r = ok(t, s.gennaker(t, "pipeline", "history", "demo", "Hello"), "pipeline history")
	if !strings.Contains(r.stdout, "VERSION") || !strings.Contains(r.stdout, "e2e-user") || strings.Count(r.stdout, "\n") != 3 {
		t.Errorf("history printed %q", r.stdout)
	}
	r = ok(t, s.gennaker(t, "pipeline", "diff", "demo", "Hello"), "pipeline diff")
	if !strings.Contains(r.stdout, "~ stages[refId=1].waitTime: 2 -> 1") {
		t.Errorf("diff printed %q", r.stdout)
	}
	r = ok(t, s.gennaker(t, "pipeline", "restore", "demo", "Hello", "1"), "pipeline restore")
	if !strings.Contains(r.stdout, "restored as version 3") {
		t.Errorf("restore printed %q", r.stdout)
	}
	r = ok(t, s.gennaker(t, "pipeline", "history", "demo", "Hello", "-o", "json"), "pipeline history -o json")
	var hist []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &hist); err != nil || len(hist) != 3 || hist[0]["stages"].([]any)[0].(map[string]any)["waitTime"] != 2.0 {
		t.Errorf("history after restore: %q (%v)", r.stdout, err)
	}

	// Delete.
	ok(t, s.gennaker(t, "pipeline", "delete", "demo", "Hello"), "pipeline delete")
	if r := s.gennaker(t, "pipeline", "get", "demo", "Hello"); r.code == 0 || !strings.Contains(r.stderr, "HTTP 404") {
		t.Errorf("get of a deleted pipeline: %s", r)
	}
	ok(t, s.gennaker(t, "app", "delete", "demo"), "app delete")
	if r := s.gennaker(t, "app", "get", "demo"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("get of a deleted application: %s", r)
	}
}

// TestRestartResumes stops `gennaker up` with SIGTERM while a run waits and
// starts it again on the same data: the run carries on to the end.
func TestRestartResumes(t *testing.T) {
	needBinaries(t)
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data)
	ok(t, s.gennaker(t, "app", "save", "demo"), "app save")
	ok(t, s.gennaker(t, "pipeline", "save", "-f", filepath.Join(repoRoot, "examples", "pipelines", "approval.json")), "pipeline save")
	r := ok(t, s.gennaker(t, "pipeline", "run", "demo", "approval", "-o", "json"), "pipeline run")
	var started struct{ ID string }
	if err := json.Unmarshal([]byte(r.stdout), &started); err != nil {
		t.Fatal(err)
	}
	s.waitStage(t, started.ID, "Build", "RUNNING")
	s.stop(t)
	if !strings.Contains(s.log.String(), "stopped; executions in progress resume") {
		t.Errorf("gennaker up did not report a clean stop:\n%s", s.log.String())
	}

	s2 := startServer(t, data)
	s2.waitStage(t, started.ID, "Approve", "RUNNING")
	ok(t, s2.gennaker(t, "execution", "judge", started.ID, "--stage", "Approve", "continue"), "judge after restart")
	s2.waitStatus(t, started.ID, "SUCCEEDED")
}

// TestUpRefusesBadStarts: a second `gennaker up` on the same address, or
// one given a bad accounts file, says why it cannot start.
func TestUpRefusesBadStarts(t *testing.T) {
	needBinaries(t)
	s := startServer(t, filepath.Join(t.TempDir(), "data"))
	addr := strings.TrimPrefix(s.url, "http://")
	r := runBinary(t, nil, gennakerBin, "up", "--listen", addr, "--data-dir", filepath.Join(t.TempDir(), "other"))
	if r.code == 0 || !strings.Contains(r.stderr, "cannot listen on "+addr) {
		t.Errorf("second gennaker up on %s: %s", addr, r)
	}
	bad := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(bad, []byte("accounts: {not: a list}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runBinary(t, nil, gennakerBin, "up", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "other"), "--accounts", bad)
	if r.code == 0 || !strings.Contains(r.stderr, "--accounts") {
		t.Errorf("gennaker up with a bad accounts file: %s", r)
	}
	var v struct{ Version string }
	s.getJSON(t, "/version", &v)
	if v.Version != "e2e" {
		t.Errorf("GET /version = %q, want the build's version", v.Version)
	}
}

// watchProc is a gennaker command running in the background.
type watchProc struct {
	cmd   *exec.Cmd
	out   *syncBuffer
	lines chan string
	done  chan struct{}
}

func startWatch(t *testing.T, s *server, args ...string) *watchProc {
	t.Helper()
	cmd := exec.Command(gennakerBin, append([]string{"--api", s.url}, args...)...)
	cmd.Env = append(os.Environ(), "USER=e2e-user", "GENNAKER_USER=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w := &watchProc{cmd: cmd, out: &syncBuffer{}, lines: make(chan string, 100), done: make(chan struct{})}
	cmd.Stderr = w.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w.out.Write(append(sc.Bytes(), '\n'))
			select {
			case w.lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return w
}

func (w *watchProc) waitLine(t *testing.T, substr string) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line := <-w.lines:
			if strings.Contains(line, substr) {
				return line
			}
		case <-w.done:
			t.Fatalf("the command ended before printing %q:\n%s", substr, w.out.String())
		case <-timeout:
			t.Fatalf("no line with %q in 60s:\n%s", substr, w.out.String())
		}
	}
}

func (w *watchProc) wait(t *testing.T) (string, int) {
	t.Helper()
	<-w.done
	err := w.cmd.Wait()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return w.out.String(), code
}

// TestDeploymentsReadAPI: `gennaker up` serves the deployments read API
// (shared/deployapi) beside Gate's other endpoints.
func TestDeploymentsReadAPI(t *testing.T) {
	needBinaries(t)
	s := startServer(t, filepath.Join(t.TempDir(), "data"))
	var accounts []map[string]any
	s.getJSON(t, "/credentials", &accounts)
	found := false
	for _, a := range accounts {
		if a["name"] == "local" {
			found = true
		}
	}
	if !found {
		t.Errorf("GET /credentials = %v, want the local account", accounts)
	}
	ok(t, s.gennaker(t, "app", "save", "demo"), "app save")
	var groups []any
	s.getJSON(t, "/applications/demo/serverGroups", &groups)
	if len(groups) != 0 {
		t.Errorf("a new application has server groups: %v", groups)
	}
}
