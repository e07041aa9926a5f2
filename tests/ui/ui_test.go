// Package ui drives gennaker's web UI in a real browser: Debian's Chromium,
// automated by playwright-core from web/e2e, against the real `gennaker up`
// binary deploying the hello service with the local provider.
//
// The test builds gennaker and hello, installs Chromium when it is missing
// (hack/chromium.sh, as root) and web/node_modules (npm ci), starts
// `gennaker up` on a free port, and runs `node --test web/e2e/`. Screenshots
// of each page are written to web/e2e/screenshots (or $GENNAKER_SCREENSHOTS).
// `go test -short` skips it.
package ui

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gennaker/gennaker/examples/hello/hellobin"
	"github.com/gennaker/gennaker/web/webtest"
)

var upLine = regexp.MustCompile(`API on (http://\S+),`)

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser suite skipped in -short mode")
	}
	ctx := t.Context()
	webDir := webtest.NodeModules(t)
	root := filepath.Dir(webDir)

	chromium := installChromium(t, root)
	bin := t.TempDir()
	gennaker := filepath.Join(bin, "gennaker")
	build := exec.CommandContext(ctx, "go", "build", "-o", gennaker, "./cmd/gennaker")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gennaker: %v\n%s", err, out)
	}
	hello, err := hellobin.Build(ctx, root, bin)
	if err != nil {
		t.Fatal(err)
	}

	url := startUp(t, gennaker)

	shots := os.Getenv("GENNAKER_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(webDir, "e2e", "screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	node := exec.CommandContext(ctx, "node", "--test", "--test-concurrency=1", "--test-reporter=spec", "e2e/")
	node.Dir = webDir
	node.Env = append(os.Environ(),
		"GENNAKER_URL="+url,
		"CHROMIUM_PATH="+chromium,
		"HELLO_BIN="+hello,
		"SCREENSHOTS="+shots,
	)
	node.WaitDelay = 10 * time.Second
	out, err := node.CombinedOutput()
	t.Logf("node --test e2e/ (screenshots in %s):\n%s", shots, out)
	if err != nil {
		t.Fatalf("the browser suite failed: %v", err)
	}
}

// installChromium returns Debian's Chromium, installing it when missing.
func installChromium(t *testing.T, root string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(root, "hack", "chromium.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/chromium.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// startUp starts `gennaker up` on a free port with a fresh data directory,
// waits for GET /health and stops it with SIGTERM when the test ends.
func startUp(t *testing.T, bin string) string {
	t.Helper()
	cmd := exec.Command(bin, "up", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	var log syncBuffer
	cmd.Stdout = &log
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.Write([]byte(sc.Text() + "\n"))
			if m := upLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("gennaker up did not stop within 20s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("gennaker up's log:\n%s", log.String())
		}
	})
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("gennaker up exited: %v\n%s", err, log.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("gennaker up did not start in 60s:\n%s", log.String())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url
			}
		}
		if ctx.Err() != nil {
			t.Fatal(fmt.Errorf("GET /health never answered 200: %w", err))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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
