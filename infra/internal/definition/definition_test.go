package definition

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/statemachines"
)

// TestAnalyzeTheRepositoryMachines checks the CDK app can grant what every
// definition in statemachines/ needs.
func TestAnalyzeTheRepositoryMachines(t *testing.T) {
	defs := statemachines.Definitions()
	if len(defs) == 0 {
		t.Fatal("no definitions in statemachines/")
	}
	for name, def := range defs {
		t.Run(name, func(t *testing.T) {
			n, err := Analyze(def)
			if err != nil {
				t.Fatal(err)
			}
			for _, sub := range n.Substitutions {
				if _, ok := FunctionName(sub); !ok {
					t.Errorf("substitution ${%s} names no function", sub)
				}
			}
		})
	}
}

func TestAnalyze(t *testing.T) {
	// Shaped like statemachines/stage.asl.json: invoke, wait for a
	// callback, continue as a new run of itself.
	asl := `{"StartAt":"Run","States":{
	  "Run":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"${TasksFunctionArn}","Payload":{"a.$":"$.a"}},"Next":"Park"},
	  "Park":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"${TasksFunctionArn}","Payload":{"t.$":"$$.Task.Token"}},"Next":"Again"},
	  "Again":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution","Parameters":{"StateMachineArn.$":"$$.StateMachine.Id","Input":{}},"Next":"Done"},
	  "Done":{"Type":"Succeed"}}}`
	got, err := Analyze([]byte(asl))
	if err != nil {
		t.Fatal(err)
	}
	want := Needs{Substitutions: []string{"TasksFunctionArn"}, Invokes: []string{"TasksFunctionArn"}, StartsItself: true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Analyze = %+v, want %+v", got, want)
	}
}

func TestAnalyzeRefusesWhatItCannotGrant(t *testing.T) {
	tests := []struct {
		name, asl, want string
	}{
		{"unknown integration", `{"States":{"Put":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem"}}}`, `state "Put": uses Resource "arn:aws:states:::dynamodb:putItem"`},
		{"literal function", `{"States":{"Run":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:1:function:x"}}}}`, `invokes FunctionName "arn:aws:lambda:us-east-1:1:function:x"`},
		{"other machine", `{"States":{"Go":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution","Parameters":{"StateMachineArn":"arn:x"}}}}`, `starts a state machine other than itself`},
		{"nested in a branch", `{"States":{"P":{"Type":"Parallel","Branches":[{"States":{"Q":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage"}}}]}}}`, `state "P": state "Q": uses Resource`},
		{"odd substitution", `{"States":{"A":{"Type":"Pass","Result":"${a b}"}}}`, `substitution ${a b} is not a plain name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Analyze([]byte(tt.asl))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Analyze error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestAnalyzeFindsInvokesInMapsAndPlainResources(t *testing.T) {
	asl := `{"States":{
	  "M":{"Type":"Map","ItemProcessor":{"States":{"Each":{"Type":"Task","Resource":"${NotifyFunctionArn}"}}}},
	  "Run":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"${TasksFunctionArn}"}}}}`
	got, err := Analyze([]byte(asl))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"NotifyFunctionArn", "TasksFunctionArn"}
	if !reflect.DeepEqual(got.Invokes, want) || !reflect.DeepEqual(got.Substitutions, want) {
		t.Fatalf("Analyze = %+v, want invokes and substitutions %v", got, want)
	}
}

func TestFunctionNames(t *testing.T) {
	for _, tt := range []struct{ dir, sub string }{
		{"orchestrator", "OrchestratorFunctionArn"},
		{"tasks", "TasksFunctionArn"},
		{"slack-notify", "SlackNotifyFunctionArn"},
	} {
		if got := Substitution(tt.dir); got != tt.sub {
			t.Errorf("Substitution(%q) = %q, want %q", tt.dir, got, tt.sub)
		}
		if got, ok := FunctionName(tt.sub); !ok || got != tt.dir {
			t.Errorf("FunctionName(%q) = %q, %v; want %q", tt.sub, got, ok, tt.dir)
		}
	}
	if _, ok := FunctionName("TableName"); ok {
		t.Error("FunctionName accepted a substitution that names no function")
	}
}
