package main

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSynth runs the app as `cdk synth` does — the "app" command of
// cdk.json, from the repository root, with CDK_OUTDIR set and cdk.json's
// context in CDK_CONTEXT_JSON — with nothing on PATH but sh, go and node, so
// it proves the synth needs no npm, Docker or network tool. It checks the
// cloud assembly it writes: every stack template parses, and every Lambda
// asset is an arm64 Linux executable named bootstrap, and the API serves
// the web UI.
func TestSynth(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var cdkJSON struct {
		App     string          `json:"app"`
		Context json.RawMessage `json:"context"`
	}
	readJSON(t, filepath.Join(root, "cdk.json"), &cdkJSON)
	if cdkJSON.App == "" {
		t.Fatal("cdk.json has no app command")
	}
	bin := t.TempDir()
	for _, tool := range []string{"sh", "go", "node"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("the synth needs %s: %v", tool, err)
		}
		if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), filepath.Join(bin, "sh"), "-c", cdkJSON.App)
	cmd.Dir = root
	cmd.Env = append(withoutPath(os.Environ()), "PATH="+bin, "CDK_OUTDIR="+out,
		"CDK_CONTEXT_JSON="+string(cdkJSON.Context))
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cdkJSON.App, err, output)
	}

	var manifest struct {
		Artifacts map[string]artifact `json:"artifacts"`
	}
	readJSON(t, filepath.Join(out, "manifest.json"), &manifest)
	stacks := 0
	for name, a := range manifest.Artifacts {
		if a.Type != "aws:cloudformation:stack" {
			continue
		}
		stacks++
		var tpl struct {
			Resources map[string]struct {
				Type       string         `json:"Type"`
				Properties map[string]any `json:"Properties"`
			} `json:"Resources"`
		}
		readJSON(t, filepath.Join(out, a.Properties.TemplateFile), &tpl)
		if len(tpl.Resources) == 0 {
			t.Errorf("stack %s: template has no resources", name)
		}
		assets := assetDirs(t, out, manifest.Artifacts, name)
		functions := 0
		for id, r := range tpl.Resources {
			if r.Type != "AWS::Lambda::Function" {
				continue
			}
			functions++
			key, _ := dig(r.Properties, "Code", "S3Key").(string)
			dir, ok := assets[key]
			if !ok {
				t.Errorf("%s: code %q is none of the stack's file assets", id, key)
				continue
			}
			f, err := elf.Open(filepath.Join(out, dir, "bootstrap"))
			if err != nil {
				t.Errorf("%s: asset %s has no executable bootstrap: %v", id, dir, err)
				continue
			}
			if f.Machine != elf.EM_AARCH64 {
				t.Errorf("%s: bootstrap is built for %v, want arm64", id, f.Machine)
			}
			f.Close()
		}
		checkAPIServesUI(t, root, filepath.Join(out, a.Properties.TemplateFile), out, assets)
		t.Logf("stack %s: %d resources, %d functions, each an arm64 bootstrap", name, len(tpl.Resources), functions)
		// gennaker's own events reach the notifier function by a rule on its bus.
		routed := false
		for id, r := range tpl.Resources {
			if r.Type != "AWS::Events::Rule" {
				continue
			}
			pattern, _ := json.Marshal(r.Properties["EventPattern"])
			targets, _ := r.Properties["Targets"].([]any)
			if string(pattern) != `{"source":["gennaker"]}` || len(targets) != 1 {
				continue
			}
			arn, _ := json.Marshal(dig(targets[0], "Arn"))
			fn := tpl.Resources[strings.TrimSuffix(strings.TrimPrefix(string(arn), `{"Fn::GetAtt":["`), `","Arn"]}`)]
			if desc, _ := fn.Properties["Description"].(string); !strings.Contains(desc, "functions/notifier") {
				t.Errorf("stack %s: rule %s sends gennaker's events to %s, not the notifier function", name, id, arn)
				continue
			}
			routed = true
		}
		if !routed {
			t.Errorf("stack %s: no rule sends gennaker's events to the notifier function", name)
		}
		if functions == 0 {
			t.Errorf("stack %s has no Lambda functions", name)
		}
	}
	if stacks != 1 {
		t.Errorf("the assembly holds %d stacks, want 1", stacks)
	}
}

type artifact struct {
	Type       string `json:"type"`
	Properties struct {
		TemplateFile string `json:"templateFile"`
		File         string `json:"file"`
	} `json:"properties"`
	Dependencies []string `json:"dependencies"`
}

// assetDirs maps the S3 object keys of a stack's file assets to their
// directories in the assembly, from the stack's asset manifest.
func assetDirs(t *testing.T, out string, artifacts map[string]artifact, stack string) map[string]string {
	t.Helper()
	dirs := map[string]string{}
	for _, dep := range artifacts[stack].Dependencies {
		a := artifacts[dep]
		if a.Type != "cdk:asset-manifest" {
			continue
		}
		var m struct {
			Files map[string]struct {
				Source struct {
					Path      string `json:"path"`
					Packaging string `json:"packaging"`
				} `json:"source"`
				Destinations map[string]struct {
					ObjectKey string `json:"objectKey"`
				} `json:"destinations"`
			} `json:"files"`
		}
		readJSON(t, filepath.Join(out, a.Properties.File), &m)
		for _, f := range m.Files {
			for _, d := range f.Destinations {
				dirs[d.ObjectKey] = f.Source.Path
			}
		}
	}
	return dirs
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func readJSON(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("%s does not parse: %v", path, err)
	}
}

func withoutPath(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PATH=") {
			out = append(out, kv)
		}
	}
	return out
}
