// Package notify_test runs the real `gennaker up` with real servers
// standing in for Slack, GitHub, webhook receivers and a mail server
// (Debian's aiosmtpd), and checks the notifications a user would receive.
package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func gennakerBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gennaker-notify-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "gennaker")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/gennaker")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build gennaker: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// server is one `gennaker up` process.
type server struct {
	t       testing.TB
	cmd     *exec.Cmd
	base    string
	logs    *syncBuffer
	dataDir string
	config  string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// up starts gennaker with the configuration file's content.
func up(t testing.TB, config string) *server {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "gennaker.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, dataDir: filepath.Join(dir, "data"), config: path}
	s.start()
	return s
}

func (s *server) start() {
	t := s.t
	t.Helper()
	addr := freeAddr(t)
	s.logs = &syncBuffer{}
	s.cmd = exec.Command(gennakerBin(t), "up", "--listen", addr, "--data-dir", s.dataDir, "--accounts", s.config, "--log-level", "warn")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := s.cmd
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	s.base = "http://" + addr
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(s.base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gennaker up did not become healthy: %v\n%s", err, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL.
func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

func (s *server) call(method, path, user string, body any) (int, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("X-SPINNAKER-USER", user)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *server) do(method, path, user string, body any) any {
	s.t.Helper()
	code, b := s.call(method, path, user, body)
	if code >= 300 {
		s.t.Fatalf("%s %s: %d %s\n%s", method, path, code, b, s.logs)
	}
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

func (s *server) createApp(name string) {
	s.do("POST", "/tasks", "", map[string]any{"job": []any{map[string]any{
		"type": "createApplication", "application": map[string]any{"name": name, "email": "ops@example.com"}}}})
}

func (s *server) savePipeline(user string, p map[string]any) {
	s.do("POST", "/pipelines", user, p)
}

// trigger starts a run and returns its id.
func (s *server) trigger(app, pipeline string, trigger map[string]any) string {
	ref := s.do("POST", "/pipelines/"+app+"/"+pipeline, "", trigger).(map[string]any)["ref"].(string)
	return ref[strings.LastIndex(ref, "/")+1:]
}

func (s *server) execution(id string) map[string]any {
	return s.do("GET", "/pipelines/"+id, "", nil).(map[string]any)
}

// waitFor polls until cond holds for the run, or fails.
func (s *server) waitFor(id, what string, cond func(e map[string]any) bool) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		e := s.execution(id)
		if cond(e) {
			return e
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(e, "", "  ")
			s.t.Fatalf("run %s: %s never happened:\n%s\n%s", id, what, b, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) waitStatus(id string, statuses ...string) map[string]any {
	return s.waitFor(id, "status "+strings.Join(statuses, "/"), func(e map[string]any) bool {
		return slices.Contains(statuses, e["status"].(string))
	})
}

func stageOf(e map[string]any, name string) map[string]any {
	for _, s := range e["stages"].([]any) {
		if m := s.(map[string]any); m["name"] == name {
			return m
		}
	}
	return nil
}

func deliveries(e map[string]any) []map[string]any {
	list, _ := e["notificationDeliveries"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, d := range list {
		out = append(out, d.(map[string]any))
	}
	return out
}

// request is one request a stand-in server received.
type request struct {
	Path    string
	Header  http.Header
	Body    map[string]any
	Raw     []byte
	Answer  int
	Arrived time.Time
}

// recorder is a real HTTP server standing in for Slack, GitHub or a
// webhook receiver: it records every request and answers as answer says.
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	answer   func(r *http.Request, n int) int
}

func newRecorder(t testing.TB, answer func(r *http.Request, n int) int) *recorder {
	rec := &recorder{answer: answer}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		rec.mu.Lock()
		n := len(rec.requests)
		rec.requests = append(rec.requests, request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Raw: raw, Arrived: time.Now()})
		rec.mu.Unlock()
		code := 200
		if rec.answer != nil {
			code = rec.answer(r, n)
		}
		rec.mu.Lock()
		rec.requests[n].Answer = code
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if strings.HasSuffix(r.URL.Path, "/api/chat.postMessage") {
			fmt.Fprint(w, `{"ok":true,"channel":"C1","ts":"1.2"}`)
			return
		}
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(rec.Server.Close)
	return rec
}

// accepted returns the requests answered with 2xx.
func (r *recorder) accepted() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []request
	for _, q := range r.requests {
		if q.Answer/100 == 2 {
			out = append(out, q)
		}
	}
	return out
}

func (r *recorder) all() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.requests...)
}

// waitAccepted waits until n requests were accepted.
func (r *recorder) waitAccepted(t *testing.T, n int, logs fmt.Stringer) []request {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := r.accepted()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			var lines []string
			for _, q := range r.all() {
				lines = append(lines, fmt.Sprintf("%s %d %s", q.Path, q.Answer, q.Raw))
			}
			t.Fatalf("%d requests accepted, want %d:\n%s\n%s", len(got), n, strings.Join(lines, "\n"), logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// smtpServer is Debian's aiosmtpd storing every message in a Maildir.
type smtpServer struct {
	addr    string
	maildir string
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	deps := exec.Command(filepath.Join(repoRoot(), "hack", "smtp-deps.sh"))
	if out, err := deps.CombinedOutput(); err != nil {
		t.Fatalf("install the mail server (hack/smtp-deps.sh): %v\n%s", err, out)
	}
	s := &smtpServer{addr: freeAddr(t), maildir: filepath.Join(t.TempDir(), "Maildir")}
	cmd := exec.Command("/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", s.addr, "-c", "aiosmtpd.handlers.Mailbox", s.maildir)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", s.addr)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("aiosmtpd did not start: %v\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *smtpServer) hostPort() (string, string) {
	h, p, _ := net.SplitHostPort(s.addr)
	return h, p
}

// messages reads the Maildir, oldest first.
func (s *smtpServer) messages(t *testing.T) []*mail.Message {
	t.Helper()
	var out []*mail.Message
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, sub := range []string{"new", "cur"} {
		entries, _ := os.ReadDir(filepath.Join(s.maildir, sub))
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				continue
			}
			files = append(files, file{filepath.Join(s.maildir, sub, e.Name()), info.ModTime()})
		}
	}
	slices.SortFunc(files, func(a, b file) int { return a.mod.Compare(b.mod) })
	for _, f := range files {
		b, err := os.ReadFile(f.path)
		if err != nil {
			continue
		}
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err == nil {
			out = append(out, m)
		}
	}
	return out
}

func (s *smtpServer) waitMessages(t *testing.T, n int) []*mail.Message {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := s.messages(t)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mails arrived, want %d", len(got), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var _ = context.Background
