// Package dynalitetest runs dynalite, a DynamoDB-protocol server, for tests
// that need a real DynamoDB wire protocol without AWS: the dynamodb store's
// contract tests and the end-to-end suites.
//
// dynalite is pinned in the module root's package.json and installed into
// node_modules by npm. Start finds node_modules/.bin/dynalite, runs `npm ci`
// once if it is missing (under a file lock, so test binaries of several
// packages running at once do not race), and starts an in-memory server on
// a free 127.0.0.1 port that lives as long as the test:
//
//	endpoint := dynalitetest.Start(t)
//	client := dynalitetest.Client(endpoint)
//
// Nothing here talks to anything but the loopback interface; the client
// uses fake static credentials and region us-east-1.
package dynalitetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gennaker/gennaker/shared/runtime/env"
)

// BinaryEnv names an environment variable that, when set, is the dynalite
// executable to run instead of the module's node_modules/.bin/dynalite.
const BinaryEnv = env.Dynalite

// Region is the region Client's clients sign for.
const Region = "us-east-1"

// startTimeout bounds how long one dynalite start may take.
const startTimeout = 30 * time.Second

// Start starts an in-memory dynalite server on a free loopback port and
// returns its endpoint, such as "http://127.0.0.1:41234". It fails the test
// if dynalite cannot be installed or started. The server is killed when the
// test and its subtests end. Tables are created instantly (no CREATING
// delay).
func Start(t testing.TB) string {
	t.Helper()
	bin := Binary(t)
	var failures []string
	// The port is chosen before dynalite binds it, so another process may
	// take it in between; that start fails and the next tries another.
	for range 5 {
		endpoint, stop, err := start(bin)
		if err == nil {
			t.Cleanup(stop)
			return endpoint
		}
		failures = append(failures, err.Error())
	}
	t.Fatalf("start dynalite (%s):\n%s", bin, strings.Join(failures, "\n"))
	return ""
}

func start(bin string) (endpoint string, stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin,
		"--host", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--createTableMs", "0",
		"--deleteTableMs", "0",
		"--updateTableMs", "0",
	)
	setProcAttr(cmd)
	// dynalite prints its address once it listens.
	stdout := &watcher{want: []byte("Dynalite listening at"), seen: make(chan struct{})}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
	}

	select {
	case <-stdout.seen:
	case <-exited:
		return "", nil, fmt.Errorf("dynalite on port %d exited: %s", port, strings.TrimSpace(stderr.String()))
	case <-time.After(startTimeout):
		stop()
		return "", nil, fmt.Errorf("dynalite on port %d did not listen within %s: %s", port, startTimeout, strings.TrimSpace(stderr.String()))
	}

	endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitAnswers(endpoint); err != nil {
		stop()
		return "", nil, err
	}
	return endpoint, stop, nil
}

// watcher is an output that closes seen once want has been written to it.
type watcher struct {
	want []byte
	seen chan struct{}
	mu   sync.Mutex
	buf  []byte
	done bool
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if bytes.Contains(w.buf, w.want) {
		w.done, w.buf = true, nil
		close(w.seen)
	}
	return len(p), nil
}

// waitAnswers waits until the server at endpoint answers HTTP.
func waitAnswers(endpoint string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := client.Get(endpoint)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dynalite at %s does not answer: %w", endpoint, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Client returns a DynamoDB client for a dynalite endpoint: fake static
// credentials, region us-east-1, no shared configuration or environment
// read, so it can never reach AWS.
func Client(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("fake", "fake", ""),
	}, optFns...)
}

var install sync.Mutex

// Binary returns the dynalite executable: $GENNAKER_DYNALITE if set, else
// node_modules/.bin/dynalite at the module root, running `npm ci` there
// first if it is missing.
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(BinaryEnv); bin != "" {
		return bin
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("find dynalite: %v", err)
	}
	bin := filepath.Join(root, "node_modules", ".bin", "dynalite")
	if isFile(bin) {
		return bin
	}

	install.Lock()
	defer install.Unlock()
	unlock, err := lockFile(filepath.Join(os.TempDir(), "gennaker-npm-ci-"+shortHash(root)+".lock"))
	if err != nil {
		t.Fatalf("install dynalite: %v", err)
	}
	defer unlock()
	if isFile(bin) {
		return bin // another test binary installed it while we waited
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("dynalite is not installed (%s) and npm is not on PATH to install it: install Node.js and run `npm ci` in %s", bin, root)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install dynalite: npm ci in %s: %v\n%s", root, err, out)
	}
	if !isFile(bin) {
		t.Fatalf("install dynalite: npm ci in %s did not create %s; is dynalite in package.json?", root, bin)
	}
	return bin
}

// moduleRoot is the nearest directory above the working directory (a
// test's package directory) that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isFile(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}
