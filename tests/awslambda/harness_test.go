// Package awslambda_test runs Spinnaker's AWS Lambda stages end to end:
// pipelines saved through Gate's API and run by the real orchestrator in a
// local runtime, against moto_server's Lambda, S3, IAM and STS. Each test
// asserts what the Lambda API then reports (GetAlias,
// ListVersionsByFunction).
package awslambda_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/mototest"
	"github.com/gennaker/gennaker/shared/runtime/local"
	"github.com/gennaker/gennaker/shared/store"
)

const (
	app     = "shop"
	account = "lambda-prod"
	region  = "us-east-1"
)

// env is a local runtime whose aws account lambda-prod is a fresh moto
// account, reached as gennaker reaches any: the default credential chain
// (pointed at moto by AWS_ENDPOINT_URL), then sts:AssumeRole into the
// account's role.
type env struct {
	t    *testing.T
	srv  *mototest.Server
	rt   *local.Runtime
	api  *httptest.Server
	aws  aws.Config // the account, for asserting what AWS reports
	acct string
	// bucket holds the builds; S3 bucket names are global, so each
	// account has its own.
	bucket string
	role   string // the functions' execution role
	n      int
}

func newEnv(t *testing.T, srv *mototest.Server) *env {
	t.Helper()
	acct := srv.NewAccount()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            srv.Endpoint,
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  region,
		"AWS_MAX_ATTEMPTS":            "1",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	rt, err := local.Open(context.Background(), local.Options{DataDir: dir, Accounts: []providers.Account{{
		Name: account, Provider: "aws", Regions: []string{region},
		Fields: map[string]any{"accountId": acct, "assumeRole": "role/gennaker-deploy"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	api := httptest.NewServer(rt.API())
	t.Cleanup(api.Close)
	e := &env{t: t, srv: srv, rt: rt, api: api, aws: srv.Config(acct), acct: acct, bucket: "shop-builds-" + acct}
	ctx := context.Background()
	out, err := iam.NewFromConfig(e.aws).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("shop-lambda"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	e.role = aws.ToString(out.Role.Arn)
	s3c := e.s3()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(e.bucket)}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1", "2", "3"} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("api/" + v + ".zip"),
			Body: bytes.NewReader(zipOf(t, "def handler(event, context):\n    return {'version': "+v+"}\n"))}); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := e.send("POST", "/tasks", map[string]any{"application": app, "job": []any{map[string]any{
		"type": "createApplication", "application": map[string]any{"name": app, "email": "shop@example.com"}}}}, nil); code != http.StatusOK {
		t.Fatalf("create application: %d %s", code, body)
	}
	return e
}

// cannedAnswer makes the account's next invocation answer payload, as moto
// answers when it runs no code.
func (e *env) cannedAnswer(payload string) {
	e.t.Helper()
	b, err := json.Marshal(map[string]any{"results": []string{payload}, "account_id": e.acct, "region": region})
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv.Post(e.t, "/moto-api/static/lambda-simple/response", string(b))
}

func (e *env) s3() *s3.Client {
	return s3.NewFromConfig(e.aws, func(o *s3.Options) { o.UsePathStyle = true })
}

func (e *env) lambda() *lambda.Client { return lambda.NewFromConfig(e.aws) }

func zipOf(t *testing.T, source string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.Create("index.py")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(source)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// send calls the API with a JSON body and returns the status and body;
// header, when not nil, receives the answer's headers.
func (e *env) send(method, path string, body any, header http.Header) (int, []byte) {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(method, e.api.URL+path, bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	for k, v := range resp.Header {
		if header != nil {
			header[k] = v
		}
	}
	return resp.StatusCode, out.Bytes()
}

// save saves a pipeline of stages through Gate's API and returns it with
// the warnings the API gave.
func (e *env) save(stages ...string) (*model.Pipeline, []string) {
	e.t.Helper()
	e.n++
	src := fmt.Sprintf(`{"application": %q, "name": "lambda-%d", "id": "lambda-%d", "stages": [%s]}`, app, e.n, e.n, strings.Join(stages, ","))
	var doc map[string]any
	if err := json.Unmarshal([]byte(src), &doc); err != nil {
		e.t.Fatalf("pipeline JSON: %v\n%s", err, src)
	}
	header := http.Header{}
	if code, body := e.send("POST", "/pipelines", doc, header); code != http.StatusOK {
		e.t.Fatalf("save pipeline: %d %s", code, body)
	}
	var p model.Pipeline
	if err := json.Unmarshal([]byte(src), &p); err != nil {
		e.t.Fatal(err)
	}
	return &p, warnings(header)
}

// warnings are the texts of the answer's Warning headers
// (`299 gennaker "…"`).
func warnings(h http.Header) []string {
	var out []string
	for _, w := range h.Values("Warning") {
		if _, text, ok := strings.Cut(w, " gennaker "); ok {
			if unq, err := strconv.Unquote(text); err == nil {
				w = unq
			}
		}
		out = append(out, w)
	}
	return out
}

// start saves a pipeline, which must save without warnings, and triggers it.
func (e *env) start(stages ...string) model.ExecutionID {
	e.t.Helper()
	p, warnings := e.save(stages...)
	if len(warnings) > 0 {
		e.t.Fatalf("the pipeline saved with warnings: %q", warnings)
	}
	id, err := e.rt.Orchestrator.TriggerPipeline(context.Background(), p, model.ExecutionTrigger{Type: "manual", User: "tester"}, "")
	if err != nil {
		e.t.Fatalf("trigger: %v", err)
	}
	return id
}

// run runs a pipeline to its end.
func (e *env) run(stages ...string) *model.Execution {
	e.t.Helper()
	return e.until(e.start(stages...), func(ex *model.Execution) bool { return ex.Status.IsComplete() && ex.Orchestration.Finalized })
}

// until polls the run until done says so, within a bound generous enough
// for a loaded machine.
func (e *env) until(id model.ExecutionID, done func(*model.Execution) bool) *model.Execution {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ex, err := e.rt.Store.Executions().Get(context.Background(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			e.t.Fatalf("get %s: %v", id, err)
		}
		if ex != nil && done(ex) {
			return ex
		}
		if ex != nil && ex.Status.IsComplete() && ex.Orchestration.Finalized {
			e.t.Fatalf("run %s ended before the awaited point: %s", id, describe(ex))
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s: gave up waiting: %s", id, describe(ex))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stage returns the run's stage of that refId.
func stage(ex *model.Execution, refID string) *model.StageExecution {
	for i := range ex.Stages {
		if ex.Stages[i].RefID == refID {
			return &ex.Stages[i]
		}
	}
	return nil
}

func describe(e *model.Execution) string {
	if e == nil {
		return "<none>"
	}
	out := string(e.Status)
	for _, s := range e.Stages {
		out += " | " + s.Name + "=" + string(s.Status)
		if ex, ok := s.Context["exception"]; ok {
			b, _ := json.Marshal(ex)
			out += " " + string(b)
		}
	}
	return out
}

func assertStatus(t *testing.T, e *model.Execution, want model.Status) {
	t.Helper()
	if e.Status != want {
		t.Fatalf("run status = %s, want %s; %s", e.Status, want, describe(e))
	}
}

// alias is what GetAlias reports: "1" or "1 2=0.10".
func (e *env) alias(function, name string) string {
	e.t.Helper()
	out, err := e.lambda().GetAlias(context.Background(), &lambda.GetAliasInput{FunctionName: aws.String(function), Name: aws.String(name)})
	if err != nil {
		e.t.Fatalf("GetAlias %s %s: %v", function, name, err)
	}
	s := aws.ToString(out.FunctionVersion)
	if out.RoutingConfig != nil {
		var vs []string
		for v, w := range out.RoutingConfig.AdditionalVersionWeights {
			vs = append(vs, fmt.Sprintf("%s=%.2f", v, w))
		}
		sort.Strings(vs)
		if len(vs) > 0 {
			s += " " + strings.Join(vs, " ")
		}
	}
	return s
}

// versions is what ListVersionsByFunction reports, without $LATEST.
func (e *env) versions(function string) string {
	e.t.Helper()
	out, err := e.lambda().ListVersionsByFunction(context.Background(), &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(function)})
	if err != nil {
		e.t.Fatalf("ListVersionsByFunction %s: %v", function, err)
	}
	var vs []string
	for _, v := range out.Versions {
		if aws.ToString(v.Version) != "$LATEST" {
			vs = append(vs, aws.ToString(v.Version))
		}
	}
	return strings.Join(vs, " ")
}

// deployStage is an Aws.LambdaDeploymentStage of the function "api" (in
// AWS: shop-api) from the build of that version in S3.
func (e *env) deployStage(refID, build string, requisites ...string) string {
	return fmt.Sprintf(`{"refId": %q, "requisiteStageRefIds": %s, "type": "Aws.LambdaDeploymentStage", "name": "Deploy build %s",
	  "cloudProvider": "aws", "account": %q, "region": %q, "functionName": "api",
	  "runtime": "python3.11", "handler": "index.handler", "role": %q, "memorySize": 128, "timeout": 3,
	  "s3bucket": %q, "s3key": "api/%s.zip", "publish": true,
	  "envVariables": {"BUILD": %q}, "tags": {"team": "shop"},
	  "deadLetterConfig": {"targetArn": ""}, "tracingConfig": {"mode": "PassThrough"},
	  "KMSKeyArn": "", "subnetIds": [], "securityGroupIds": [], "vpcId": "", "targetGroups": ""}`,
		refID, jsonList(requisites), build, account, region, e.role, e.bucket, build, build)
}

// routeStage is an Aws.LambdaTrafficRoutingStage of alias live; fields are
// the strategy's, as JSON members.
func routeStage(refID, name, fields string, requisites ...string) string {
	return fmt.Sprintf(`{"refId": %q, "requisiteStageRefIds": %s, "type": "Aws.LambdaTrafficRoutingStage", "name": %q,
	  "cloudProvider": "aws", "account": %q, "region": %q, "functionName": "shop-api", "aliasName": "live", %s}`,
		refID, jsonList(requisites), name, account, region, fields)
}

func waitStage(refID string, requisites ...string) string {
	return fmt.Sprintf(`{"refId": %q, "requisiteStageRefIds": %s, "type": "wait", "name": "Wait %s", "waitTime": 3600}`, refID, jsonList(requisites), refID)
}

func jsonList(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	return `["` + strings.Join(s, `","`) + `"]`
}

// saveDoc saves a pipeline document through Gate's API and returns the
// pipeline as stored, with the warnings the API gave.
func (e *env) saveDoc(doc map[string]any) (*model.Pipeline, []string) {
	e.t.Helper()
	header := http.Header{}
	if code, body := e.send("POST", "/pipelines", doc, header); code != http.StatusOK {
		e.t.Fatalf("save pipeline %v: %d %s", doc["name"], code, body)
	}
	code, body := e.send("GET", "/applications/"+app+"/pipelineConfigs/"+url.PathEscape(doc["name"].(string)), nil, nil)
	if code != http.StatusOK {
		e.t.Fatalf("read back pipeline %v: %d %s", doc["name"], code, body)
	}
	var p model.Pipeline
	if err := json.Unmarshal(body, &p); err != nil {
		e.t.Fatal(err)
	}
	return &p, warnings(header)
}

// runPipeline triggers a saved pipeline and waits for its end.
func (e *env) runPipeline(p *model.Pipeline) *model.Execution {
	e.t.Helper()
	id, err := e.rt.Orchestrator.TriggerPipeline(context.Background(), p, model.ExecutionTrigger{Type: "manual", User: "tester"}, "")
	if err != nil {
		e.t.Fatalf("trigger %s: %v", p.Name, err)
	}
	return e.until(id, func(ex *model.Execution) bool { return ex.Status.IsComplete() && ex.Orchestration.Finalized })
}

// hasFunction reports whether AWS knows the function.
func (e *env) hasFunction(name string) bool {
	e.t.Helper()
	_, err := e.lambda().GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	var missing *lambdatypes.ResourceNotFoundException
	if errors.As(err, &missing) {
		return false
	}
	if err != nil {
		e.t.Fatalf("GetFunction %s: %v", name, err)
	}
	return true
}
