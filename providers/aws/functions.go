package aws

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/gennaker/gennaker/providers"
)

// lambdaAPI is the part of the Lambda API the functions ability calls.
type lambdaAPI interface {
	GetFunction(context.Context, *lambda.GetFunctionInput, ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	ListVersionsByFunction(context.Context, *lambda.ListVersionsByFunctionInput, ...func(*lambda.Options)) (*lambda.ListVersionsByFunctionOutput, error)
	ListAliases(context.Context, *lambda.ListAliasesInput, ...func(*lambda.Options)) (*lambda.ListAliasesOutput, error)
	CreateFunction(context.Context, *lambda.CreateFunctionInput, ...func(*lambda.Options)) (*lambda.CreateFunctionOutput, error)
	UpdateFunctionCode(context.Context, *lambda.UpdateFunctionCodeInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error)
	UpdateFunctionConfiguration(context.Context, *lambda.UpdateFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error)
	TagResource(context.Context, *lambda.TagResourceInput, ...func(*lambda.Options)) (*lambda.TagResourceOutput, error)
	PublishVersion(context.Context, *lambda.PublishVersionInput, ...func(*lambda.Options)) (*lambda.PublishVersionOutput, error)
	CreateAlias(context.Context, *lambda.CreateAliasInput, ...func(*lambda.Options)) (*lambda.CreateAliasOutput, error)
	UpdateAlias(context.Context, *lambda.UpdateAliasInput, ...func(*lambda.Options)) (*lambda.UpdateAliasOutput, error)
	Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
	DeleteFunction(context.Context, *lambda.DeleteFunctionInput, ...func(*lambda.Options)) (*lambda.DeleteFunctionOutput, error)
	PutFunctionConcurrency(context.Context, *lambda.PutFunctionConcurrencyInput, ...func(*lambda.Options)) (*lambda.PutFunctionConcurrencyOutput, error)
	DeleteFunctionConcurrency(context.Context, *lambda.DeleteFunctionConcurrencyInput, ...func(*lambda.Options)) (*lambda.DeleteFunctionConcurrencyOutput, error)
}

// Functions is an account's Lambda functions.
//
// The role gennaker assumes in the account needs, for the Lambda stages:
// lambda:GetFunction, lambda:ListVersionsByFunction, lambda:ListAliases,
// lambda:CreateFunction, lambda:UpdateFunctionCode,
// lambda:UpdateFunctionConfiguration, lambda:TagResource,
// lambda:PutFunctionConcurrency, lambda:DeleteFunctionConcurrency,
// lambda:PublishVersion, lambda:CreateAlias, lambda:UpdateAlias,
// lambda:InvokeFunction, lambda:DeleteFunction,
// lambda:ListEventSourceMappings, lambda:CreateEventSourceMapping,
// lambda:UpdateEventSourceMapping, lambda:DeleteEventSourceMapping;
// iam:PassRole on the functions' execution roles; s3:GetObject (and
// s3:GetObjectVersion) on the buckets code comes from; and, only for
// functions in a VPC, ec2:DescribeVpcs, ec2:DescribeSubnets and
// ec2:DescribeSecurityGroups.
type Functions struct {
	sessions *Sessions
	// newClient builds a region's client; tests replace it.
	newClient func(aws.Config) lambdaAPI

	mu      sync.Mutex
	clients map[string]lambdaAPI
}

var _ providers.Functions = (*Functions)(nil)

// NewFunctions returns the account's Lambda functions, reached through its
// sessions.
func NewFunctions(s *Sessions) *Functions {
	return &Functions{sessions: s, clients: map[string]lambdaAPI{},
		newClient: func(cfg aws.Config) lambdaAPI { return lambda.NewFromConfig(cfg) }}
}

// client returns the region's client, built once.
func (f *Functions) client(ctx context.Context, region string) (lambdaAPI, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients[region]; ok {
		return c, nil
	}
	cfg, err := f.sessions.Config(ctx, region)
	if err != nil {
		return nil, err
	}
	c := f.newClient(cfg)
	f.clients[region] = c
	return c, nil
}

// Get implements providers.Functions.
func (f *Functions) Get(ctx context.Context, region, name string) (*providers.Function, error) {
	c, err := f.client(ctx, region)
	if err != nil {
		return nil, err
	}
	out, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		return nil, f.wrap(err, "get function", region, name)
	}
	fn := fromConfiguration(out.Configuration)
	versions := lambda.NewListVersionsByFunctionPaginator(c, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(name)})
	for versions.HasMorePages() {
		page, err := versions.NextPage(ctx)
		if err != nil {
			return nil, f.wrap(err, "list versions of", region, name)
		}
		for _, v := range page.Versions {
			if v := aws.ToString(v.Version); v != "" && v != "$LATEST" {
				fn.Versions = append(fn.Versions, v)
			}
		}
	}
	sort.SliceStable(fn.Versions, func(i, j int) bool { return versionLess(fn.Versions[i], fn.Versions[j]) })
	aliases := lambda.NewListAliasesPaginator(c, &lambda.ListAliasesInput{FunctionName: aws.String(name)})
	for aliases.HasMorePages() {
		page, err := aliases.NextPage(ctx)
		if err != nil {
			return nil, f.wrap(err, "list aliases of", region, name)
		}
		for _, a := range page.Aliases {
			fn.Aliases = append(fn.Aliases, fromAlias(a))
		}
	}
	sort.Slice(fn.Aliases, func(i, j int) bool { return fn.Aliases[i].Name < fn.Aliases[j].Name })
	return fn, nil
}

// Create implements providers.Functions.
func (f *Functions) Create(ctx context.Context, region string, spec providers.FunctionSpec) (*providers.Function, error) {
	c, err := f.client(ctx, region)
	if err != nil {
		return nil, err
	}
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(spec.Name),
		Code:         &types.FunctionCode{ZipFile: spec.Code.ZipFile, S3Bucket: optional(spec.Code.S3Bucket), S3Key: optional(spec.Code.S3Key), S3ObjectVersion: optional(spec.Code.S3ObjectVersion)},
		Role:         aws.String(spec.Role),
		Handler:      optional(spec.Handler),
		Runtime:      types.Runtime(spec.Runtime),
		Description:  optional(spec.Description),
		MemorySize:   optionalInt(spec.MemorySize),
		Timeout:      optionalInt(spec.Timeout),
		Publish:      spec.Publish,
		Layers:       spec.Layers,
		KMSKeyArn:    optional(spec.KMSKeyARN),
		VpcConfig:    vpcConfig(spec),
	}
	if len(spec.Tags) > 0 {
		in.Tags = spec.Tags
	}
	if spec.Environment != nil {
		in.Environment = &types.Environment{Variables: spec.Environment}
	}
	if spec.DeadLetterTarget != "" {
		in.DeadLetterConfig = &types.DeadLetterConfig{TargetArn: aws.String(spec.DeadLetterTarget)}
	}
	if spec.TracingMode != "" {
		in.TracingConfig = &types.TracingConfig{Mode: types.TracingMode(spec.TracingMode)}
	}
	out, err := c.CreateFunction(ctx, in)
	if err != nil {
		var conflict *types.ResourceConflictException
		if errors.As(err, &conflict) {
			return nil, fmt.Errorf("create function %s in %s/%s: %w: %v", spec.Name, f.sessions.account.Name, region, providers.ErrExists, err)
		}
		return nil, f.wrap(err, "create function", region, spec.Name)
	}
	if spec.ReservedConcurrency != nil {
		if err := f.reserve(ctx, c, region, spec); err != nil {
			return nil, err
		}
	}
	return fromCreated(out), nil
}

// UpdateCode implements providers.Functions.
func (f *Functions) UpdateCode(ctx context.Context, region, name string, code providers.FunctionCode) (*providers.Function, error) {
	c, err := f.client(ctx, region)
	if err != nil {
		return nil, err
	}
	out, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName: aws.String(name), ZipFile: code.ZipFile,
		S3Bucket: optional(code.S3Bucket), S3Key: optional(code.S3Key), S3ObjectVersion: optional(code.S3ObjectVersion),
	})
	if err != nil {
		return nil, f.wrap(err, "update the code of", region, name)
	}
	return fromUpdatedCode(out), nil
}

// UpdateConfiguration implements providers.Functions.
func (f *Functions) UpdateConfiguration(ctx context.Context, region string, spec providers.FunctionSpec) (*providers.Function, error) {
	c, err := f.client(ctx, region)
	if err != nil {
		return nil, err
	}
	in := &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(spec.Name),
		Role:         optional(spec.Role),
		Handler:      optional(spec.Handler),
		Runtime:      types.Runtime(spec.Runtime),
		Description:  aws.String(spec.Description),
		MemorySize:   optionalInt(spec.MemorySize),
		Timeout:      optionalInt(spec.Timeout),
		Layers:       spec.Layers,
		KMSKeyArn:    optional(spec.KMSKeyARN),
		VpcConfig:    vpcConfig(spec),
		Environment:  &types.Environment{Variables: spec.Environment},
	}
	if in.Environment.Variables == nil {
		in.Environment.Variables = map[string]string{}
	}
	if spec.DeadLetterTarget != "" {
		in.DeadLetterConfig = &types.DeadLetterConfig{TargetArn: aws.String(spec.DeadLetterTarget)}
	}
	if spec.TracingMode != "" {
		in.TracingConfig = &types.TracingConfig{Mode: types.TracingMode(spec.TracingMode)}
	}
	out, err := c.UpdateFunctionConfiguration(ctx, in)
	if err != nil {
		return nil, f.wrap(err, "update the configuration of", region, spec.Name)
	}
	if len(spec.Tags) > 0 {
		if _, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: out.FunctionArn, Tags: spec.Tags}); err != nil {
			return nil, f.wrap(err, "tag", region, spec.Name)
		}
	}
	if err := f.reserve(ctx, c, region, spec); err != nil {
		return nil, err
	}
	return fromUpdatedConfiguration(out), nil
}

// reserve sets the function's reserved concurrency as spec says, removing
// it when spec has none.
func (f *Functions) reserve(ctx context.Context, c lambdaAPI, region string, spec providers.FunctionSpec) error {
	if spec.ReservedConcurrency == nil {
		if _, err := c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(spec.Name)}); err != nil {
			return f.wrap(err, "remove the reserved concurrency of", region, spec.Name)
		}
		return nil
	}
	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(spec.Name),
		ReservedConcurrentExecutions: aws.Int32(int32(*spec.ReservedConcurrency))}); err != nil {
		return f.wrap(err, "reserve concurrency for", region, spec.Name)
	}
	return nil
}

// Publish implements providers.Functions.
func (f *Functions) Publish(ctx context.Context, region, name, revisionID, description string) (string, error) {
	c, err := f.client(ctx, region)
	if err != nil {
		return "", err
	}
	out, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name), RevisionId: optional(revisionID), Description: optional(description)})
	if err != nil {
		return "", f.wrap(err, "publish a version of", region, name)
	}
	return aws.ToString(out.Version), nil
}

// SetAlias implements providers.Functions.
func (f *Functions) SetAlias(ctx context.Context, region, name string, a providers.FunctionAlias) error {
	c, err := f.client(ctx, region)
	if err != nil {
		return err
	}
	routing := &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}}
	for v, w := range a.Weights {
		routing.AdditionalVersionWeights[v] = w
	}
	_, err = c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String(a.Name),
		FunctionVersion: aws.String(a.Version), Description: optional(a.Description), RoutingConfig: routing})
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		_, err = c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String(a.Name),
			FunctionVersion: aws.String(a.Version), Description: optional(a.Description), RoutingConfig: routing})
	}
	if err != nil {
		return f.wrap(err, "set alias "+a.Name+" of", region, name)
	}
	return nil
}

// Invoke implements providers.Functions.
func (f *Functions) Invoke(ctx context.Context, region, name, qualifier string, payload []byte) (*providers.Invocation, error) {
	c, err := f.client(ctx, region)
	if err != nil {
		return nil, err
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Qualifier: optional(qualifier),
		Payload: payload, InvocationType: types.InvocationTypeRequestResponse, LogType: types.LogTypeTail})
	if err != nil {
		return nil, f.wrap(err, "invoke", region, name)
	}
	return &providers.Invocation{StatusCode: int(out.StatusCode), FunctionError: aws.ToString(out.FunctionError),
		Payload: out.Payload, ExecutedVersion: aws.ToString(out.ExecutedVersion), LogResult: aws.ToString(out.LogResult)}, nil
}

// Delete implements providers.Functions.
func (f *Functions) Delete(ctx context.Context, region, name, qualifier string) error {
	c, err := f.client(ctx, region)
	if err != nil {
		return err
	}
	_, err = c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name), Qualifier: optional(qualifier)})
	var missing *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &missing) {
		return f.wrap(err, "delete", region, name+qualified(qualifier))
	}
	return nil
}

// wrap names the call, the function and where it is; a missing function
// also wraps providers.ErrNotFound.
func (f *Functions) wrap(err error, what, region, name string) error {
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return fmt.Errorf("%s %s in %s/%s: %w: %w", what, name, f.sessions.account.Name, region, providers.ErrNotFound, err)
	}
	return fmt.Errorf("%s %s in %s/%s: %w", what, name, f.sessions.account.Name, region, err)
}

func qualified(q string) string {
	if q == "" {
		return ""
	}
	return ":" + q
}

// versionLess orders version numbers numerically.
func versionLess(a, b string) bool {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA != nil || errB != nil {
		return a < b
	}
	return x < y
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func optionalInt(n int) *int32 {
	if n == 0 {
		return nil
	}
	return aws.Int32(int32(n))
}

func vpcConfig(spec providers.FunctionSpec) *types.VpcConfig {
	if len(spec.SubnetIDs) == 0 && len(spec.SecurityGroupIDs) == 0 {
		return nil
	}
	return &types.VpcConfig{SubnetIds: spec.SubnetIDs, SecurityGroupIds: spec.SecurityGroupIDs}
}

func fromConfiguration(c *types.FunctionConfiguration) *providers.Function {
	if c == nil {
		return &providers.Function{}
	}
	return &providers.Function{
		Name: aws.ToString(c.FunctionName), ARN: aws.ToString(c.FunctionArn),
		State: string(c.State), StateReason: aws.ToString(c.StateReason),
		LastUpdateStatus: string(c.LastUpdateStatus), LastUpdateReason: aws.ToString(c.LastUpdateStatusReason),
		RevisionID: aws.ToString(c.RevisionId), CodeSHA256: aws.ToString(c.CodeSha256),
	}
}

func fromCreated(o *lambda.CreateFunctionOutput) *providers.Function {
	fn := &providers.Function{Name: aws.ToString(o.FunctionName), ARN: aws.ToString(o.FunctionArn),
		State: string(o.State), StateReason: aws.ToString(o.StateReason),
		LastUpdateStatus: string(o.LastUpdateStatus), LastUpdateReason: aws.ToString(o.LastUpdateStatusReason),
		RevisionID: aws.ToString(o.RevisionId), CodeSHA256: aws.ToString(o.CodeSha256)}
	if v := aws.ToString(o.Version); v != "" && v != "$LATEST" {
		fn.Versions = []string{v}
	}
	return fn
}

func fromUpdatedCode(o *lambda.UpdateFunctionCodeOutput) *providers.Function {
	return &providers.Function{Name: aws.ToString(o.FunctionName), ARN: aws.ToString(o.FunctionArn),
		State: string(o.State), StateReason: aws.ToString(o.StateReason),
		LastUpdateStatus: string(o.LastUpdateStatus), LastUpdateReason: aws.ToString(o.LastUpdateStatusReason),
		RevisionID: aws.ToString(o.RevisionId), CodeSHA256: aws.ToString(o.CodeSha256)}
}

func fromUpdatedConfiguration(o *lambda.UpdateFunctionConfigurationOutput) *providers.Function {
	return &providers.Function{Name: aws.ToString(o.FunctionName), ARN: aws.ToString(o.FunctionArn),
		State: string(o.State), StateReason: aws.ToString(o.StateReason),
		LastUpdateStatus: string(o.LastUpdateStatus), LastUpdateReason: aws.ToString(o.LastUpdateStatusReason),
		RevisionID: aws.ToString(o.RevisionId), CodeSHA256: aws.ToString(o.CodeSha256)}
}

func fromAlias(a types.AliasConfiguration) providers.FunctionAlias {
	out := providers.FunctionAlias{Name: aws.ToString(a.Name), Description: aws.ToString(a.Description), Version: aws.ToString(a.FunctionVersion)}
	if a.RoutingConfig != nil && len(a.RoutingConfig.AdditionalVersionWeights) > 0 {
		out.Weights = map[string]float64{}
		for v, w := range a.RoutingConfig.AdditionalVersionWeights {
			out.Weights[v] = w
		}
	}
	return out
}

// eventSourceAPI is the part of the Lambda API that manages event source
// mappings.
type eventSourceAPI interface {
	lambda.ListEventSourceMappingsAPIClient
	GetFunction(context.Context, *lambda.GetFunctionInput, ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	CreateEventSourceMapping(context.Context, *lambda.CreateEventSourceMappingInput, ...func(*lambda.Options)) (*lambda.CreateEventSourceMappingOutput, error)
	UpdateEventSourceMapping(context.Context, *lambda.UpdateEventSourceMappingInput, ...func(*lambda.Options)) (*lambda.UpdateEventSourceMappingOutput, error)
	DeleteEventSourceMapping(context.Context, *lambda.DeleteEventSourceMappingInput, ...func(*lambda.Options)) (*lambda.DeleteEventSourceMappingOutput, error)
}

// SetEventSources implements providers.Functions.
func (f *Functions) SetEventSources(ctx context.Context, region, name, qualifier string, sources []providers.EventSource) error {
	c, err := f.client(ctx, region)
	if err != nil {
		return err
	}
	es, ok := c.(eventSourceAPI)
	if !ok {
		return fmt.Errorf("event sources of %s: %w", name, providers.ErrUnsupported)
	}
	fn, err := es.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		return f.wrap(err, "get function", region, name)
	}
	target := aws.ToString(fn.Configuration.FunctionArn) + qualified(qualifier)
	existing := map[string]types.EventSourceMappingConfiguration{}
	pages := lambda.NewListEventSourceMappingsPaginator(es, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(target)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return f.wrap(err, "list the event sources of", region, name)
		}
		for _, m := range page.EventSourceMappings {
			// Listing by the function may include its aliases' mappings.
			if arn := aws.ToString(m.FunctionArn); arn == "" || arn == target || arnQualifier(arn) == qualifier {
				existing[aws.ToString(m.EventSourceArn)] = m
			}
		}
	}
	wanted := map[string]bool{}
	for _, s := range sources {
		wanted[s.ARN] = true
		if m, ok := existing[s.ARN]; ok {
			if s.BatchSize == 0 || aws.ToInt32(m.BatchSize) == int32(s.BatchSize) {
				continue
			}
			if _, err := es.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID,
				BatchSize: optionalInt(s.BatchSize), MaximumBatchingWindowInSeconds: optionalInt(s.MaxBatchingWindowSecs)}); err != nil {
				return f.wrap(err, "update event source "+s.ARN+" of", region, name)
			}
			continue
		}
		in := &lambda.CreateEventSourceMappingInput{FunctionName: aws.String(target), EventSourceArn: aws.String(s.ARN), Enabled: aws.Bool(true),
			BatchSize: optionalInt(s.BatchSize), MaximumBatchingWindowInSeconds: optionalInt(s.MaxBatchingWindowSecs)}
		if s.StartingPosition != "" {
			in.StartingPosition = types.EventSourcePosition(s.StartingPosition)
		}
		if _, err := es.CreateEventSourceMapping(ctx, in); err != nil {
			return f.wrap(err, "add event source "+s.ARN+" to", region, name)
		}
	}
	for arn, m := range existing {
		if wanted[arn] {
			continue
		}
		_, err := es.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: m.UUID})
		var missing *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &missing) {
			return f.wrap(err, "remove event source "+arn+" from", region, name)
		}
	}
	return nil
}

// arnQualifier is the version or alias a function ARN names, or "".
func arnQualifier(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) > 7 {
		return parts[7]
	}
	return ""
}
