package model

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Every pipeline of the corpus of real Spinnaker pipelines (../shared/corpus
// beside the repository) decodes and encodes back to the same JSON, unknown
// fields, explicit empty values and all.
func TestCorpusPipelinesRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "pipelines", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus pipelines found (%v): the corpus is part of the test data", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// Deck's "Edit as JSON" copies have no application or name; a save
		// needs them, so they are given here as a user would.
		for _, k := range []string{"application", "name"} {
			if _, ok := doc[k]; !ok {
				doc[k] = "x"
			}
		}
		in, _ := json.Marshal(doc)
		var p Pipeline
		if err := json.Unmarshal(in, &p); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		out, err := json.Marshal(&p)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		var back map[string]any
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(doc, back) {
			t.Errorf("%s does not round-trip:\n in: %.500s\nout: %.500s", filepath.Base(f), in, out)
		}
	}
}

// corpusExecutionsSkipped names the documents of the execution corpus that
// are not executions as Gate serves them, and why.
var corpusExecutionsSkipped = map[string]string{
	// Armory policy-engine (OPA) payloads: input.pipeline as the policy
	// engine sees a run, not Gate's document (one lists its stages as ids).
	"armory_docs__hostname-hostname-w-evaluate-artifacts-running.json": "an OPA policy payload",
	"armory_docs__terraformer-plan-working-running.json":               "an OPA policy payload whose stages are strings, not objects",
	"armory_docs__test-test-running.json":                              "an OPA policy payload; stages seen before are repeated as ids, not objects",
	"armory_docs__test-test-terminal-2.json":                           "an OPA policy payload; stages seen before are repeated as ids, not objects",
	"armory_docs__test-test-terminal.json":                             "an OPA policy payload",
	// GET /tasks/{id} documents: steps and variables, no stages.
	"spinnaker_spinnaker__task-keel-managed-rollout.json":                "a task document (GET /tasks/{id}) without stages",
	"spinnaker_spinnaker__task-keel-single-region-deploy-SUCCEEDED.json": "a task document (GET /tasks/{id}) without stages",
}

// corpusExecutions returns every execution document of the corpus by a
// name (the file, and the element of a list file), as decoded JSON.
func corpusExecutions(t *testing.T) (names []string, docs map[string]json.RawMessage) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "executions", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus executions found (%v): the corpus is part of the test data", err)
	}
	docs = map[string]json.RawMessage{}
	for _, f := range files {
		base := filepath.Base(f)
		if why, ok := corpusExecutionsSkipped[base]; ok {
			t.Logf("skipping %s: %s", base, why)
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			names = append(names, base)
			docs[base] = raw
			continue
		}
		for i, doc := range list {
			name := fmt.Sprintf("%s[%d]", base, i)
			names = append(names, name)
			docs[name] = doc
		}
	}
	return names, docs
}

// Every execution of the corpus of real Spinnaker executions decodes and
// encodes back to the same JSON: unknown fields, explicit empty values and
// absent fields as they were, in the run, its trigger, stages and tasks.
func TestCorpusExecutionsRoundTrip(t *testing.T) {
	names, docs := corpusExecutions(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			var e Execution
			if err := json.Unmarshal(docs[name], &e); err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(&e)
			if err != nil {
				t.Fatal(err)
			}
			var in, back any
			if err := json.Unmarshal(docs[name], &in); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(in, back) {
				t.Errorf("does not round-trip: %s", firstDifference("", in, back))
			}
		})
	}
}

// firstDifference names the JSON path of the first difference of a and b.
func firstDifference(path string, a, b any) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: %v became %v", path, a, b)
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok {
				return fmt.Sprintf("%s.%s: dropped", path, k)
			}
			if !reflect.DeepEqual(v, w) {
				return firstDifference(path+"."+k, v, w)
			}
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				return fmt.Sprintf("%s.%s: added (%v)", path, k, y[k])
			}
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return fmt.Sprintf("%s: %v became %v", path, a, b)
		}
		for i := range x {
			if !reflect.DeepEqual(x[i], y[i]) {
				return firstDifference(fmt.Sprintf("%s[%d]", path, i), x[i], y[i])
			}
		}
	}
	return fmt.Sprintf("%s: %v became %v", path, a, b)
}
