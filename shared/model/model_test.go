package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestSpinnakerExportRoundTrips(t *testing.T) {
	raw, err := os.ReadFile("testdata/spinnaker-export.json")
	if err != nil {
		t.Fatal(err)
	}
	var p Pipeline
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("load export: %v", err)
	}
	if p.Name != "Deploy to prod" || len(p.Stages) != 3 || p.Stages[2].StageTimeoutMs != 600000 {
		t.Fatalf("declared fields not read: %+v", p)
	}
	if got := string(p.Stages[0].Extra["waitTime"]); got != "30" {
		t.Fatalf("stage field waitTime kept as %q", got)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	_ = json.Unmarshal(raw, &want)
	_ = json.Unmarshal(out, &got)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("round trip changed the pipeline:\nwant %s\ngot  %s", raw, out)
	}
}

func TestStatusPredicates(t *testing.T) {
	cases := []struct {
		s                          Status
		complete, halt, successful bool
	}{
		{StatusNotStarted, false, false, false},
		{StatusRunning, false, false, false},
		{StatusPaused, false, false, false},
		{StatusSucceeded, true, false, true},
		{StatusFailedContinue, true, false, true},
		{StatusSkipped, true, false, true},
		{StatusTerminal, true, true, false},
		{StatusCanceled, true, true, false},
		{StatusStopped, true, true, false},
		{StatusBuffered, false, false, false},
	}
	for _, c := range cases {
		t.Run(string(c.s), func(t *testing.T) {
			if c.s.IsComplete() != c.complete || c.s.IsHalt() != c.halt || c.s.IsSuccessful() != c.successful {
				t.Fatalf("%s: complete=%v halt=%v successful=%v", c.s, c.s.IsComplete(), c.s.IsHalt(), c.s.IsSuccessful())
			}
		})
	}
	var s Status
	if err := json.Unmarshal([]byte(`"DONE"`), &s); err == nil || !strings.Contains(err.Error(), `unknown status "DONE"`) {
		t.Fatalf("unknown status accepted: %v", err)
	}
}

func TestFailureBehaviourFromFlags(t *testing.T) {
	tr, fa := true, false
	cases := []struct {
		name                   string
		fail, cont, completeOB *bool
		want                   FailureBehaviour
	}{
		{"defaults halt the pipeline", nil, nil, nil, HaltPipeline},
		{"halt branch", &fa, &fa, nil, HaltBranch},
		{"halt branch then fail", &fa, &fa, &tr, HaltBranchThenFail},
		{"ignore", &fa, &tr, nil, IgnoreFailure},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := FailureBehaviourOf(c.fail, c.cont, c.completeOB); got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

type knownTypes map[string][]string // type -> required fields

func (k knownTypes) ValidateStage(s *Stage) (bool, []Problem) {
	req, ok := k[s.Type]
	if !ok {
		return false, nil
	}
	var probs []Problem
	for _, f := range req {
		if _, ok := s.Extra[f]; !ok {
			probs = append(probs, Problem{Path: f, Message: "is required"})
		}
	}
	return true, probs
}

func (k knownTypes) StageTypes() []string { return []string{"noop", "wait"} }

func TestValidateListsEveryProblemWithItsPath(t *testing.T) {
	types := knownTypes{"wait": {"waitTime"}, "noop": nil}
	cases := []struct {
		name string
		json string
		want []string
	}{
		{"valid", `{"application":"a","name":"p","stages":[{"refId":"1","type":"noop"},{"refId":"2","type":"wait","waitTime":1,"requisiteStageRefIds":["1"]}]}`, nil},
		{"missing requisite", `{"application":"a","name":"p","stages":[{"refId":"1","type":"noop"},{"refId":"2","type":"noop"},{"refId":"3","type":"noop"},{"refId":"4","type":"noop","requisiteStageRefIds":["9"]}]}`,
			[]string{`stages[3].requisiteStageRefIds[0]: no stage with refId "9"`}},
		{"duplicate refId", `{"application":"a","name":"p","stages":[{"refId":"1","type":"noop"},{"refId":"1","type":"noop"}]}`,
			[]string{`stages[1].refId: duplicate refId "1" (also stages[0])`}},
		{"cycle", `{"application":"a","name":"p","stages":[{"refId":"1","type":"noop","requisiteStageRefIds":["3"]},{"refId":"2","type":"noop","requisiteStageRefIds":["1"]},{"refId":"3","type":"noop","requisiteStageRefIds":["2"]}]}`,
			[]string{`stages: requisiteStageRefIds form a cycle: 1 -> 3 -> 2 -> 1`}},
		{"unknown type and missing field", `{"application":"a","name":"p","stages":[{"refId":"1","type":"deployy"},{"refId":"2","type":"wait"}]}`,
			[]string{`stages[0].type: stage type "deployy" is not available here (available types: noop, wait)`, `stages[1].waitTime: is required`}},
		{"missing name and application", `{"stages":[]}`, []string{"application: is required", "name: is required"}},
		{"bad window", `{"application":"a","name":"p","stages":[{"refId":"1","type":"noop","restrictExecutionDuringTimeWindow":true,"restrictedExecutionWindow":{"whitelist":[{"startHour":25,"startMin":0,"endHour":3,"endMin":0}],"days":[8]}}]}`,
			[]string{"stages[0].restrictedExecutionWindow.whitelist[0]: hours must be 0-23 and minutes 0-59", "stages[0].restrictedExecutionWindow.days[0]: day 8 is not 1 (Sunday) to 7 (Saturday)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Pipeline
			if err := json.Unmarshal([]byte(c.json), &p); err != nil {
				t.Fatal(err)
			}
			// What keeps the pipeline from saving and what keeps it from
			// running, together.
			warnings, err := Check(&p, types)
			if c.want == nil {
				if err != nil || len(warnings) > 0 {
					t.Fatalf("unexpected problems: %v, warnings %v", err, warnings)
				}
				return
			}
			var got []string
			if ve, ok := err.(*ValidationError); ok {
				for _, p := range ve.Problems {
					got = append(got, p.String())
				}
			} else if err != nil {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			for _, w := range warnings {
				got = append(got, w.String())
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("problems:\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestApplicationRoundTripsTrafficGuards(t *testing.T) {
	raw := `{"name":"shop","email":"a@b.c","trafficGuards":[{"account":"prod","location":"us-east-1","stack":"web","detail":"","enabled":true,"reason":"pci"}],"customField":{"x":1}}`
	var a Application
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(a)
	var want, got any
	_ = json.Unmarshal([]byte(raw), &want)
	_ = json.Unmarshal(out, &got)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("round trip changed the application:\nwant %s\ngot  %s", raw, out)
	}
}

func TestLinearPipelinesRunInOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		src    string
		linear bool
	}{
		{"no refIds", `{"application":"a","name":"p","stages":[{"type":"wait","name":"one"},{"type":"wait","name":"two"},{"type":"wait","name":"three"}]}`, true},
		{"parallel: false", `{"application":"a","name":"p","parallel":false,"stages":[{"type":"wait"},{"type":"wait"}]}`, true},
		{"parallel: true", `{"application":"a","name":"p","parallel":true,"stages":[{"type":"wait"},{"type":"wait"}]}`, false},
		{"refIds given", `{"application":"a","name":"p","stages":[{"refId":"a","type":"wait"},{"refId":"b","type":"wait"}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Pipeline
			if err := json.Unmarshal([]byte(tc.src), &p); err != nil {
				t.Fatal(err)
			}
			if p.IsLinear() != tc.linear {
				t.Fatalf("IsLinear = %v, want %v", p.IsLinear(), tc.linear)
			}
			err := Validate(&p, nil)
			if tc.linear != (err == nil) && tc.name != "refIds given" {
				t.Fatalf("Validate = %v", err)
			}
			if !tc.linear {
				return
			}
			stages := p.RunStages()
			for i, s := range stages {
				if s.RefID != fmt.Sprint(i+1) {
					t.Errorf("stage %d refId %q", i, s.RefID)
				}
				want := []string(nil)
				if i > 0 {
					want = []string{fmt.Sprint(i)}
				}
				if !reflect.DeepEqual(s.RequisiteStageRefIDs, want) {
					t.Errorf("stage %d requisites %v, want %v", i, s.RequisiteStageRefIDs, want)
				}
			}
			out, _ := json.Marshal(&p)
			if bytes.Contains(out, []byte(`"refId"`)) {
				t.Errorf("the saved pipeline gained refIds: %s", out)
			}
		})
	}
}

// Only a pipeline whose shape does not hold together is refused; what keeps
// it from running is a warning, and it saves as Front50 would save it.
func TestCheckSeparatesProblemsFromWarnings(t *testing.T) {
	var p Pipeline
	if err := json.Unmarshal([]byte(`{"application":"a","name":"p","stages":[{"refId":"1","type":"jenkins"},{"refId":"2","type":"wait","stageTimeoutMs":-1}]}`), &p); err != nil {
		t.Fatal(err)
	}
	types := knownTypes{"wait": {"waitTime"}, "noop": nil}
	warnings, err := Check(&p, types)
	if err != nil {
		t.Fatalf("Check = %v; stage types and stage fields must not refuse a save", err)
	}
	var got []string
	for _, w := range warnings {
		if !w.Warning {
			t.Errorf("%s is not marked a warning", w)
		}
		got = append(got, w.String())
	}
	want := []string{`stages[0].type: stage type "jenkins" is not available here (available types: noop, wait)`, "stages[1].waitTime: is required", "stages[1].stageTimeoutMs: must not be negative"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("warnings\n got %q\nwant %q", got, want)
	}
	if err := Validate(&p, types); err != nil {
		t.Fatalf("Validate = %v", err)
	}
}
