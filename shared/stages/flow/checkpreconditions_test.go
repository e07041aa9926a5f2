package flow

import (
	"testing"

	"github.com/gennaker/gennaker/shared/stages/stagestest"

	"github.com/gennaker/gennaker/shared/model"
)

func TestCheckPreconditionsStageValidate(t *testing.T) {
	tests := []struct {
		name  string
		stage string
		want  []string
	}{
		{"expression", `{"refId":"1","type":"checkPreconditions","preconditions":[{"type":"expression","context":{"expression":"${parameters.ok == 'yes'}","failureMessage":"not ok"},"failPipeline":true}]}`, nil},
		{"boolean expression", `{"refId":"1","type":"checkPreconditions","preconditions":[{"type":"expression","context":{"expression":true}}]}`, nil},
		{"clusterSize loads, fails when run", `{"refId":"1","type":"checkPreconditions","preconditions":[{"type":"clusterSize","context":{"cluster":"shop-prod","expected":2,"comparison":">="}}]}`, nil},
		{"no type", `{"refId":"1","type":"checkPreconditions","preconditions":[{"context":{"expression":"true"}}]}`, []string{"preconditions[0].type: is required"}},
		{"unknown type", `{"refId":"1","type":"checkPreconditions","preconditions":[{"type":"expression","context":{"expression":"true"}},{"type":"moonPhase"}]}`, []string{`preconditions[1].type: unknown precondition type "moonPhase"`}},
		{"no expression", `{"refId":"1","type":"checkPreconditions","preconditions":[{"type":"expression","context":{"failureMessage":"x"}}]}`, []string{"preconditions[0].context.expression: is required"}},
		{"expression of the wrong kind", `{"refId":"1","type":"checkPreconditions","preconditions":[{"type":"expression","context":{"expression":3}}]}`, []string{"preconditions[0].context.expression: must be an expression or true/false"}},
		{"failPipeline not a boolean", `{"refId":"1","type":"checkPreconditions","preconditions":[{"type":"expression","context":{"expression":"true"},"failPipeline":"never"}]}`, []string{"preconditions[0].failPipeline: must be true or false"}},
		{"preconditions not a list", `{"refId":"1","type":"checkPreconditions","preconditions":{"type":"expression"}}`, []string{"preconditions: must be a list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stagestest.CheckProblems(t, CheckPreconditionsStage{}.Validate(stagestest.StageFromJSON(t, tt.stage)), tt.want...)
		})
	}
}

func TestCheckPreconditionsTask(t *testing.T) {
	tests := []struct {
		name       string
		ctx        string
		wantStatus model.Status
		wantErrors []string
	}{
		{
			name:       "true",
			ctx:        `{"preconditions":[{"type":"expression","context":{"expression":true},"failPipeline":true}]}`,
			wantStatus: model.StatusSucceeded,
		},
		{
			name:       "evaluated to the string true",
			ctx:        `{"preconditions":[{"type":"expression","context":{"expression":"True"}}]}`,
			wantStatus: model.StatusSucceeded,
		},
		{
			name:       "no preconditions",
			ctx:        `{}`,
			wantStatus: model.StatusSucceeded,
		},
		{
			name:       "false with a message",
			ctx:        `{"preconditions":[{"type":"expression","context":{"expression":false,"failureMessage":"Only deploy on release branches"},"failPipeline":true}]}`,
			wantStatus: model.StatusTerminal,
			wantErrors: []string{"Only deploy on release branches"},
		},
		{
			name:       "false without a message names the precondition",
			ctx:        `{"preconditions":[{"type":"expression","context":{"expression":"true"}},{"type":"expression","context":{"expression":"false"}}]}`,
			wantStatus: model.StatusTerminal,
			wantErrors: []string{"preconditions[1]: expression precondition is false"},
		},
		{
			name:       "every failure is reported",
			ctx:        `{"preconditions":[{"type":"expression","context":{"expression":false,"failureMessage":"first"}},{"type":"expression","context":{"expression":false,"failureMessage":"second"}}]}`,
			wantStatus: model.StatusTerminal,
			wantErrors: []string{"first", "second"},
		},
		{
			name:       "failPipeline false halts only the branch",
			ctx:        `{"preconditions":[{"type":"expression","context":{"expression":false,"failureMessage":"skip the rest"},"failPipeline":false}]}`,
			wantStatus: model.StatusStopped,
			wantErrors: []string{"skip the rest"},
		},
		{
			name:       "failPipeline false as an evaluated string",
			ctx:        `{"preconditions":[{"type":"expression","context":{"expression":false},"failPipeline":"false"}]}`,
			wantStatus: model.StatusStopped,
		},
		{
			name:       "one halting failure fails the pipeline",
			ctx:        `{"preconditions":[{"type":"expression","context":{"expression":false,"failureMessage":"soft"},"failPipeline":false},{"type":"expression","context":{"expression":false,"failureMessage":"hard"},"failPipeline":true}]}`,
			wantStatus: model.StatusTerminal,
			wantErrors: []string{"soft", "hard"},
		},
		{
			name:       "a soft precondition inherits the stage's failPipeline",
			ctx:        `{"failPipeline":false,"preconditions":[{"type":"expression","context":{"expression":false}}]}`,
			wantStatus: model.StatusTerminal, // the orchestrator applies the stage's "halt branch"
		},
		{
			name:       "the stage's continuePipeline still applies",
			ctx:        `{"continuePipeline":true,"preconditions":[{"type":"expression","context":{"expression":false},"failPipeline":false}]}`,
			wantStatus: model.StatusTerminal, // the orchestrator turns it into FAILED_CONTINUE
		},
		{
			name:       "not a boolean",
			ctx:        `{"preconditions":[{"type":"expression","context":{"expression":"parameters.ok"}}]}`,
			wantStatus: model.StatusTerminal,
			wantErrors: []string{`preconditions[0]: expression did not evaluate to true or false: "parameters.ok"`},
		},
		{
			name:       "clusterSize is not supported yet",
			ctx:        `{"preconditions":[{"type":"clusterSize","context":{"cluster":"shop-prod","expected":2}}]}`,
			wantStatus: model.StatusTerminal,
			wantErrors: []string{`preconditions[0]: precondition type "clusterSize" is not supported`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := execute(CheckPreconditionsTask{}, stagestest.NewRun(stagestest.ContextFromJSON(t, tt.ctx)))
			if err != nil {
				t.Fatal(err)
			}
			stagestest.CheckFailure(t, r, tt.wantStatus, tt.wantErrors...)
			if len(tt.wantErrors) > 0 && len(stagestest.ErrorsOf(r)) != len(tt.wantErrors) {
				t.Errorf("errors = %q, want %d", stagestest.ErrorsOf(r), len(tt.wantErrors))
			}
		})
	}
}

// Each expression precondition shows what it evaluated to, as in Deck.
func TestCheckPreconditionsRecordsResults(t *testing.T) {
	ctx := stagestest.ContextFromJSON(t, `{"preconditions":[{"type":"expression","context":{"expression":true}},{"type":"expression","context":{"expression":"FALSE"}}]}`)
	r, err := execute(CheckPreconditionsTask{}, stagestest.NewRun(ctx))
	if err != nil {
		t.Fatal(err)
	}
	list := r.Context["preconditions"].([]any)
	for i, want := range []string{"true", "false"} {
		got := list[i].(map[string]any)["context"].(map[string]any)["expressionResult"]
		if got != want {
			t.Errorf("preconditions[%d].context.expressionResult = %v, want %s", i, got, want)
		}
	}
	original := ctx["preconditions"].([]any)[0].(map[string]any)["context"].(map[string]any)
	if _, changed := original["expressionResult"]; changed {
		t.Error("the task changed the stage context in place; results must go through Result.Context")
	}
}
