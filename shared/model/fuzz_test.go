package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// corpusSeeds adds the corpus pipelines as seeds of a fuzz target.
func corpusSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "pipelines", "*.json"))
	for _, file := range files {
		if raw, err := os.ReadFile(file); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"application":"a","name":"p","stages":[{"refId":"1","type":"wait","requisiteStageRefIds":["1"]}]}`))
	f.Add([]byte(`{"stages":[{"type":"wait"},{"type":"wait","stageEnabled":{}}],"parallel":"yes"}`))
}

// FuzzPipelineDecodeAndCheck: whatever bytes arrive, decoding either fails
// with an error or yields a pipeline that Check can judge and that encodes
// back to JSON which decodes again — never a panic.
//
//	go test -fuzz FuzzPipelineDecodeAndCheck ./shared/model/
func FuzzPipelineDecodeAndCheck(f *testing.F) {
	corpusSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var p Pipeline
		if err := json.Unmarshal(raw, &p); err != nil {
			return
		}
		_, _ = Check(&p, knownTypes{"wait": {"waitTime"}, "noop": nil})
		_ = p.RunStages()
		out, err := json.Marshal(&p)
		if err != nil {
			t.Fatalf("a decoded pipeline does not encode: %v", err)
		}
		var again Pipeline
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("an encoded pipeline does not decode: %v\n%s", err, out)
		}
	})
}
