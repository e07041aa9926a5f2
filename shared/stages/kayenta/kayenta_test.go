package kayenta_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/builtin"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

// corpusStages finds every kayentaCanary stage in the corpus pipelines,
// by file.
func corpusStages(t *testing.T) map[string][]json.RawMessage {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "..", "shared", "corpus", "pipelines", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus pipelines (%v): the corpus is part of the test data", err)
	}
	out := map[string][]json.RawMessage{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"kayentaCanary"`) {
			continue
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if x["type"] == "kayentaCanary" {
					raw, _ := json.Marshal(x)
					out[filepath.Base(f)] = append(out[filepath.Base(f)], raw)
				}
				for _, c := range x {
					walk(c)
				}
			case []any:
				for _, c := range x {
					walk(c)
				}
			}
		}
		walk(doc)
	}
	return out
}

// TestCorpusCanaryStagesSaveWithoutWarnings: the corpus pipelines with a
// kayentaCanary stage get no warning about the stage: it is a known type,
// and its fields as Deck saved them (numbers as strings, blank fields,
// lifetimes such as PT0H5M) are read without complaint.
func TestCorpusCanaryStagesSaveWithoutWarnings(t *testing.T) {
	reg := builtin.New()
	found := corpusStages(t)
	if len(found) != 12 {
		t.Errorf("found kayentaCanary stages in %d corpus pipelines, want 12", len(found))
	}
	for file, raws := range found {
		for _, raw := range raws {
			var s model.Stage
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			known, probs := reg.ValidateStage(&s)
			if !known {
				t.Errorf("%s: kayentaCanary is not a known stage type", file)
			}
			for _, p := range probs {
				t.Errorf("%s: stage %q: %s", file, s.Name, p)
			}
		}
	}
	// A whole pipeline of the corpus, through the save-time check.
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "corpus", "pipelines", "spinnaker_deck__compute-kayenta-shorter-lifetimes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p model.Pipeline
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Application == "" {
		p.Application = "x"
	}
	if p.Name == "" {
		p.Name = "x"
	}
	warnings, _ := model.Check(&p, reg)
	for _, w := range warnings {
		for i, s := range p.RunStages() {
			if s.Type == "kayentaCanary" && strings.HasPrefix(w.Path, "stages["+itoa(i)+"]") {
				t.Errorf("warning about the canary stage: %s", w)
			}
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestValidate: what a save reports about a kayentaCanary stage, with JSON
// paths.
func TestValidate(t *testing.T) {
	reg := builtin.New()
	check := func(js string, want ...string) {
		t.Helper()
		s := stagestest.StageFromJSON(t, js)
		_, probs := reg.ValidateStage(s)
		stagestest.CheckProblems(t, probs, want...)
	}
	check(`{"refId": "1", "type": "kayentaCanary", "name": "Canary"}`, "canaryConfig: is required")
	check(`{"refId": "1", "type": "kayentaCanary", "name": "Canary", "analysisType": "sometimes",
	  "canaryConfig": {"scopes": [{"controlScope": "a", "experimentScope": "b", "step": 0, "startTimeIso": "yesterday"}],
	    "lifetimeDuration": "5 minutes", "canaryAnalysisIntervalMins": -1, "scoreThresholds": {"pass": "50", "marginal": "75"}},
	  "deployments": {"serverGroupPairs": [{"control": {"account": "local"}, "experiment": {"region": "local", "application": "web"}}], "delayBeforeCleanup": "soon"}}`,
		"analysisType:", "canaryConfig.canaryConfigId: is required", "canaryConfig.scopes[0].step:", "canaryConfig.scopes[0].startTimeIso:",
		"canaryConfig.lifetimeDuration:", "canaryConfig.canaryAnalysisIntervalMins: must not be negative", "canaryConfig.scoreThresholds: marginal 75 is above pass 50",
		"deployments.baseline.account: is required", "deployments.baseline.cluster: is required",
		"deployments.serverGroupPairs[0].control.region:", "deployments.serverGroupPairs[0].control.application:",
		"deployments.serverGroupPairs[0].experiment.account:", "deployments.delayBeforeCleanup:")
	check(`{"refId": "1", "type": "kayentaCanary", "name": "Canary",
	  "canaryConfig": {"canaryConfigId": "${parameters.config}", "scopes": [{"controlScope": "a", "experimentScope": "b"}], "lifetimeDuration": "${parameters.lifetime}"}}`)
	check(`{"refId": "1", "type": "kayentaCanary", "name": "Canary", "analysisType": "retrospective",
	  "canaryConfig": {"canaryConfigId": "c", "scopes": [{"controlScope": "a", "experimentScope": "b", "startTimeIso": "2024-01-01T00:00:00Z", "endTimeIso": "2024-01-01T01:00:00Z"}]}}`)
}
