package flow

import (
	"reflect"
	"testing"

	"github.com/gennaker/gennaker/shared/stages/stagestest"

	"github.com/gennaker/gennaker/shared/model"
)

func TestEvaluateVariablesStageValidate(t *testing.T) {
	tests := []struct {
		name  string
		stage string
		want  []string
	}{
		{"keys and values", `{"refId":"1","type":"evaluateVariables","variables":[{"key":"region","value":"eu-west-1"},{"key":"replicas","value":"${parameters.n}","description":"how many"}]}`, nil},
		{"no variables", `{"refId":"1","type":"evaluateVariables"}`, nil},
		{"missing key", `{"refId":"1","type":"evaluateVariables","variables":[{"key":"a","value":1},{"key":"b","value":2},{"value":3}]}`, []string{"variables[2].key: is required"}},
		{"blank key", `{"refId":"1","type":"evaluateVariables","variables":[{"key":"  ","value":1}]}`, []string{"variables[0].key: is required"}},
		{"duplicate key", `{"refId":"1","type":"evaluateVariables","variables":[{"key":"a","value":1},{"key":"b","value":2},{"key":"a","value":3}]}`, []string{`variables[2].key: "a" is already used by variables[0]`}},
		{"key not a string", `{"refId":"1","type":"evaluateVariables","variables":[{"key":7,"value":1}]}`, []string{"variables[0].key: must be a string"}},
		{"variables not a list", `{"refId":"1","type":"evaluateVariables","variables":{"a":1}}`, []string{"variables: must be a list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stagestest.CheckProblems(t, EvaluateVariablesStage{}.Validate(stagestest.StageFromJSON(t, tt.stage)), tt.want...)
		})
	}
}

func TestEvaluateVariablesTask(t *testing.T) {
	tests := []struct {
		name        string
		ctx         string
		wantStatus  model.Status
		wantOutputs map[string]any
		wantError   string
	}{
		{
			name:        "each key becomes an output",
			ctx:         `{"variables":[{"key":"region","value":"eu-west-1"},{"key":"replicas","value":3},{"key":"tags","value":{"team":"shop"}}]}`,
			wantStatus:  model.StatusSucceeded,
			wantOutputs: map[string]any{"region": "eu-west-1", "replicas": 3.0, "tags": map[string]any{"team": "shop"}},
		},
		{
			name:        "a null value is published",
			ctx:         `{"variables":[{"key":"maybe","value":null}]}`,
			wantStatus:  model.StatusSucceeded,
			wantOutputs: map[string]any{"maybe": nil},
		},
		{
			name:        "keyless variables are skipped, later keys win",
			ctx:         `{"variables":[{"value":"lost"},{"key":"a","value":1},{"key":"a","value":2}]}`,
			wantStatus:  model.StatusSucceeded,
			wantOutputs: map[string]any{"a": 2.0},
		},
		{name: "no variables", ctx: `{}`, wantStatus: model.StatusSucceeded, wantOutputs: map[string]any{}},
		{name: "variables of the wrong shape", ctx: `{"variables":["a=1"]}`, wantStatus: model.StatusTerminal, wantError: "variables[0]: must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := execute(EvaluateVariablesTask{}, stagestest.NewRun(stagestest.ContextFromJSON(t, tt.ctx)))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantError != "" {
				stagestest.CheckFailure(t, r, tt.wantStatus, tt.wantError)
				return
			}
			if r.Status != tt.wantStatus || !reflect.DeepEqual(r.Outputs, tt.wantOutputs) {
				t.Fatalf("got %s with outputs %v, want %s with %v", r.Status, r.Outputs, tt.wantStatus, tt.wantOutputs)
			}
		})
	}
}
