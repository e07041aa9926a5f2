package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/api"
	"github.com/gennaker/gennaker/shared/runtime/local"
)

// cli runs the CLI in-process against the real API over a local runtime in
// a temporary directory. (tests/e2e runs the built binary.)
type cli struct {
	t   *testing.T
	url string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := local.Open(context.Background(), local.Options{DataDir: filepath.Join(t.TempDir(), "data"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{Store: rt.Store, Orchestrator: rt.Orchestrator, Registry: rt.Orchestrator.Registry(), Logger: log}))
	t.Cleanup(func() {
		srv.Close()
		_ = rt.Close()
	})
	old := pollInterval
	pollInterval = 20 * time.Millisecond
	t.Cleanup(func() { pollInterval = old })
	return &cli{t: t, url: srv.URL}
}

func (c *cli) run(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(append([]string{"--api", c.url}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("gennaker %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestCLIRunWatchExitCodes(t *testing.T) {
	c := newCLI(t)
	c.ok("app", "save", "demo", "--email", "you@example.com")
	c.ok("pipeline", "save", "-f", "../../examples/pipelines/hello.json")

	out := c.ok("pipeline", "run", "demo", "Hello", "--watch")
	for _, want := range []string{`stage "Wait 2s" (wait) RUNNING`, `stage "Wait 2s" (wait) SUCCEEDED after 2`, `pipeline "Hello" SUCCEEDED`, `Pipeline "Hello" SUCCEEDED in 2`} {
		if !strings.Contains(out, want) {
			t.Errorf("watch output lacks %q:\n%s", want, out)
		}
	}
	// After the run, what it would cost on AWS, from the run's counters.
	if m := regexp.MustCompile(`Cost on AWS: \$0\.0\d+ at us-east-1 list prices \(([1-9]\d*) state transitions, ([1-9]\d*) Lambda invocations`).FindStringSubmatch(out); m == nil {
		t.Errorf("watch output lacks the run's cost:\n%s", out)
	}

	// -o json: progress on stderr, the final execution as JSON on stdout,
	// and a non-zero exit for a run that did not succeed.
	c.ok("pipeline", "save", "-f", "../../examples/pipelines/approval.json")
	done := make(chan struct{})
	var stdout, stderr string
	var code int
	go func() {
		defer close(done)
		stdout, stderr, code = c.run("pipeline", "run", "demo", "approval", "--watch", "-o", "json")
	}()
	var id string
	deadline := time.Now().Add(30 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		var list []struct {
			ID     string
			Stages []struct{ Name, Status string }
		}
		out := c.ok("execution", "list", "demo", "-o", "json", "--status", "RUNNING")
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		for _, x := range list {
			for _, s := range x.Stages {
				if s.Name == "Approve" && s.Status == "RUNNING" {
					id = x.ID
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("the judgment never started")
	}
	c.ok("execution", "judge", id, "--stage", "Approve", "stop")
	<-done
	if code != 1 {
		t.Errorf("watch of a stopped run exited %d, want 1", code)
	}
	var final struct{ ID, Status string }
	if err := json.Unmarshal([]byte(stdout), &final); err != nil || final.ID != id || final.Status != "TERMINAL" {
		t.Errorf("watch -o json printed %q (%v)", stdout, err)
	}
	if !strings.Contains(stderr, `stage "Approve" (manualJudgment) TERMINAL`) {
		t.Errorf("progress did not go to stderr: %q", stderr)
	}
}

func TestCLIErrors(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown output", []string{"app", "list", "-o", "yaml"}, `--output "yaml" is not supported`},
		{"api error", []string{"app", "get", "nope"}, `application "nope" not found`},
		{"missing pipeline name", []string{"pipeline", "get", "demo"}, "name the pipeline"},
		{"bad param", []string{"pipeline", "run", "a", "b", "--param", "novalue"}, "key=value"},
		{"bad judgment", []string{"execution", "judge", "x", "--stage", "s", "maybe"}, "continue or stop"},
		{"file missing", []string{"pipeline", "save", "-f", "/nonexistent.json"}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := c.run(tc.args...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q, want it to say %q", code, errOut, tc.want)
			}
		})
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"--api", "http://127.0.0.1:1", "app", "list"}, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "is 'gennaker up' running?") {
		t.Errorf("unreachable API: exit %d, %q", code, errOut.String())
	}
}
