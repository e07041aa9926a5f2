package awslambda_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/mototest"
)

// The plugin's own test pipelines (testdata/plugin), filled in as its
// configureTesting.py fills them, save without warnings and run to success,
// leaving in AWS what each scenario is about.
func TestPluginScenarios(t *testing.T) {
	e := newEnv(t, mototest.Shared(t))
	if _, err := e.s3().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("lambda_func.zip"),
		Body: bytes.NewReader(zipOf(t, "def handler(event, context):\n    return event\n"))}); err != nil {
		t.Fatal(err)
	}
	_, err := sqs.NewFromConfig(e.aws).CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("shop-events")})
	if err != nil {
		t.Fatal(err)
	}
	eventArn := "arn:aws:sqs:us-east-1:" + e.acct + ":shop-events"
	for _, tc := range []struct {
		scenario string
		// check asserts what the run left in AWS.
		check func(t *testing.T)
		// warnings are fragments of the save warnings the scenario must get.
		warnings []string
	}{
		{"Scenario1", func(t *testing.T) {
			if got := e.versions("shop-test-functional-scenario1"); got != "1" {
				t.Errorf("versions = %q, want 1", got)
			}
			if got := e.alias("shop-test-functional-scenario1", "test"); got != "$LATEST" {
				t.Errorf("alias test = %q, want $LATEST", got)
			}
		}, nil},
		{"Scenario2", func(t *testing.T) {
			for _, fn := range []string{"shop-sandbox-test-functional-scenario2", "shop-test-functional-scenario2"} {
				if got := e.alias(fn, "prod"); got != "$LATEST" {
					t.Errorf("%s: alias prod = %q, want $LATEST", fn, got)
				}
			}
		}, nil},
		{"Scenario3", func(t *testing.T) {
			out, err := e.lambda().ListEventSourceMappings(context.Background(), &lambda.ListEventSourceMappingsInput{EventSourceArn: aws.String(eventArn)})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.EventSourceMappings) != 1 || aws.ToInt32(out.EventSourceMappings[0].BatchSize) != 5 ||
				!strings.HasSuffix(aws.ToString(out.EventSourceMappings[0].FunctionArn), ":shop-sandbox-test-functional-scenario3") {
				t.Errorf("event source mappings of the queue = %+v, want one of batch size 5 to the second stage's function", out.EventSourceMappings)
			}
		}, nil},
		{"Scenario4", func(t *testing.T) {
			if e.hasFunction("shop-test-functional-scenario4") {
				t.Error("the function is still there after a delete of $ALL")
			}
		}, nil},
		{"Scenario5", func(t *testing.T) {
			if !e.hasFunction("shop-sandbox-test-functional-scenario5") || !e.hasFunction("shop-test-functional-scenario5") {
				t.Error("a function of the scenario is missing")
			}
		}, nil},
		{"Scenario6", func(t *testing.T) {
			if e.hasFunction("shop-test-functional-scenario6") {
				t.Error("the function is still there after a delete of $ALL named by an expression")
			}
		}, nil},
		{"Scenario7", func(t *testing.T) {
			if got := e.versions("shop-test-functional-scenario7"); got != "" {
				t.Errorf("versions after deleting the newest twice = %q, want none", got)
			}
		}, nil},
		{"Scenario8", func(t *testing.T) {
			if got := e.versions("shop-test-functional-scenario8"); got != "1" {
				t.Errorf("versions after deleting $PREVIOUS of one = %q, want 1 left", got)
			}
		}, nil},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			e.t = t
			doc := scenario(t, tc.scenario, e.role, e.bucket, eventArn)
			p, warnings := e.saveDoc(doc)
			if len(warnings) != len(tc.warnings) {
				t.Fatalf("save warnings = %q, want %d matching %q", warnings, len(tc.warnings), tc.warnings)
			}
			for i, w := range tc.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q does not say %q", warnings[i], w)
				}
			}
			if tc.check == nil {
				return
			}
			ex := e.runPipeline(p)
			assertStatus(t, ex, model.StatusSucceeded)
			tc.check(t)
		})
	}
}

// scenario reads a plugin scenario and fills it in as configureTesting.py
// does: the application, the account, the role, the bucket and the event
// source. Scenarios 7 and 8 reuse scenario 4's function name; each gets
// its own here so that they do not meet.
func scenario(t *testing.T, name, role, bucket, eventArn string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "plugin", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	doc["application"] = strings.ReplaceAll(doc["application"].(string), "{}", app)
	doc["name"] = strings.ReplaceAll(doc["name"].(string), "{}", "gennaker")
	for _, s := range doc["stages"].([]any) {
		st := s.(map[string]any)
		fn := strings.ReplaceAll(st["functionName"].(string), "{}", app)
		if n := strings.TrimPrefix(name, "Scenario"); n == "7" || n == "8" {
			fn = strings.ReplaceAll(fn, "scenario4", "scenario"+n)
		}
		st["functionName"] = fn
		st["account"] = account
		st["role"] = role
		st["s3bucket"] = bucket
		if _, ok := st["triggerArns"]; ok {
			st["triggerArns"] = []any{eventArn}
		}
	}
	return doc
}
