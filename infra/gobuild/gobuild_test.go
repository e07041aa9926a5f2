package gobuild

import (
	"debug/elf"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeModule lays out a throwaway module with the given files.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	files["go.mod"] = "module example.com/fns\n\ngo 1.22\n"
	for name, body := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDiscover(t *testing.T) {
	root := writeModule(t, map[string]string{
		"functions/tasks/main.go":    "package main\nfunc main() {}\n",
		"functions/api/main.go":      "package main\nfunc main() {}\n",
		"functions/testdata/x.json":  "{}",
		"functions/README.md":        "not a function",
		"functions/helper/helper.go": "package helper\n",
	})
	got, err := Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"api", "tasks"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Discover = %v, want %v", got, want)
	}
	if _, err := Discover(t.TempDir()); err == nil {
		t.Fatal("Discover in a tree without functions succeeded, want an error")
	}
}

func TestBuildMakesArm64LinuxBootstrap(t *testing.T) {
	root := writeModule(t, map[string]string{
		"functions/hello/main.go": "package main\nfunc main() { println(\"hello\") }\n",
	})
	fns, err := Build(t.Context(), root, t.TempDir(), []string{"hello"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 1 || fns[0].Name != "hello" {
		t.Fatalf("Build = %+v, want the one function hello", fns)
	}
	f, err := elf.Open(filepath.Join(fns[0].AssetDir, "bootstrap"))
	if err != nil {
		t.Fatalf("bootstrap is not an ELF executable: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("bootstrap is built for %v, want arm64 (EM_AARCH64)", f.Machine)
	}
	entries, _ := os.ReadDir(fns[0].AssetDir)
	if len(entries) != 1 {
		t.Errorf("asset dir holds %d files, want only bootstrap", len(entries))
	}
}

func TestBuildFailureNamesEveryBrokenFunction(t *testing.T) {
	root := writeModule(t, map[string]string{
		"functions/good/main.go":   "package main\nfunc main() {}\n",
		"functions/broken/main.go": "package main\nfunc main() { undefinedThing() }\n",
		"functions/worse/main.go":  "package main\nfunc main() { return 1 }\n",
	})
	_, err := Build(t.Context(), root, t.TempDir(), []string{"broken", "good", "worse"})
	if err == nil {
		t.Fatal("Build succeeded with broken functions")
	}
	msg := err.Error()
	for _, want := range []string{"build function broken", "undefinedThing", "build function worse", "too many return values"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not contain %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "build function good") {
		t.Errorf("error blames the function that built:\n%s", msg)
	}
}
