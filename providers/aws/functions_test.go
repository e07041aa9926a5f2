package aws_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gennaker/gennaker/providers"
	gaws "github.com/gennaker/gennaker/providers/aws"
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

func TestFunctionsDeployVersionsAndAliases(t *testing.T) {
	fns, cfg, role := functionsIn(t)
	ctx := context.Background()
	const region = "us-east-1"
	spec := providers.FunctionSpec{Name: "shop-api", Runtime: "python3.11", Handler: "index.handler", Role: role,
		MemorySize: 256, Timeout: 10, Environment: map[string]string{"STAGE": "prod"}, Tags: map[string]string{"team": "shop"},
		Publish: true, Code: providers.FunctionCode{ZipFile: zipOf(t, "def handler(e, c): return 1")}}

	if _, err := fns.Get(ctx, region, "shop-api"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Get of a missing function: err = %v, want ErrNotFound", err)
	}
	created, err := fns.Create(ctx, region, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(created.Versions, []string{"1"}) {
		t.Errorf("versions after a create with publish = %v, want [1]", created.Versions)
	}
	if _, err := fns.Create(ctx, region, spec); !errors.Is(err, providers.ErrExists) {
		t.Errorf("second Create: err = %v, want ErrExists", err)
	}

	// New code from S3, then a new configuration, then a version of both.
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("builds")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("builds"), Key: aws.String("api/2.zip"), Body: bytes.NewReader(zipOf(t, "def handler(e, c): return 2"))}); err != nil {
		t.Fatal(err)
	}
	updated, err := fns.UpdateCode(ctx, region, "shop-api", providers.FunctionCode{S3Bucket: "builds", S3Key: "api/2.zip"})
	if err != nil {
		t.Fatal(err)
	}
	if updated.CodeSHA256 == created.CodeSHA256 {
		t.Errorf("the code's SHA-256 did not change with new code")
	}
	spec.MemorySize = 512
	if _, err := fns.UpdateConfiguration(ctx, region, spec); err != nil {
		t.Fatal(err)
	}
	got, err := fns.Get(ctx, region, "shop-api")
	if err != nil {
		t.Fatal(err)
	}
	v, err := fns.Publish(ctx, region, "shop-api", got.RevisionID, "second")
	if err != nil {
		t.Fatal(err)
	}
	if v != "2" {
		t.Errorf("published version = %q, want 2", v)
	}
	conf, err := lambda.NewFromConfig(cfg).GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("shop-api"), Qualifier: aws.String("2")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(conf.MemorySize) != 512 {
		t.Errorf("version 2 has %d MB, want 512", aws.ToInt32(conf.MemorySize))
	}

	// An alias created, then split between two versions, then moved.
	for _, a := range []providers.FunctionAlias{
		{Name: "live", Version: "1"},
		{Name: "live", Version: "1", Weights: map[string]float64{"2": 0.1}},
		{Name: "live", Version: "2"},
	} {
		if err := fns.SetAlias(ctx, region, "shop-api", a); err != nil {
			t.Fatal(err)
		}
		fn, err := fns.Get(ctx, region, "shop-api")
		if err != nil {
			t.Fatal(err)
		}
		if al := fn.Alias("live"); al == nil || al.Version != a.Version || !reflect.DeepEqual(al.Weights, a.Weights) {
			t.Errorf("alias after SetAlias(%+v) = %+v", a, al)
		}
		if !reflect.DeepEqual(fn.Versions, []string{"1", "2"}) {
			t.Errorf("versions = %v, want [1 2]", fn.Versions)
		}
	}

	inv, err := fns.Invoke(ctx, region, "shop-api", "live", []byte(`{"ping":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if inv.StatusCode != 200 || inv.FunctionError != "" || string(inv.Payload) != `{"ping":1}` {
		t.Errorf("invocation = %+v %s, want 200 echoing the payload", inv, inv.Payload)
	}

	if err := fns.Delete(ctx, region, "shop-api", "1"); err != nil {
		t.Fatal(err)
	}
	if fn, _ := fns.Get(ctx, region, "shop-api"); !reflect.DeepEqual(fn.Versions, []string{"2"}) {
		t.Errorf("versions after deleting 1 = %v, want [2]", fn.Versions)
	}
	if err := fns.Delete(ctx, region, "shop-api", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := fns.Get(ctx, region, "shop-api"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := fns.Delete(ctx, region, "shop-api", ""); err != nil {
		t.Errorf("deleting a missing function: %v", err)
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
