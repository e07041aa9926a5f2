// Package promtest runs a real Prometheus server for tests: Debian's
// prometheus package (installed by hack/prometheus-install.sh, which
// `make test` runs), on a free port, with its data in a temp dir, scraping
// the targets a test lists in a file it may rewrite while the server runs.
// A test fails, never skips, when Prometheus cannot start.
package promtest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running Prometheus.
type Server struct {
	// URL is its base URL, such as http://127.0.0.1:39123.
	URL     string
	targets string
	mu      sync.Mutex
}

// Binary finds the prometheus binary.
func Binary() (string, error) {
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/prometheus", "/usr/local/bin/prometheus"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("prometheus is not installed: run hack/prometheus-install.sh (make test does)")
}

// Start runs Prometheus scraping every scrapeEvery, with the targets'
// host:port listed by SetTargets, until the test ends.
func Start(t testing.TB, scrapeEvery time.Duration) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &Server{targets: filepath.Join(dir, "targets.json")}
	s.SetTargets(t)
	interval := fmt.Sprintf("%dms", scrapeEvery.Milliseconds())
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: targets
    scrape_interval: %[1]s
    scrape_timeout: %[1]s
    file_sd_configs:
      - files: [%[2]q]
        refresh_interval: 1s
`, interval, s.targets)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	log := &strings.Builder{}
	var logMu sync.Mutex
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.console.templates="+dir, "--web.console.libraries="+dir,
	)
	w := writerFunc(func(p []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return log.Write(p) })
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	s.URL = "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			logMu.Lock()
			defer logMu.Unlock()
			t.Fatalf("prometheus did not become ready on %s within 60s:\n%s", addr, tail(log.String()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SetTargets replaces the scraped targets (host:port, scraped on /metrics);
// Prometheus picks the change up within a second or two.
func (s *Server) SetTargets(t testing.TB, hostports ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if hostports == nil {
		hostports = []string{}
	}
	b, _ := json.Marshal([]map[string]any{{"targets": hostports}})
	tmp := s.targets + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, s.targets); err != nil {
		t.Fatal(err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
