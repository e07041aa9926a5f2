package asl_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/asl"
)

func TestParseValidTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.asl.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata definitions: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := asl.Parse(b); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseRejectsInvalidDefinitions(t *testing.T) {
	// Each case names the state and the reason in its error.
	tests := []struct {
		name, definition, want string
	}{
		{"not JSON", `{`, "not valid JSON"},
		{"not an object", `[]`, "must be a JSON object"},
		{"no StartAt", `{"States":{"A":{"Type":"Succeed"}}}`, "StartAt is missing"},
		{"no States", `{"StartAt":"A"}`, "States is missing or empty"},
		{"unknown StartAt", `{"StartAt":"B","States":{"A":{"Type":"Succeed"}}}`, `StartAt names unknown state "B"`},
		{"unknown top-level field", `{"StartAt":"A","Bogus":1,"States":{"A":{"Type":"Succeed"}}}`, `unknown top-level field "Bogus"`},
		{"JSONata", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Succeed"}}}`, "QueryLanguage JSONata is not supported"},
		{"missing Type", `{"StartAt":"A","States":{"A":{"End":true}}}`, `state "A": Type is missing`},
		{"unknown Type", `{"StartAt":"A","States":{"A":{"Type":"Sleep","End":true}}}`, `state "A": unknown state Type "Sleep"`},
		{"Choice without Choices", `{"StartAt":"Check","States":{"Check":{"Type":"Choice","Default":"B"},"B":{"Type":"Succeed"}}}`, `state "Check": Choice state has no Choices`},
		{"unknown Next", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`, `state "A": Next names unknown state "B"`},
		{"unknown Default", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","IsNull":true,"Next":"A"}],"Default":"Z"}}}`, `state "A": Next names unknown state "Z"`},
		{"unknown Catch Next", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Nowhere"}],"End":true}}}`, `state "A": Next names unknown state "Nowhere"`},
		{"unreachable state", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"Orphan":{"Type":"Succeed"}}}`, `state "Orphan": state is unreachable from StartAt "A"`},
		{"missing End and Next", `{"StartAt":"A","States":{"A":{"Type":"Pass"}}}`, `state "A": Pass state has neither Next nor "End": true`},
		{"both End and Next", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B","End":true},"B":{"Type":"Succeed"}}}`, `state "A": Pass state has both Next and "End": true`},
		{"Next on Succeed", `{"StartAt":"A","States":{"A":{"Type":"Succeed","Next":"A"}}}`, `state "A": field "Next" is not allowed in a Succeed state`},
		{"Retry on Pass", `{"StartAt":"A","States":{"A":{"Type":"Pass","Retry":[{"ErrorEquals":["States.ALL"]}],"End":true}}}`, `state "A": field "Retry" is not allowed in a Pass state`},
		{"Catch on Choice", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","IsNull":true,"Next":"B"}],"Catch":[]},"B":{"Type":"Succeed"}}}`, `state "A": field "Catch" is not allowed in a Choice state`},
		{"ResultSelector on Pass", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultSelector":{},"End":true}}}`, `field "ResultSelector" is not allowed in a Pass state`},
		{"Parameters on Wait", `{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":1,"Parameters":{},"End":true}}}`, `field "Parameters" is not allowed in a Wait state`},
		{"States.ALL not last retrier", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}],"End":true}}}`, `state "A": Retry[0]: States.ALL must appear only in the last retrier`},
		{"States.ALL not last catcher", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Catch":[{"ErrorEquals":["States.ALL"],"Next":"B"},{"ErrorEquals":["X"],"Next":"B"}],"End":true},"B":{"Type":"Succeed"}}}`, `Catch[0]: States.ALL must appear only in the last catcher`},
		{"States.ALL not alone", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Retry":[{"ErrorEquals":["States.ALL","X"]}],"End":true}}}`, "States.ALL must appear alone"},
		{"unknown States error", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Retry":[{"ErrorEquals":["States.Bogus"]}],"End":true}}}`, `unknown error name "States.Bogus"`},
		{"empty ErrorEquals", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Retry":[{"ErrorEquals":[]}],"End":true}}}`, "ErrorEquals must be a non-empty array"},
		{"bad BackoffRate", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}],"End":true}}}`, "BackoffRate must be a number of at least 1.0"},
		{"bad IntervalSeconds", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Retry":[{"ErrorEquals":["X"],"IntervalSeconds":0}],"End":true}}}`, "IntervalSeconds must be an integer"},
		{"bad JitterStrategy", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Retry":[{"ErrorEquals":["X"],"JitterStrategy":"SOME"}],"End":true}}}`, "JitterStrategy must be FULL or NONE"},
		{"Catch without Next", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Catch":[{"ErrorEquals":["X"]}],"End":true}}}`, "Catch[0] has no Next"},
		{"unknown Resource", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","End":true}}}`, `state "A": unknown Resource "arn:aws:states:::sqs:sendMessage"`},
		{"activity Resource", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:x","End":true}}}`, `unknown Resource`},
		{"lambda:invoke.sync", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.sync","Parameters":{"FunctionName":"f"},"End":true}}}`, "lambda:invoke has no .sync pattern"},
		{"Task without Resource", `{"StartAt":"A","States":{"A":{"Type":"Task","End":true}}}`, `state "A": Task state has no Resource`},
		{"lambda:invoke without FunctionName", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"Payload":{}},"End":true}}}`, "Parameters must contain FunctionName"},
		{"lambda:invoke unknown parameter", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Body":1},"End":true}}}`, `field "Body" is not supported`},
		{"callback without token", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","Payload":{}},"End":true}}}`, "must pass the task token"},
		{"startExecution without StateMachineArn", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","Parameters":{"Input":{}},"End":true}}}`, "Parameters must contain StateMachineArn"},
		{"HeartbeatSeconds not below TimeoutSeconds", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","TimeoutSeconds":5,"HeartbeatSeconds":5,"End":true}}}`, "HeartbeatSeconds (5) must be smaller than TimeoutSeconds (5)"},
		{"TimeoutSeconds and Path", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","TimeoutSeconds":5,"TimeoutSecondsPath":"$.t","End":true}}}`, "mutually exclusive"},
		{"bad TimeoutSeconds", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","TimeoutSeconds":0,"End":true}}}`, "TimeoutSeconds must be an integer"},
		{"bad InputPath", `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"a.b","End":true}}}`, `state "A": InputPath: path "a.b" must start with '$'`},
		{"recursive descent", `{"StartAt":"A","States":{"A":{"Type":"Pass","OutputPath":"$..x","End":true}}}`, "recursive descent"},
		{"indefinite ResultPath", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}`, "not a reference path"},
		{"context ResultPath", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$$.Execution","End":true}}}`, "not the context object"},
		{"bad Parameters path", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"nope"},"End":true}}}`, `Parameters: field "x.$"`},
		{"Parameters .$ not a string", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":1},"End":true}}}`, "must be a string holding a path"},
		{"bad intrinsic", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Nope()"},"End":true}}}`, `unknown intrinsic function "States.Nope"`},
		{"duplicate template field", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x":1,"x.$":"$"},"End":true}}}`, "given twice"},
		{"Wait without duration", `{"StartAt":"A","States":{"A":{"Type":"Wait","End":true}}}`, "exactly one of Seconds, SecondsPath, Timestamp and TimestampPath"},
		{"Wait with two durations", `{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true}}}`, "exactly one of"},
		{"Wait bad Timestamp", `{"StartAt":"A","States":{"A":{"Type":"Wait","Timestamp":"2024-01-01 10:00","End":true}}}`, "not an RFC 3339 timestamp"},
		{"Fail with Error and ErrorPath", `{"StartAt":"A","States":{"A":{"Type":"Fail","Error":"E","ErrorPath":"$.e"}}}`, "Error and ErrorPath are mutually exclusive"},
		{"Parallel without Branches", `{"StartAt":"A","States":{"A":{"Type":"Parallel","Branches":[],"End":true}}}`, `state "A": Parallel state has no Branches`},
		{"invalid state in a branch", `{"StartAt":"A","States":{"A":{"Type":"Parallel","Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","Next":"Y"}}}],"End":true}}}`, `state "A": branch 0: state "X": Next names unknown state "Y"`},
		{"branch may not jump out", `{"StartAt":"A","States":{"A":{"Type":"Parallel","Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","Next":"A"}}}],"End":true}}}`, `branch 0: state "X": Next names unknown state "A"`},
		{"Map without iterator", `{"StartAt":"A","States":{"A":{"Type":"Map","End":true}}}`, "Map state has neither ItemProcessor nor Iterator"},
		{"Map with both iterators", `{"StartAt":"A","States":{"A":{"Type":"Map","Iterator":{"StartAt":"X","States":{"X":{"Type":"Succeed"}}},"ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Succeed"}}},"End":true}}}`, "mutually exclusive"},
		{"Map with Parameters and ItemSelector", `{"StartAt":"A","States":{"A":{"Type":"Map","Parameters":{},"ItemSelector":{},"ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Succeed"}}},"End":true}}}`, "Parameters and ItemSelector are mutually exclusive"},
		{"Map bad MaxConcurrency", `{"StartAt":"A","States":{"A":{"Type":"Map","MaxConcurrency":-1,"ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Succeed"}}},"End":true}}}`, "MaxConcurrency must be a non-negative integer"},
		{"Map ItemReader", `{"StartAt":"A","States":{"A":{"Type":"Map","ItemReader":{},"ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Succeed"}}},"End":true}}}`, "ItemReader is not supported"},
		{"invalid state in an iterator", `{"StartAt":"A","States":{"A":{"Type":"Map","ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Choice","Choices":[]}}},"End":true}}}`, `state "A": ItemProcessor: state "X": Choice state has no Choices`},
		{"bad choice rule", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":"1","Next":"A"}]}}}`, `state "A": Choices[0]: NumericEquals must be a number`},
		{"state name too long", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"` + strings.Repeat("x", 81) + `"},"` + strings.Repeat("x", 81) + `":{"Type":"Succeed"}}}`, "state names must be 1 to 80 characters"},
		{"bad top-level TimeoutSeconds", `{"StartAt":"A","TimeoutSeconds":-1,"States":{"A":{"Type":"Succeed"}}}`, "TimeoutSeconds must be an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := asl.Parse([]byte(tt.definition))
			if err == nil {
				t.Fatalf("Parse accepted the definition; want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error:\n%v\nwant it to contain %q", err, tt.want)
			}
			var de *asl.DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *asl.DefinitionError", err)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := asl.Parse([]byte(`{"StartAt":"A","States":{
		"A":{"Type":"Pass","Next":"Missing"},
		"B":{"Type":"Choice"}
	}}`))
	for _, want := range []string{`state "A": Next names unknown state "Missing"`, `state "B": Choice state has no Choices`, `state "B": state is unreachable`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}

func TestRegisterStateMachineRejectsUnknownFunction(t *testing.T) {
	h := newHarness(t, map[string]asl.Function{"known": echo})
	def := `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"arn:aws:lambda:eu-west-1:123456789012:function:unknwon:live"},"End":true}}}`
	_, err := h.rt.RegisterStateMachine("typo", []byte(def))
	if err == nil || !strings.Contains(err.Error(), `function "unknwon" is not registered`) {
		t.Fatalf("RegisterStateMachine = %v; want it to reject the unknown function", err)
	}
	if _, err := h.rt.RegisterStateMachine("bad name", []byte(def)); err == nil {
		t.Fatal("RegisterStateMachine accepted a name with a space")
	}
}
