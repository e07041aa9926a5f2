package aws_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gennaker/gennaker/providers"
	gaws "github.com/gennaker/gennaker/providers/aws"
	"github.com/gennaker/gennaker/providers/providertest"
	"github.com/gennaker/gennaker/shared/mototest"
)

// functionsIn returns the functions ability of a fresh moto account, and the
// SDK configuration of that account for checking what AWS reports.
func functionsIn(t *testing.T) (providers.Functions, aws.Config, string) {
	t.Helper()
	srv := mototest.Shared(t)
	acct := srv.NewAccount()
	cfg := srv.Config(acct)
	p := gaws.New(gaws.WithBaseConfig(func(ctx context.Context, region string) (aws.Config, error) {
		c := srv.Config(acct)
		c.Region = region
		return c, nil
	}))
	reg, err := providers.NewRegistry([]providers.Account{{Name: "lambdas", Provider: "aws", Regions: []string{"us-east-1"}}}, p)
	if err != nil {
		t.Fatal(err)
	}
	fns, err := reg.Functions("lambdas", "aws")
	if err != nil {
		t.Fatal(err)
	}
	return fns, cfg, lambdaRole(t, cfg)
}

// lambdaRole creates the execution role functions are created with.
func lambdaRole(t *testing.T, cfg aws.Config) string {
	t.Helper()
	out, err := iam.NewFromConfig(cfg).CreateRole(context.Background(), &iam.CreateRoleInput{
		RoleName:                 aws.String("lambda-exec"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

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

func TestFunctionsConformance(t *testing.T) {
	fns, _, role := functionsIn(t)
	providertest.Functions(t, providertest.FunctionsEnv{Functions: fns, Region: "us-east-1",
		Spec: func(t *testing.T, name string) providers.FunctionSpec {
			return providers.FunctionSpec{Name: name, Runtime: "python3.11", Handler: "index.handler", Role: role,
				Code: providers.FunctionCode{ZipFile: zipOf(t, "def handler(e, c): return 1")}}
		},
		Code: func(t *testing.T, n int) providers.FunctionCode {
			return providers.FunctionCode{ZipFile: zipOf(t, fmt.Sprintf("def handler(e, c): return %d", n))}
		},
	})
}

// Code comes from S3 or a zip, the configuration reaches the published
// version, and an invocation reaches the function (moto echoes the payload).
func TestFunctionsCodeAndConfiguration(t *testing.T) {
	fns, cfg, role := functionsIn(t)
	ctx := context.Background()
	const region = "us-east-1"
	spec := providers.FunctionSpec{Name: "shop-api", Runtime: "python3.11", Handler: "index.handler", Role: role,
		MemorySize: 256, Timeout: 10, Environment: map[string]string{"STAGE": "prod"}, Tags: map[string]string{"team": "shop"},
		Code: providers.FunctionCode{ZipFile: zipOf(t, "def handler(e, c): return 1")}}
	created, err := fns.Create(ctx, region, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(created.Versions) != 0 {
		t.Errorf("versions after a create without publish = %v, want none", created.Versions)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := fmt.Sprintf("builds-%d", time.Now().UnixNano()) // bucket names are global
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("api/2.zip"), Body: bytes.NewReader(zipOf(t, "def handler(e, c): return 2"))}); err != nil {
		t.Fatal(err)
	}
	updated, err := fns.UpdateCode(ctx, region, "shop-api", providers.FunctionCode{S3Bucket: bucket, S3Key: "api/2.zip"})
	if err != nil {
		t.Fatal(err)
	}
	if updated.CodeSHA256 == created.CodeSHA256 {
		t.Errorf("the code's SHA-256 did not change with new code from S3")
	}
	spec.MemorySize = 512
	reserved := 5
	spec.ReservedConcurrency = &reserved
	if _, err := fns.UpdateConfiguration(ctx, region, spec); err != nil {
		t.Fatal(err)
	}
	concurrency := func() int32 {
		out, err := lambda.NewFromConfig(cfg).GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("shop-api")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToInt32(out.ReservedConcurrentExecutions)
	}
	if got := concurrency(); got != 5 {
		t.Errorf("reserved concurrency = %d, want 5", got)
	}
	fn, err := fns.Get(ctx, region, "shop-api")
	if err != nil {
		t.Fatal(err)
	}
	v, err := fns.Publish(ctx, region, "shop-api", fn.RevisionID, "second")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := lambda.NewFromConfig(cfg).GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("shop-api"), Qualifier: aws.String(v)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(conf.MemorySize) != 512 || conf.Environment == nil || conf.Environment.Variables["STAGE"] != "prod" {
		t.Errorf("version %s: %d MB, environment %+v; want 512 MB and STAGE=prod", v, aws.ToInt32(conf.MemorySize), conf.Environment)
	}
	inv, err := fns.Invoke(ctx, region, "shop-api", v, []byte(`{"ping":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if inv.StatusCode != 200 || string(inv.Payload) != `{"ping":1}` {
		t.Errorf("invocation = %+v %s, want 200 echoing the payload", inv, inv.Payload)
	}
	spec.ReservedConcurrency = nil
	if _, err := fns.UpdateConfiguration(ctx, region, spec); err != nil {
		t.Fatal(err)
	}
	if got := concurrency(); got != 0 {
		t.Errorf("reserved concurrency after a configuration without one = %d, want none", got)
	}
}

func TestFunctionsEventSources(t *testing.T) {
	fns, cfg, role := functionsIn(t)
	ctx := context.Background()
	const region = "us-east-1"
	if _, err := fns.Create(ctx, region, providers.FunctionSpec{Name: "shop-worker", Runtime: "python3.11", Handler: "index.handler", Role: role,
		Code: providers.FunctionCode{ZipFile: zipOf(t, "def handler(e, c): return 1")}}); err != nil {
		t.Fatal(err)
	}
	q, err := sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := sqs.NewFromConfig(cfg).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	queue := attrs.Attributes["QueueArn"]
	mappings := func() map[string]int32 {
		out, err := lambda.NewFromConfig(cfg).ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{EventSourceArn: aws.String(queue)})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int32{}
		for _, m := range out.EventSourceMappings {
			got[aws.ToString(m.EventSourceArn)] = aws.ToInt32(m.BatchSize)
		}
		return got
	}
	for _, step := range []struct {
		sources []providers.EventSource
		want    map[string]int32
	}{
		{[]providers.EventSource{{ARN: queue, BatchSize: 5}}, map[string]int32{queue: 5}},
		{[]providers.EventSource{{ARN: queue, BatchSize: 5}}, map[string]int32{queue: 5}},
		{[]providers.EventSource{{ARN: queue, BatchSize: 8}}, map[string]int32{queue: 8}},
		{nil, map[string]int32{}},
	} {
		if err := fns.SetEventSources(ctx, region, "shop-worker", "", step.sources); err != nil {
			t.Fatal(err)
		}
		if got := mappings(); !reflect.DeepEqual(got, step.want) {
			t.Errorf("after SetEventSources(%+v): mappings = %v, want %v", step.sources, got, step.want)
		}
	}
}
