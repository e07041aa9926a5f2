// Package demo_test runs `make demo` — the README's first command — as a
// newcomer would, and checks what it reports.
package demo_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestMakeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole demo")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "demo", "BIN="+t.TempDir())
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make demo: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"deploying v2 by red/black",
		"failed as it should",
		"rolled back",
		"failed requests: 0",
		"/#/applications/hello/executions", // the web UI's link
	} {
		if !strings.Contains(text, want) {
			t.Errorf("make demo did not report %q:\n%s", want, text)
		}
	}
}
