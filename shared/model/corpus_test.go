package model

import (
	"encoding/json"
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
