package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The real spin CLI against `gennaker up --auth`: with HTTP Basic
// credentials in ~/.spin/config it works, and records its user; without
// them it is refused with 401.
func TestSpinWithBasicAuth(t *testing.T) {
	needBinaries(t)
	dir := t.TempDir()
	sum := sha256.Sum256([]byte("deployer-token-1"))
	authPath := filepath.Join(dir, "auth.yaml")
	if err := os.WriteFile(authPath, []byte(fmt.Sprintf(authFile, hex.EncodeToString(sum[:]))), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(dir, "data"), "--auth", authPath)

	// Without credentials: 401, and spin shows it.
	r := s.spin(t, "application", "list")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "401") {
		t.Fatalf("spin without credentials: %s", r)
	}
	t.Logf("spin without credentials: %s", r)
	code, body := s.send(t, "GET", "/applications", nil, nil)
	if code != 401 || !strings.Contains(string(body), "Authorization: Bearer") {
		t.Fatalf("GET /applications without credentials: %d %s, want 401 saying how to authenticate", code, body)
	}

	// With the deployer's name and token as HTTP Basic credentials.
	home := filepath.Join(dir, "spin-home")
	if err := os.MkdirAll(filepath.Join(home, ".spin"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := "auth:\n  enabled: true\n  basic:\n    username: deployer\n    password: deployer-token-1\n"
	if err := os.WriteFile(filepath.Join(home, ".spin", "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	spin := func(args ...string) result {
		return runBinary(t, []string{"HOME=" + home}, spinBin, append([]string{"--gate-endpoint", s.url}, args...)...)
	}
	ok(t, spin("application", "save", "-f", filepath.Join(repoRoot, "examples", "application.json"), "--application-name", "spinauth"), "spin application save with basic credentials")
	r = ok(t, spin("application", "get", "spinauth"), "spin application get")
	var app map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &app); err != nil || app["user"] != "deployer" {
		t.Fatalf("spin application get printed %q (%v); want the application recorded as the deployer's", r.stdout, err)
	}
	ok(t, spin("pipeline", "save", "-f", example(t, "hello.json", "spinauth")), "spin pipeline save")
	ok(t, spin("pipeline", "execute", "-a", "spinauth", "-n", "Hello"), "spin pipeline execute")

	// A wrong token is refused too.
	bad := "auth:\n  enabled: true\n  basic:\n    username: deployer\n    password: not-the-token\n"
	if err := os.WriteFile(filepath.Join(home, ".spin", "config"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := spin("application", "list"); r.code == 0 || !strings.Contains(r.stdout+r.stderr, "401") {
		t.Fatalf("spin with a wrong token: %s", r)
	}
}

// The gennaker CLI sends $GENNAKER_TOKEN; without it, its error says how to
// authenticate.
func TestCLIWithToken(t *testing.T) {
	needBinaries(t)
	dir := t.TempDir()
	sum := sha256.Sum256([]byte("deployer-token-1"))
	authPath := filepath.Join(dir, "auth.yaml")
	if err := os.WriteFile(authPath, []byte(fmt.Sprintf(authFile, hex.EncodeToString(sum[:]))), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(dir, "data"), "--auth", authPath)
	cli := func(token string, args ...string) result {
		return runBinary(t, []string{"GENNAKER_TOKEN=" + token, "GENNAKER_USER=mallory"}, gennakerBin, append([]string{"--api", s.url}, args...)...)
	}
	r := cli("", "app", "list")
	if r.code == 0 || !strings.Contains(r.stderr, "GENNAKER_TOKEN") || !strings.Contains(r.stderr, "401") {
		t.Fatalf("gennaker app list without a token: %s", r)
	}
	ok(t, cli("writer-token-1", "app", "save", "cliapp", "--email", "w@example.com"), "gennaker app save with a token")
	var app struct {
		Attributes struct{ User string } `json:"attributes"`
	}
	code, body := sendAs(t, s, "writer-token-1", "GET", "/applications/cliapp")
	if err := json.Unmarshal(body, &app); code != 200 || err != nil || app.Attributes.User != "writer" {
		t.Fatalf("the application saved with the writer's token: %d %s", code, body)
	}
	r = ok(t, cli("deployer-token-1", "whoami"), "gennaker whoami")
	if !strings.Contains(r.stdout, "user:     deployer") || !strings.Contains(r.stdout, "deployers") {
		t.Errorf("gennaker whoami as the deployer printed:\n%s", r.stdout)
	}
	if r := cli("not-a-token", "app", "list"); r.code == 0 || !strings.Contains(r.stderr, "GENNAKER_TOKEN was refused") {
		t.Fatalf("gennaker app list with a wrong token: %s", r)
	}
}

func sendAs(t *testing.T, s *server, token, method, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// gennaker up refuses to serve beyond this machine without --auth or
// --insecure-no-auth, and with --auth it does.
func TestUpListensBeyondLoopbackOnlyWithAuth(t *testing.T) {
	needBinaries(t)
	dir := t.TempDir()
	r := runBinary(t, nil, gennakerBin, "up", "--listen", "0.0.0.0:0", "--data-dir", filepath.Join(dir, "refused"))
	if r.code == 0 || !strings.Contains(r.stderr, "--auth") || !strings.Contains(r.stderr, "--insecure-no-auth") {
		t.Fatalf("gennaker up --listen 0.0.0.0:0 without --auth: %s", r)
	}
	sum := sha256.Sum256([]byte("deployer-token-1"))
	authPath := filepath.Join(dir, "auth.yaml")
	if err := os.WriteFile(authPath, []byte(fmt.Sprintf(authFile, hex.EncodeToString(sum[:]))), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(dir, "data"), "--listen", "0.0.0.0:0", "--auth", authPath)
	if code, _ := sendAs(t, s, "deployer-token-1", "GET", "/auth/user"); code != 200 {
		t.Fatalf("GET /auth/user on %s: %d", s.url, code)
	}
	open := startServer(t, filepath.Join(dir, "open"), "--listen", "0.0.0.0:0", "--insecure-no-auth")
	if !strings.Contains(open.log.String(), "authentication is off") {
		t.Errorf("gennaker up --insecure-no-auth does not say authentication is off:\n%s", open.log.String())
	}
}
