package api_test

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusPipelines reads the corpus of real Spinnaker pipelines beside the
// repository (../shared/corpus), each given an application that exists in
// the test environment.
func corpusPipelines(t testing.TB) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "pipelines", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus pipelines (%v): the corpus is part of the test data", err)
	}
	var out [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if json.Unmarshal(raw, &doc) != nil {
			continue
		}
		doc["application"] = "shop"
		b, _ := json.Marshal(doc)
		out = append(out, b)
	}
	return out
}

// mutate changes one value somewhere in a JSON document: deletes it, or
// replaces it with a value of another kind, a huge string, a control
// character, a deep nesting or a number out of range.
func mutate(r *rand.Rand, v any) any {
	replacements := []func() any{
		func() any { return nil },
		func() any { return "" },
		func() any { return strings.Repeat("x", 70000) },
		func() any { return "a\x00b" },
		func() any { return "${" + strings.Repeat("(", 50) },
		func() any { return -1.0 },
		func() any { return 1e300 },
		func() any { return 2.5 },
		func() any { return true },
		func() any { return []any{} },
		func() any { return []any{"1", 2.0, nil, map[string]any{}} },
		func() any { return map[string]any{} },
		func() any { return map[string]any{"type": "wait", "refId": "1"} },
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 || r.IntN(4) == 0 {
			return replacements[r.IntN(len(replacements))]()
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		k := keys[r.IntN(len(keys))]
		if r.IntN(5) == 0 {
			delete(x, k)
		} else {
			x[k] = mutate(r, x[k])
		}
		return x
	case []any:
		if len(x) == 0 || r.IntN(4) == 0 {
			return replacements[r.IntN(len(replacements))]()
		}
		i := r.IntN(len(x))
		x[i] = mutate(r, x[i])
		return x
	default:
		return replacements[r.IntN(len(replacements))]()
	}
}

// TestMutatedCorpusPipelinesNeverFail: real pipelines with random damage
// are saved, refused or validated with an answer that says why — never a
// 5xx.
func TestMutatedCorpusPipelinesNeverFail(t *testing.T) {
	e := newEnv(t)
	e.createApp(t, "shop")
	docs := corpusPipelines(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 600 {
		var doc any
		if err := json.Unmarshal(docs[i%len(docs)], &doc); err != nil {
			t.Fatal(err)
		}
		for range 1 + r.IntN(3) {
			doc = mutate(r, doc)
		}
		body, _ := json.Marshal(doc)
		for _, path := range []string{"/pipelines", "/pipelines/validate"} {
			resp := e.call(t, "POST", path, body)
			if resp.status >= 500 {
				t.Fatalf("mutation %d: POST %s answered %d: %s\nbody: %.2000s", i, path, resp.status, resp.body, body)
			}
		}
	}
}

// FuzzSavePipeline sends whatever bytes it is given as a pipeline to save;
// the answer is never a 5xx. Its seeds are the corpus.
//
//	go test -fuzz FuzzSavePipeline ./shared/api/
func FuzzSavePipeline(f *testing.F) {
	for _, doc := range corpusPipelines(f) {
		f.Add(doc)
	}
	e := newEnv(f)
	e.createApp(f, "shop")
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := e.call(t, "POST", "/pipelines", body)
		if resp.status >= 500 {
			t.Fatalf("POST /pipelines answered %d: %s", resp.status, resp.body)
		}
	})
}
