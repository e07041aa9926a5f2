package asl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The Task resources this interpreter implements. Any other Resource is
// rejected by Parse.
type resourceKind uint8

const (
	// resourceLambdaInvoke is arn:aws:states:::lambda:invoke: the
	// optimised Lambda integration, whose result wraps the function output.
	resourceLambdaInvoke resourceKind = iota
	// resourceLambdaFunction is a plain function ARN as Resource: the result
	// is the raw function output.
	resourceLambdaFunction
	// resourceStartExecution is arn:aws:states:::states:startExecution.
	resourceStartExecution
)

// integrationPattern is the suffix of a service integration Resource.
type integrationPattern uint8

const (
	patternRequestResponse integrationPattern = iota
	patternCallback                           // .waitForTaskToken
	patternSync                               // .sync
	patternSync2                              // .sync:2
)

type resource struct {
	arn      string
	kind     resourceKind
	pattern  integrationPattern
	function string // resourceLambdaFunction: the function name
	// staticName is the literal FunctionName of a lambda:invoke task,
	// empty when it comes from a path.
	staticName string
}

var (
	integrationARN = regexp.MustCompile(`^arn:aws[a-z-]*:states:[a-z0-9-]*:[0-9]*:(lambda:invoke|states:startExecution)(\.waitForTaskToken|\.sync:2|\.sync)?$`)
	lambdaARN      = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]+:function:([A-Za-z0-9_-]+)(?::([A-Za-z0-9$_-]+))?$`)
)

// Parameters each integration accepts, as the Step Functions optimised
// integrations validate them.
var integrationParameters = map[resourceKind][]string{
	resourceLambdaInvoke:   {"FunctionName", "Payload", "InvocationType", "Qualifier", "ClientContext", "LogType"},
	resourceStartExecution: {"StateMachineArn", "Input", "Name", "TraceHeader"},
}

func parseResource(arn string) (*resource, error) {
	if m := lambdaARN.FindStringSubmatch(arn); m != nil {
		return &resource{arn: arn, kind: resourceLambdaFunction, function: m[1]}, nil
	}
	m := integrationARN.FindStringSubmatch(arn)
	if m == nil {
		return nil, fmt.Errorf("unknown Resource %q: supported are arn:aws:states:::lambda:invoke[.waitForTaskToken], arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken] and Lambda function ARNs", arn)
	}
	r := &resource{arn: arn, kind: resourceLambdaInvoke}
	if m[1] == "states:startExecution" {
		r.kind = resourceStartExecution
	}
	switch m[2] {
	case ".waitForTaskToken":
		r.pattern = patternCallback
	case ".sync":
		r.pattern = patternSync
	case ".sync:2":
		r.pattern = patternSync2
	}
	if r.kind == resourceLambdaInvoke && (r.pattern == patternSync || r.pattern == patternSync2) {
		return nil, fmt.Errorf("unknown Resource %q: lambda:invoke has no .sync pattern", arn)
	}
	return r, nil
}

// validateParameters checks the Parameters a Task hands its resource.
func (r *resource) validateParameters(t *template, raw any) error {
	if r.kind == resourceLambdaFunction {
		return nil
	}
	params, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("Resource %s requires Parameters", r.arn)
	}
	allowed := integrationParameters[r.kind]
	present := map[string]bool{}
	for _, k := range sortedKeys(params) {
		name := strings.TrimSuffix(k, ".$")
		if !slices.Contains(allowed, name) {
			return fmt.Errorf("Parameters: field %q is not supported by %s (supported: %s)", name, r.arn, strings.Join(allowed, ", "))
		}
		present[name] = true
	}
	required := allowed[0] // FunctionName or StateMachineArn
	if !present[required] {
		return fmt.Errorf("Parameters must contain %s for %s", required, r.arn)
	}
	if r.kind == resourceLambdaInvoke {
		r.staticName, _ = params["FunctionName"].(string)
	}
	if r.pattern == patternCallback && (t == nil || !t.usesTaskToken()) {
		return fmt.Errorf("Parameters must pass the task token ($$.Task.Token) for %s", r.arn)
	}
	return nil
}

// staticFunction returns the function name the task always calls, or "".
func (r *resource) staticFunction() string {
	switch r.kind {
	case resourceLambdaFunction:
		return r.function
	case resourceLambdaInvoke:
		if r.staticName != "" {
			return functionNameOf(r.staticName)
		}
	}
	return ""
}

// functionNameOf resolves what Lambda accepts as FunctionName (a name, a
// name with a qualifier, a partial or a full ARN) to the bare function name.
func functionNameOf(s string) string {
	if m := lambdaARN.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	if _, rest, ok := strings.Cut(s, ":function:"); ok {
		s = rest
	}
	name, _, _ := strings.Cut(s, ":")
	return name
}
