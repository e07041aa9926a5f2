// Package hellobin builds the hello demo service, for tests and the demo.
package hellobin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Package is the import path of the hello service.
const Package = "github.com/gennaker/gennaker/examples/hello"

// Build compiles the hello service into dir and returns the binary's path.
// It runs the go tool in srcDir (any directory inside the gennaker module;
// empty means the working directory).
func Build(ctx context.Context, srcDir, dir string) (string, error) {
	out := filepath.Join(dir, "hello")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, Package)
	cmd.Dir = srcDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", Package, err, b)
	}
	return out, nil
}
