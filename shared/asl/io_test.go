package asl_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/asl"
)

// hello is the HelloFunction of the Step Functions tutorials.
func hello(_ context.Context, payload json.RawMessage) (json.RawMessage, error) {
	var in struct{ Who string }
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, err
	}
	return json.Marshal("Hello, " + in.Who + "!")
}

// TestInputOutputProcessing replays the worked examples of the Step
// Functions developer guide ("Input and Output Processing") and the
// combinations around them.
func TestInputOutputProcessing(t *testing.T) {
	emr := `{"resourceType":"elasticmapreduce","resource":"createCluster.sync","output":{"SdkHttpMetadata":{"HttpStatusCode":200},"ClusterId":"AKIAIOSFODNN7EXAMPLE"}}`
	h := newHarness(t, map[string]asl.Function{
		"HelloFunction": hello,
		"emr":           constant(emr),
		"echo":          echo,
	})
	const helloArn = "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction"
	tutorialInput := `{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":"AWS Step Functions"}`
	tests := []struct {
		name, state, input, want string
	}{
		{
			name:  "InputPath, ResultPath and OutputPath together",
			state: `{"Type":"Task","Resource":"` + helloArn + `","InputPath":"$.lambda","ResultPath":"$.data.lambdaresult","OutputPath":"$.data","End":true}`,
			input: `{"comment":"An input comment.","data":{"val1":23,"val2":17},"extra":"foo","lambda":{"who":"AWS Step Functions"}}`,
			want:  `{"val1":23,"val2":17,"lambdaresult":"Hello, AWS Step Functions!"}`,
		},
		{
			name:  "ResultPath $ replaces the input (default)",
			state: `{"Type":"Task","Resource":"` + helloArn + `","End":true}`,
			input: tutorialInput,
			want:  `"Hello, AWS Step Functions!"`,
		},
		{
			name:  "ResultPath adds the result to the input",
			state: `{"Type":"Task","Resource":"` + helloArn + `","ResultPath":"$.taskresult","End":true}`,
			input: tutorialInput,
			want:  `{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":"AWS Step Functions","taskresult":"Hello, AWS Step Functions!"}`,
		},
		{
			name:  "ResultPath null discards the result",
			state: `{"Type":"Task","Resource":"` + helloArn + `","ResultPath":null,"End":true}`,
			input: tutorialInput,
			want:  tutorialInput,
		},
		{
			name:  "ResultPath overwrites an existing field",
			state: `{"Type":"Task","Resource":"` + helloArn + `","ResultPath":"$.who","End":true}`,
			input: tutorialInput,
			want:  `{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":"Hello, AWS Step Functions!"}`,
		},
		{
			name:  "InputPath selects the task input",
			state: `{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","InputPath":"$.dataset2","End":true}`,
			input: `{"comment":"Example for InputPath.","dataset1":{"val1":1,"val2":2,"val3":3},"dataset2":{"val1":"a","val2":"b","val3":"c"}}`,
			want:  `{"val1":"a","val2":"b","val3":"c"}`,
		},
		{
			name:  "InputPath yields a selection",
			state: `{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","InputPath":"$.a[0:2]","End":true}`,
			input: `{"a":[1,2,3,4]}`,
			want:  `[1,2]`,
		},
		{
			name:  "Parameters key-value pairs",
			state: `{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","Parameters":{"comment":"Selecting what I care about.","MyDetails":{"size.$":"$.product.details.size","exists.$":"$.product.availability","StaticValue":"foo"}},"End":true}`,
			input: `{"comment":"Example for Parameters.","product":{"details":{"color":"blue","size":"small","material":"cotton"},"availability":"in stock","sku":"2317","cost":"$23"}}`,
			want:  `{"comment":"Selecting what I care about.","MyDetails":{"size":"small","exists":"in stock","StaticValue":"foo"}}`,
		},
		{
			name:  "Parameters after InputPath",
			state: `{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","InputPath":"$.product","Parameters":{"sku.$":"$.sku","all.$":"$"},"ResultPath":"$.selected","OutputPath":"$.selected.sku","End":true}`,
			input: `{"product":{"sku":"2317"}}`,
			want:  `"2317"`,
		},
		{
			name:  "Parameters inside arrays",
			state: `{"Type":"Pass","Parameters":{"list":[{"v.$":"$.a"},"lit",["nested",{"w.$":"$.b"}]]},"End":true}`,
			input: `{"a":1,"b":2}`,
			want:  `{"list":[{"v":1},"lit",["nested",{"w":2}]]}`,
		},
		{
			name:  "ResultSelector then ResultPath",
			state: `{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:emr","ResultSelector":{"ClusterId.$":"$.output.ClusterId","ResourceType.$":"$.resourceType"},"ResultPath":"$.EMROutput","End":true}`,
			input: `{"OtherDataFromInput":{}}`,
			want:  `{"OtherDataFromInput":{},"EMROutput":{"ResourceType":"elasticmapreduce","ClusterId":"AKIAIOSFODNN7EXAMPLE"}}`,
		},
		{
			name:  "lambda:invoke result and ResultSelector on Payload",
			state: `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"HelloFunction","Payload":{"who.$":"$.who"}},"ResultSelector":{"greeting.$":"$.Payload","code.$":"$.StatusCode"},"End":true}`,
			input: tutorialInput,
			want:  `{"greeting":"Hello, AWS Step Functions!","code":200}`,
		},
		{
			name:  "lambda:invoke whole result",
			state: `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"echo","Payload.$":"$"},"End":true}`,
			input: `{"x":1}`,
			want:  `{"ExecutedVersion":"$LATEST","Payload":{"x":1},"StatusCode":200}`,
		},
		{
			name:  "lambda:invoke without Payload sends an empty object",
			state: `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"echo"},"OutputPath":"$.Payload","End":true}`,
			input: `{"x":1}`,
			want:  `{}`,
		},
		{
			name:  "OutputPath with a wildcard",
			state: `{"Type":"Pass","OutputPath":"$.items[*].id","End":true}`,
			input: `{"items":[{"id":1},{"id":2}]}`,
			want:  `[1,2]`,
		},
		{
			name:  "context object in Parameters",
			state: `{"Type":"Pass","Parameters":{"state.$":"$$.State.Name","retries.$":"$$.State.RetryCount","machine.$":"$$.StateMachine.Name","input.$":"$$.Execution.Input.k"},"End":true}`,
			input: `{"k":"v"}`,
			want:  `{"state":"S","retries":0,"machine":"ctx","input":"v"}`,
		},
		{
			name:  "intrinsics in ResultSelector",
			state: `{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","ResultSelector":{"n.$":"States.ArrayLength($.list)","s.$":"States.JsonToString($.list)"},"End":true}`,
			input: `{"list":[1,2,3]}`,
			want:  `{"n":3,"s":"[1,2,3]"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := machine(tt.state)
			var d asl.ExecutionDescription
			if strings.Contains(tt.name, "context object") {
				d = h.wait(h.start(h.register("ctx", def), "", tt.input))
			} else {
				d = h.run(def, tt.input)
			}
			wantSucceeded(t, d, tt.want)
		})
	}
}

func TestInputOutputFailures(t *testing.T) {
	h := newHarness(t, map[string]asl.Function{"echo": echo})
	const echoArn = "arn:aws:lambda:us-east-1:123456789012:function:echo"
	tests := []struct {
		name, state, input, wantError, wantCause string
	}{
		{"InputPath not found", `{"Type":"Pass","InputPath":"$.missing","End":true}`, `{}`, asl.ErrorRuntime, "Invalid path '$.missing'"},
		{"OutputPath not found", `{"Type":"Pass","OutputPath":"$.missing","End":true}`, `{}`, asl.ErrorRuntime, "Invalid path '$.missing'"},
		{"Parameters path not found", `{"Type":"Task","Resource":"` + echoArn + `","Parameters":{"x.$":"$.missing"},"End":true}`, `{"a":1}`, asl.ErrorRuntime, "The JSONPath '$.missing' specified for the field 'x.$' could not be found in the input '{\"a\":1}'"},
		{"ResultPath into a string", `{"Type":"Pass","Result":1,"ResultPath":"$.x","End":true}`, `"text"`, asl.ErrorResultPathMatchFailure, "Unable to apply ResultPath '$.x'"},
		{"ResultSelector path not found", `{"Type":"Task","Resource":"` + echoArn + `","ResultSelector":{"x.$":"$.nope"},"End":true}`, `{}`, asl.ErrorRuntime, "could not be found"},
		{"intrinsic failure", `{"Type":"Pass","Parameters":{"x.$":"States.ArrayGetItem($.a, 5)"},"End":true}`, `{"a":[]}`, asl.ErrorIntrinsicFailure, "out of bounds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := h.run(machine(tt.state), tt.input)
			wantFailed(t, d, tt.wantError)
			if !strings.Contains(d.Cause, tt.wantCause) {
				t.Fatalf("cause %q does not contain %q", d.Cause, tt.wantCause)
			}
		})
	}
	t.Run("runtime errors name the state", func(t *testing.T) {
		d := h.run(machine(`{"Type":"Pass","InputPath":"$.missing","End":true}`), `{}`)
		if !strings.HasPrefix(d.Cause, "An error occurred while executing the state 'S' (entered at the event id #2).") {
			t.Fatalf("cause %q", d.Cause)
		}
	})
}
