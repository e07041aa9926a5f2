package web_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gennaker/gennaker/web"
	"github.com/gennaker/gennaker/web/webtest"
)

// TestDistIsCurrent type-checks the UI's TypeScript and builds it again from
// the sources: the committed dist/, which the binary embeds, must be
// exactly what the sources build to. After changing web/src, run
// `make web` and commit dist/.
func TestDistIsCurrent(t *testing.T) {
	dir := webtest.NodeModules(t)
	tsc := exec.Command(filepath.Join(dir, "node_modules", ".bin", "tsc"), "--noEmit", "-p", ".")
	tsc.Dir = dir
	if out, err := tsc.CombinedOutput(); err != nil {
		t.Fatalf("the UI does not type-check: %v\n%s", err, out)
	}
	out := t.TempDir()
	build := exec.Command(filepath.Join(dir, "node_modules", ".bin", "vite"), "build", "--outDir", out, "--emptyOutDir", "--logLevel", "warn")
	build.Dir = dir
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("vite build: %v\n%s", err, b)
	}
	built := os.DirFS(out)
	embedded := web.Assets()
	names := map[string]bool{}
	for _, fsys := range []fs.FS{built, embedded} {
		_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				names[p] = true
			}
			return err
		})
	}
	for name := range names {
		a, errA := fs.ReadFile(built, name)
		b, errB := fs.ReadFile(embedded, name)
		switch {
		case errA != nil:
			t.Errorf("dist/%s is committed but the sources no longer build it; run `make web` and commit dist/", name)
		case errB != nil:
			t.Errorf("the sources build %s, which dist/ lacks; run `make web` and commit dist/", name)
		case !bytes.Equal(a, b):
			t.Errorf("dist/%s differs from what the sources build; run `make web` and commit dist/", name)
		}
	}
}
