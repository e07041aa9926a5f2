// Package webtest prepares the web UI's Node.js tools for tests: it
// installs web/node_modules from web/package-lock.json once (npm ci), under
// a file lock so that test packages running at once do not install over
// each other.
package webtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

// Dir returns the web directory of this checkout.
func Dir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the web directory")
	}
	return filepath.Dir(filepath.Dir(file))
}

// NodeModules installs web/node_modules as package-lock.json pins them,
// unless the installed copy already matches, and returns the web
// directory. It fails the test when npm is missing or the install fails.
func NodeModules(t testing.TB) string {
	t.Helper()
	dir := Dir(t)
	lockFile, err := os.OpenFile(filepath.Join(os.TempDir(), "gennaker-web-npm.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lockFile.Close()
	if err := syscall.Flock(int(lockFile.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lockFile.Fd()), syscall.LOCK_UN)

	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	want := []byte(hex.EncodeToString(sum[:]))
	stamp := filepath.Join(dir, "node_modules", ".gennaker-stamp")
	if have, err := os.ReadFile(stamp); err == nil && bytes.Equal(have, want) {
		return dir
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatal("the web UI's tests need Node.js 20 and npm on PATH")
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	if err := os.WriteFile(stamp, want, 0o644); err != nil {
		t.Fatal(fmt.Errorf("stamp %s: %w", stamp, err))
	}
	return dir
}
