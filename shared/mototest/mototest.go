// Package mototest runs moto_server, an AWS-protocol server, for tests of
// the code that calls AWS APIs: Auto Scaling, ELBv2, EC2, Lambda, SNS, SQS,
// EventBridge, CloudWatch, STS (see ../shared/aws-testing.md beside the
// repository for what it models faithfully and what it does not).
//
// One server serves a whole test binary; each test isolates its state in an
// AWS account of its own, chosen by the x-moto-account-id header:
//
//	srv := mototest.Shared(t)
//	cfg := srv.Config(srv.NewAccount())
//	asg := autoscaling.NewFromConfig(cfg)
//
// moto is not installed by the project: it comes with the machine image (in
// pyenv's Python 3.11). A test that needs it fails, never skips, when it
// cannot be found or started, and says why.
package mototest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// BinaryEnv names an environment variable that, when set, is the
// moto_server executable to run.
const BinaryEnv = "GENNAKER_MOTO_SERVER"

// Region is the region Config's clients sign for.
const Region = "us-east-1"

// DefaultAccount is the account moto acts in when no header names another.
const DefaultAccount = "123456789012"

// AccountHeader selects the account (and so the separate state) a request
// acts in.
const AccountHeader = "x-moto-account-id"

const startTimeout = 30 * time.Second

// Server is a running moto_server.
type Server struct {
	// Endpoint is the server's base URL, such as "http://127.0.0.1:41234".
	Endpoint string
	stop     func()
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared returns the test binary's one moto_server, starting it on first
// use. It lives as long as the test binary (the kernel kills it when the
// binary exits). Tests sharing it keep apart with NewAccount.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = start() })
	if sharedErr != nil {
		t.Fatalf("moto_server: %v", sharedErr)
	}
	return shared
}

// Start starts a moto_server of the test's own, stopped when the test ends.
// Use it where a test needs server-wide settings (such as canned Lambda
// results) that would leak into other tests.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start()
	if err != nil {
		t.Fatalf("moto_server: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

// NewAccount returns a fresh random 12-digit account id: its state in moto
// is empty and separate from every other account's.
func (s *Server) NewAccount() string {
	n, err := rand.Int(rand.Reader, big.NewInt(900_000_000_000))
	if err != nil {
		panic(err)
	}
	return strconv.FormatInt(n.Int64()+100_000_000_000, 10)
}

// Config returns an SDK configuration that talks to the server as account,
// with static test credentials, region us-east-1, and no retries (moto
// answers operations it does not implement with 500, which the SDK would
// otherwise retry).
func (s *Server) Config(account string) aws.Config {
	cfg := aws.Config{
		Region:           Region,
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint:     aws.String(s.Endpoint),
		RetryMaxAttempts: 1,
	}
	if account != "" {
		cfg.APIOptions = append(cfg.APIOptions, smithyhttp.AddHeaderValue(AccountHeader, account))
	}
	return cfg
}

// Post sends body to one of moto's control endpoints (path such as
// "/moto-api/static/lambda-simple/response") and fails the test unless it
// answers 2xx.
func (s *Server) Post(t testing.TB, path, body string) {
	t.Helper()
	if err := post(s.Endpoint+path, body); err != nil {
		t.Fatal(err)
	}
}

// Binary returns the moto_server executable: $GENNAKER_MOTO_SERVER, then
// pyenv's Python 3.11 (where the machine image installs moto), then PATH.
func Binary() (string, error) {
	if b := os.Getenv(BinaryEnv); b != "" {
		return b, nil
	}
	var tried []string
	roots := []string{os.Getenv("PYENV_ROOT")}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, ".pyenv"))
	}
	for _, root := range roots {
		if root == "" {
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(root, "versions", "3.11*", "bin", "moto_server"))
		for _, m := range matches {
			if isExecutable(m) {
				return m, nil
			}
		}
		tried = append(tried, filepath.Join(root, "versions", "3.11*", "bin", "moto_server"))
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	tried = append(tried, "moto_server on PATH")
	return "", fmt.Errorf("moto_server not found (looked at %s); it comes with the machine image's pyenv Python (pip moto 5.2.1), or set %s to its path",
		strings.Join(tried, ", "), BinaryEnv)
}

func start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	var failures []string
	// The port is chosen before moto binds it, so another process may take
	// it in between; that start fails and the next tries another.
	for range 3 {
		s, err := startOn(bin)
		if err == nil {
			return s, nil
		}
		failures = append(failures, err.Error())
	}
	return nil, fmt.Errorf("start %s:\n%s", bin, strings.Join(failures, "\n"))
}

func startOn(bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	setProcAttr(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &syncWriter{w: &out}, &syncWriter{w: &out}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("moto_server on port %d exited: %s", port, lastLines(out.String()))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("moto_server on port %d did not answer within %s: %s", port, startTimeout, lastLines(out.String()))
		}
	}
	// Lambda without Docker: Invoke answers by echoing the payload, or with
	// the canned results a test queues.
	if err := post(endpoint+"/moto-api/config", `{"lambda":{"use_docker":false}}`); err != nil {
		stop()
		return nil, err
	}
	return &Server{Endpoint: endpoint, stop: stop}, nil
}

func post(url, body string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", url, resp.Status)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Keep the tail only: moto logs every request.
	if w.w.Len() > 64<<10 {
		tail := append([]byte(nil), w.w.Bytes()[w.w.Len()-16<<10:]...)
		w.w.Reset()
		w.w.Write(tail)
	}
	return w.w.Write(p)
}
