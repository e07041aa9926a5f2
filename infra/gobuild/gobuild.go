// Package gobuild finds the Lambda functions of this repository and builds
// them for AWS Lambda, without Docker, so that the CDK app can package each
// as an asset.
//
// A function is a directory functions/<name> holding a main.go; adding one
// needs no change here. Each is built as
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc \
//	    -trimpath -buildvcs=false -ldflags='-s -w' -o <dir>/bootstrap ./functions/<name>
//
// which is what the provided.al2023 runtime on arm64 runs. -trimpath and
// -buildvcs=false make the binary depend only on the source, so an unchanged
// function keeps its asset hash and is not redeployed.
package gobuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Dir is the directory, relative to the repository root, that holds one
// directory per function.
const Dir = "functions"

// Function is one built function.
type Function struct {
	// Name is the function's directory name under functions/.
	Name string
	// AssetDir is a directory holding only the executable "bootstrap".
	AssetDir string
}

// Discover returns the names of the functions under root/functions, sorted:
// every directory that holds a main.go. It is an error to find none.
func Discover(root string) ([]string, error) {
	mains, err := filepath.Glob(filepath.Join(root, Dir, "*", "main.go"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("no Lambda functions found: no %s/*/main.go under %s", Dir, root)
	}
	return names, nil
}

// Build builds the named functions of the module at root into
// outDir/<name>/bootstrap, two at a time. It reports every function that did
// not build, each with the compiler's output, in one error.
func Build(ctx context.Context, root, outDir string, names []string) ([]Function, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("build functions: the go command is needed to build them: %w", err)
	}
	out := make([]Function, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, 2) // go build already uses every core; two overlap its serial phases
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], errs[i] = build(ctx, goTool, root, outDir, name)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func build(ctx context.Context, goTool, root, outDir, name string) (Function, error) {
	dir := filepath.Join(outDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Function{}, fmt.Errorf("build function %s: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, goTool, "build",
		"-tags", "lambda.norpc",
		"-trimpath",
		"-buildvcs=false",
		"-ldflags=-s -w",
		"-o", filepath.Join(dir, "bootstrap"),
		"./"+Dir+"/"+name,
	)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		return Function{}, fmt.Errorf("build function %s (./%s/%s) for linux/arm64: %w\n%s",
			name, Dir, name, err, strings.TrimSpace(output.String()))
	}
	return Function{Name: name, AssetDir: dir}, nil
}
