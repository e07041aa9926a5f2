package awslambda

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

const deployBase = `"type": "Aws.LambdaDeploymentStage", "account": "prod", "region": "us-east-1", "functionName": "api",
  "runtime": "python3.12", "handler": "index.handler", "role": "arn:aws:iam::123456789012:role/exec"`

func TestValidateNamesTheFieldsToFix(t *testing.T) {
	reg := stages.NewRegistry()
	Register(reg)
	for _, tc := range []struct {
		name  string
		stage string
		want  []string
	}{
		{"a deployment from S3", `{` + deployBase + `, "s3bucket": "b", "s3key": "k.zip", "aliases": "live"}`, nil},
		{"the plugin's empty inputs", `{` + deployBase + `, "s3bucket": "b", "s3key": "k.zip", "KMSKeyArn": "", "targetGroups": "",
		  "triggerArns": [""], "deadLetterConfig": {"targetArn": ""}, "subnetIds": [], "memorySize": "256"}`, nil},
		{"code from an artifact", `{` + deployBase + `, "codeArtifact": {"type": "s3/object", "reference": "s3://builds/api.zip"}}`, nil},
		{"values only known at run time", `{"type": "Aws.LambdaDeploymentStage", "account": "${parameters.account}", "region": "${parameters.region}",
		  "functionName": "api", "runtime": "python3.12", "handler": "h", "role": "${parameters.role}", "s3bucket": "b", "s3key": "${trigger.key}"}`, nil},
		{"nothing", `{"type": "Aws.LambdaDeploymentStage"}`, []string{"account: is required", "region: is required", "functionName: is required",
			"runtime: is required", "handler: is required", "role: is required", "s3bucket: is required", "s3key: is required"}},
		{"wrong types", `{` + deployBase + `, "s3bucket": "b", "s3key": "k", "memorySize": "lots", "envVariables": {"A": 1}, "aliases": [1]}`,
			[]string{"memorySize: must be a number", "envVariables.A: must be a string", "aliases: must be an alias name or a list"}},
		{"an artifact of another kind", `{` + deployBase + `, "codeArtifact": {"type": "docker/image", "reference": "nginx"}}`,
			[]string{`codeArtifact.type: "docker/image" is not supported`}},
		{"an S3 artifact without a key", `{` + deployBase + `, "codeArtifact": {"type": "s3/object", "reference": "s3://builds"}}`,
			[]string{"codeArtifact.reference: \"s3://builds\" is not s3://bucket/key"}},
		{"Lambda@Edge outside its limits", `{` + deployBase + `, "s3bucket": "b", "s3key": "k", "enableLambdaAtEdge": true, "region": "eu-west-1",
		  "timeout": 30, "memorySize": 512, "envVariables": {"A": "1"}}`,
			[]string{"region: Lambda@Edge functions must be deployed in us-east-1", "timeout: Lambda@Edge", "memorySize: Lambda@Edge", "envVariables: Lambda@Edge"}},
		{"fields not applied yet, and wrong ones", `{` + deployBase + `, "s3bucket": "b", "s3key": "k", "targetGroups": "tg", "triggerArns": ["", "arn:aws:sqs:us-east-1:1:q", "orders"], "reservedConcurrentExecutions": -1}`,
			[]string{"targetGroups: registering", `triggerArns[2]: "orders" is not an ARN`, "reservedConcurrentExecutions: must be 0 or more"}},
		{"another cloud", `{` + deployBase + `, "s3bucket": "b", "s3key": "k", "cloudProvider": "kubernetes"}`, []string{`cloudProvider: "kubernetes" is not aws`}},

		{"a simple route", `{"type": "Aws.LambdaTrafficRoutingStage", "account": "prod", "region": "us-east-1", "functionName": "shop-api", "aliasName": "live",
		  "deploymentStrategy": "$SIMPLE", "versionNameA": "$PROVIDED", "versionNumberA": 3}`, nil},
		{"a weighted route without its share", `{"type": "Aws.LambdaTrafficRoutingStage", "account": "prod", "region": "us-east-1", "functionName": "shop-api",
		  "deploymentStrategy": "$WEIGHTED", "versionNameA": "$NEWEST", "versionNameB": "$PROVIDED", "trafficPercentA": 150}`,
			[]string{"aliasName: is required", `versionNameA: "$NEWEST" is not`, "versionNumberB: is required with $PROVIDED", "trafficPercentA: must be from 0 to 100, not 150"}},
		{"an unknown strategy", `{"type": "Aws.LambdaTrafficRoutingStage", "account": "prod", "region": "us-east-1", "functionName": "f", "aliasName": "a",
		  "deploymentStrategy": "$CANARY"}`, []string{`deploymentStrategy: "$CANARY" is not $SIMPLE, $WEIGHTED or $BLUEGREEN`}},
		{"blue/green with an unreadable payload", `{"type": "Aws.LambdaTrafficRoutingStage", "account": "prod", "region": "us-east-1", "functionName": "f", "aliasName": "a",
		  "deploymentStrategy": "$BLUEGREEN", "healthCheckType": "$LAMBDA", "timeout": 1000,
		  "payloadArtifact": {"artifact": {"type": "github/file", "reference": "x"}}, "outputArtifact": {"id": "expected-1"}, "provisionedConcurrentExecutions": 2}`,
			[]string{`payloadArtifact.artifact.type: "github/file" is not supported`, `outputArtifact.id: expected artifact "expected-1"`,
				"timeout: must be from 0 to 900", "provisionedConcurrentExecutions: provisioned concurrency"}},

		{"an invocation", `{"type": "Aws.LambdaInvokeStage", "account": "prod", "region": "us-east-1", "functionName": "f", "executionCount": 2, "lambdaPayload": "{}"}`, nil},
		{"too many invocations", `{"type": "Aws.LambdaInvokeStage", "account": "prod", "region": "us-east-1", "functionName": "f", "executionCount": 1000}`,
			[]string{"executionCount: must be from 0 to 100"}},

		{"new code", `{"type": "Aws.LambdaUpdateCodeStage", "account": "prod", "region": "us-east-1", "functionName": "api", "s3bucket": "b", "s3key": "k", "publish": true}`, nil},
		{"new code from nowhere", `{"type": "Aws.LambdaUpdateCodeStage", "account": "prod", "region": "us-east-1", "functionName": "api"}`,
			[]string{"s3bucket: is required", "s3key: is required"}},

		{"delete all", `{"type": "Aws.LambdaDeleteStage", "account": "prod", "region": "us-east-1", "functionName": "f", "version": "$ALL"}`, nil},
		{"delete without a version", `{"type": "Aws.LambdaDeleteStage", "account": "prod", "region": "us-east-1", "functionName": "f"}`,
			[]string{"version: is required: $ALL"}},
		{"keep none", `{"type": "Aws.LambdaDeleteStage", "account": "prod", "region": "us-east-1", "functionName": "f", "version": "$MOVING", "retentionNumber": 0}`,
			[]string{"retentionNumber: must keep at least 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stagestest.StageFromJSON(t, tc.stage)
			known, problems := reg.ValidateStage(s)
			if !known {
				t.Fatalf("stage type %s is not registered", s.Type)
			}
			stagestest.CheckProblems(t, problems, tc.want...)
		})
	}
}

// A configuration that turns out wrong once expressions are evaluated fails
// the task before anything is done in AWS, naming the field.
func TestBadConfigurationFailsTheStageBeforeActing(t *testing.T) {
	reg := stages.NewRegistry()
	Register(reg)
	run := stagestest.NewRun(stagestest.ContextFromJSON(t, `{"account": "prod", "region": "us-east-1", "functionName": "api",
	  "runtime": "python3.12", "handler": "h", "role": "r", "s3bucket": "b", "s3key": "k", "memorySize": "big"}`))
	run.Stage.Type = DeploymentStage
	err := reg.Configure(run)
	if err == nil || !containsAll(err.Error(), "memorySize", "must be a number") {
		t.Fatalf("Configure: err = %v, want one naming memorySize", err)
	}
}

func TestFunctionName(t *testing.T) {
	for _, tc := range []struct{ app, name, want string }{
		{"shop", "api", "shop-api"},
		{"shop", "shop-api", "shop-api"},
		{"shop", "shop", "shop"},
		{"shop", "shopping-api", "shop-shopping-api"},
		{"shop", "test-functional-scenario2", "shop-test-functional-scenario2"},
	} {
		if got := FunctionName(tc.app, tc.name); got != tc.want {
			t.Errorf("FunctionName(%q, %q) = %q, want %q", tc.app, tc.name, got, tc.want)
		}
	}
}

func TestRouteFromVersionSelectors(t *testing.T) {
	fn := &providers.Function{Name: "shop-api", Versions: []string{"3", "4", "7"}}
	pct := func(n int) *int { return &n }
	for _, tc := range []struct {
		name string
		cfg  routeConfig
		want providers.FunctionAlias
		err  string
	}{
		{"newest", routeConfig{DeploymentStrategy: strategySimple, VersionNameA: versionLatest}, providers.FunctionAlias{Name: "live", Version: "7"}, ""},
		{"previous", routeConfig{DeploymentStrategy: strategySimple, VersionNameA: versionPrevious}, providers.FunctionAlias{Name: "live", Version: "4"}, ""},
		{"oldest", routeConfig{DeploymentStrategy: strategySimple, VersionNameA: versionOldest}, providers.FunctionAlias{Name: "live", Version: "3"}, ""},
		{"provided", routeConfig{DeploymentStrategy: strategySimple, VersionNameA: versionProvided, VersionNumberA: "4"}, providers.FunctionAlias{Name: "live", Version: "4"}, ""},
		{"a version that is gone", routeConfig{DeploymentStrategy: strategySimple, VersionNameA: "5"}, providers.FunctionAlias{}, `no published version "5"; its published versions: 3, 4, 7`},
		{"10% to the newest", routeConfig{DeploymentStrategy: strategyWeighted, VersionNameA: versionPrevious, TrafficPercentA: pct(90), VersionNameB: versionLatest},
			providers.FunctionAlias{Name: "live", Version: "4", Weights: map[string]float64{"7": 0.1}}, ""},
		{"all to A", routeConfig{DeploymentStrategy: strategyWeighted, VersionNameA: versionLatest, TrafficPercentA: pct(100), VersionNameB: versionPrevious},
			providers.FunctionAlias{Name: "live", Version: "7"}, ""},
		{"none to A", routeConfig{DeploymentStrategy: strategyWeighted, VersionNameA: versionPrevious, TrafficPercentA: pct(0), VersionNameB: versionLatest},
			providers.FunctionAlias{Name: "live", Version: "7"}, ""},
		{"A and B the same", routeConfig{DeploymentStrategy: strategyWeighted, VersionNameA: versionLatest, TrafficPercentA: pct(30), VersionNameB: "7"},
			providers.FunctionAlias{Name: "live", Version: "7"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.AliasName = "live"
			got, err := tc.cfg.route(fn)
			if tc.err != "" {
				if err == nil || !containsAll(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("route = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHealthOfAnAnswer(t *testing.T) {
	ok := "ok"
	for _, tc := range []struct {
		name     string
		inv      providers.Invocation
		expected *string
		want     string // a fragment of the failure, "" for healthy
	}{
		{"echo", providers.Invocation{StatusCode: 200, Payload: []byte(`{"a": 1}`)}, nil, ""},
		{"expected body", providers.Invocation{StatusCode: 200, Payload: []byte(`{"statusCode": 200, "body": "ok"}`)}, &ok, ""},
		{"expected text with other spacing", providers.Invocation{StatusCode: 200, Payload: []byte(`{"a":  1}`)}, ptr("{\n \"a\": 1 }"), ""},
		{"another body", providers.Invocation{StatusCode: 200, Payload: []byte(`{"statusCode": 200, "body": "degraded"}`)}, &ok, "answered degraded, not the expected ok"},
		{"an error status", providers.Invocation{StatusCode: 200, Payload: []byte(`{"statusCode": 503}`)}, nil, "statusCode 503"},
		{"a raised error", providers.Invocation{StatusCode: 200, FunctionError: "Unhandled", Payload: []byte(`{"errorMessage": "boom"}`)}, nil, "failed (Unhandled): boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := read(&tc.inv).failure(tc.expected)
			if (tc.want == "") != (got == "") || !containsAll(got, tc.want) {
				t.Errorf("failure = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPayloadSources(t *testing.T) {
	emb := base64.StdEncoding.EncodeToString([]byte(`{"from": "artifact"}`))
	for _, tc := range []struct {
		src  payloadSource
		want string
	}{
		{payloadSource{PayloadArtifact: &stageArtifact{Artifact: &model.Artifact{Type: embeddedArtifact, Reference: emb}}, LambdaPayload: "{}"}, `{"from": "artifact"}`},
		{payloadSource{LambdaPayload: `{"from": "lambdaPayload"}`, Payload: "{}"}, `{"from": "lambdaPayload"}`},
		{payloadSource{Payload: `{"from": "payload"}`}, `{"from": "payload"}`},
		{payloadSource{}, ""},
	} {
		got, err := tc.src.payload()
		if err != nil || string(got) != tc.want {
			t.Errorf("payload of %+v = %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
}

func ptr(s string) *string { return &s }

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !contains(s, p) {
			return false
		}
	}
	return true
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
