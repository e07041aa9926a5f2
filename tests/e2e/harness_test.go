// Package e2e drives the real `gennaker up` binary with the real spin CLI
// (github.com/spinnaker/spin v1.30.0, built from tools/spin) and with the
// gennaker CLI, as users would.
//
// TestMain builds both binaries into a temporary directory, so a plain
// `go test ./...` from a fresh clone runs the suite; building spin needs the
// Go module proxy (or a warm module cache) the first time. `go test -short`
// skips the suite.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binDir      string // holds the built binaries
	gennakerBin string
	spinBin     string
	repoRoot    string
	buildErr    error
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// testing.Short is only valid after flag parsing, which m.Run does;
	// parse here to know whether to build at all.
	if !testingShort() {
		dir, err := os.MkdirTemp("", "gennaker-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		buildErr = build()
	}
	return m.Run()
}

func testingShort() bool {
	for _, a := range os.Args[1:] {
		if a == "-test.short" || a == "-test.short=true" {
			return true
		}
	}
	return false
}

// build compiles gennaker from this module and spin from tools/spin.
func build() error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	if _, err := os.Stat(filepath.Join(repoRoot, "go.mod")); err != nil {
		return fmt.Errorf("cannot find the repository root from %s: %w", wd, err)
	}
	gennakerBin = filepath.Join(binDir, "gennaker")
	spinBin = filepath.Join(binDir, "spin")
	steps := []struct {
		dir  string
		args []string
	}{
		{repoRoot, []string{"build", "-ldflags", "-X main.version=e2e", "-o", gennakerBin, "./cmd/gennaker"}},
		{filepath.Join(repoRoot, "tools", "spin"), []string{"build", "-o", spinBin, "github.com/spinnaker/spin"}},
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	for _, s := range steps {
		cmd := exec.Command(goBin, s.args...)
		cmd.Dir = s.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s (in %s): %v\n%s", strings.Join(s.args, " "), s.dir, err, out)
		}
	}
	return nil
}

// needBinaries skips in -short mode and fails if the build failed.
func needBinaries(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end suite skipped in -short mode")
	}
	if buildErr != nil {
		t.Fatalf("building the binaries failed: %v", buildErr)
	}
}

// server is a running `gennaker up`.
type server struct {
	url     string
	dataDir string
	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan error
}

var upLine = regexp.MustCompile(`API on (http://\S+),`)

// startServer starts `gennaker up` on a free loopback port with the given
// data directory (and further flags) and waits until GET /health answers
// 200.
func startServer(t testing.TB, dataDir string, flags ...string) *server {
	t.Helper()
	cmd := exec.Command(gennakerBin, append([]string{"up", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, flags...)...)
	log := &syncBuffer{}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{dataDir: dataDir, cmd: cmd, log: log, done: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			log.Write([]byte(line + "\n"))
			if m := upLine.FindStringSubmatch(line); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case s.url = <-urls:
	case err := <-s.done:
		t.Fatalf("gennaker up exited before it was up: %v\n%s", err, log.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("gennaker up did not start in 30s:\n%s", log.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /health never answered 200: %v\n%s", err, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop sends SIGTERM and checks the server shuts down cleanly.
func (s *server) stop(t testing.TB) {
	t.Helper()
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("gennaker up did not exit cleanly after SIGTERM: %v\n%s", err, s.log.String())
		}
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("gennaker up did not stop within 20s of SIGTERM:\n%s", s.log.String())
	}
}

// result is what a CLI run printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

func runBinary(t testing.TB, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		exit, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		code = exit.ExitCode()
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// spin runs the real spin CLI against the server, with a HOME of its own
// and no ~/.spin/config.
func (s *server) spin(t testing.TB, args ...string) result {
	t.Helper()
	home := filepath.Join(s.dataDir, "..", "spin-home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	return runBinary(t, []string{"HOME=" + home}, spinBin, append([]string{"--gate-endpoint", s.url}, args...)...)
}

// gennaker runs the gennaker CLI against the server.
func (s *server) gennaker(t testing.TB, args ...string) result {
	t.Helper()
	return runBinary(t, []string{"USER=e2e-user", "GENNAKER_USER="}, gennakerBin, append([]string{"--api", s.url}, args...)...)
}

// ok runs and fails the test unless the command exits 0.
func ok(t testing.TB, r result, what string) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s failed: %s", what, r)
	}
	return r
}

// getJSON reads an API path into v.
func (s *server) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

type execution struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Stages []struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"stages"`
}

// waitFor polls an execution until cond holds.
func (s *server) waitFor(t testing.TB, id, what string, cond func(*execution) bool) *execution {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var x execution
		s.getJSON(t, "/pipelines/"+id, &x)
		if cond(&x) {
			return &x
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s never reached %s: %+v", id, what, x)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *server) waitStatus(t testing.TB, id, status string) *execution {
	t.Helper()
	return s.waitFor(t, id, status, func(x *execution) bool { return x.Status == status })
}

func (s *server) waitStage(t testing.TB, id, stage, status string) *execution {
	t.Helper()
	return s.waitFor(t, id, stage+" "+status, func(x *execution) bool {
		for _, st := range x.Stages {
			if st.Name == stage && st.Status == status {
				return true
			}
		}
		return false
	})
}

// example returns an example pipeline moved to another application.
func example(t testing.TB, name, app string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "examples", "pipelines", name))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	p["application"] = app
	out, _ := json.MarshalIndent(p, "", "  ")
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
