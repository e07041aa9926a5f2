package awslambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// deploymentStage is Aws.LambdaDeploymentStage: create the function, or
// update its code and configuration, point the listed aliases at its
// unpublished version, and publish a version when publish is set. With
// codeOnly it is Aws.LambdaUpdateCodeStage: replace an existing function's
// code and publish a version when publish is set.
type deploymentStage struct {
	env      *env
	codeOnly bool
}

// Type implements stages.Definition.
func (s *deploymentStage) Type() string {
	if s.codeOnly {
		return UpdateCodeStage
	}
	return DeploymentStage
}

// deployConfig is the stage's configuration: the plugin's fields, plus
// codeArtifact (an s3/object artifact, or an embedded/base64 zip) as another
// source of code than s3bucket and s3key; then what its tasks record.
type deployConfig struct {
	target
	Runtime      string            `json:"runtime"`
	Handler      string            `json:"handler"`
	Role         string            `json:"role"`
	Description  string            `json:"description"`
	S3Bucket     string            `json:"s3bucket"`
	S3Key        string            `json:"s3key"`
	CodeArtifact *model.Artifact   `json:"codeArtifact"`
	MemorySize   int               `json:"memorySize"`
	Timeout      int               `json:"timeout"`
	Publish      bool              `json:"publish"`
	EnvVariables map[string]string `json:"envVariables"`
	Tags         map[string]string `json:"tags"`
	Layers       []string          `json:"layers"`
	SubnetIDs    []string          `json:"subnetIds"`
	SecurityGrps []string          `json:"securityGroupIds"`
	VpcID        string            `json:"vpcId"`
	// The plugin's form saves the key under any of these names.
	KMSKeyArn           string `json:"KMSKeyArn"`
	KmsKeyArn           string `json:"kmskeyArn"`
	EncryptionKMSKeyArn string `json:"encryptionKMSKeyArn"`
	DeadLetterConfig    struct {
		TargetArn string `json:"targetArn"`
	} `json:"deadLetterConfig"`
	TracingConfig struct {
		Mode string `json:"mode"`
	} `json:"tracingConfig"`
	EnableLambdaAtEdge bool      `json:"enableLambdaAtEdge"`
	Aliases            aliasList `json:"aliases"`

	triggers

	// ReservedConcurrentExecutions reserves concurrency for the function;
	// without it the function has no reservation, as with the plugin.
	ReservedConcurrentExecutions *int `json:"reservedConcurrentExecutions"`

	// Fields the plugin has that gennaker does not apply yet: a pipeline
	// that sets them is refused before it runs, never run half-applied.
	TargetGroups string `json:"targetGroups"`

	deployRecord
}

// deployRecord is what the stage's tasks record, in the plugin's names.
type deployRecord struct {
	Created            *bool  `json:"lambdaCreated,omitempty"`
	FullName           string `json:"deployedFunctionName,omitempty"`
	FunctionARN        string `json:"functionARN,omitempty"`
	OriginalRevisionID string `json:"originalRevisionId,omitempty"`
	CodeUpdated        bool   `json:"lambdaCodeUpdated,omitempty"`
	ConfigUpdated      bool   `json:"lambdaConfigUpdated,omitempty"`
	AliasesUpdated     bool   `json:"lambdaAliasesUpdated,omitempty"`
	VersionPublished   bool   `json:"lambdaVersionPublished,omitempty"`
	VersionID          string `json:"versionId,omitempty"`
}

// aliasList is the plugin's aliases: a list of names, or one name.
type aliasList []string

// UnmarshalJSON implements json.Unmarshaler.
func (a *aliasList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = aliasList{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("must be an alias name or a list of them")
	}
	*a = list
	return nil
}

// names are the aliases to set, trimmed, blanks dropped.
func (a aliasList) names() []string {
	var out []string
	for _, n := range a {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// The artifact types code can come from.
const (
	s3Artifact       = "s3/object"
	embeddedArtifact = "embedded/base64"
)

// code is where the function's code comes from.
func (c *deployConfig) code() (providers.FunctionCode, error) {
	if a := c.CodeArtifact; a != nil {
		switch a.Type {
		case s3Artifact:
			ref := strings.TrimPrefix(a.Reference, "s3://")
			bucket, key, ok := strings.Cut(ref, "/")
			if !ok || bucket == "" || key == "" {
				return providers.FunctionCode{}, fieldErr("codeArtifact.reference", "%q is not s3://bucket/key", a.Reference)
			}
			return providers.FunctionCode{S3Bucket: bucket, S3Key: key, S3ObjectVersion: a.Version}, nil
		case embeddedArtifact:
			zip, err := base64.StdEncoding.DecodeString(a.Reference)
			if err != nil || len(zip) == 0 {
				return providers.FunctionCode{}, fieldErr("codeArtifact.reference", "must hold the zip archive in base64")
			}
			return providers.FunctionCode{ZipFile: zip}, nil
		default:
			return providers.FunctionCode{}, fieldErr("codeArtifact.type", "%q is not supported; use %s (reference s3://bucket/key) or %s (a zip in base64)", a.Type, s3Artifact, embeddedArtifact)
		}
	}
	return providers.FunctionCode{S3Bucket: c.S3Bucket, S3Key: c.S3Key}, nil
}

// spec is the function the stage asks for, under its full name.
func (c *deployConfig) spec(name string, code providers.FunctionCode) providers.FunctionSpec {
	kms := c.KmsKeyArn
	if kms == "" {
		kms = c.KMSKeyArn
	}
	if kms == "" {
		kms = c.EncryptionKMSKeyArn
	}
	return providers.FunctionSpec{
		Name: name, Description: c.Description, Runtime: c.Runtime, Handler: c.Handler, Role: c.Role,
		MemorySize: c.MemorySize, Timeout: c.Timeout, Environment: c.EnvVariables, Tags: c.Tags, Layers: c.Layers,
		SubnetIDs: c.SubnetIDs, SecurityGroupIDs: c.SecurityGrps, DeadLetterTarget: c.DeadLetterConfig.TargetArn,
		TracingMode: c.TracingConfig.Mode, KMSKeyARN: kms, Publish: c.Publish, Code: code,
		ReservedConcurrency: c.ReservedConcurrentExecutions,
	}
}

// Validate implements stages.Definition: the plugin's required fields
// (account, region, functionName, runtime, handler, role, and the code), the
// Lambda@Edge limits when enableLambdaAtEdge is set, and the fields gennaker
// does not apply yet.
func (s *deploymentStage) Validate(st *model.Stage) []model.Problem {
	var c deployConfig
	exprs, p := stages.DecodeConfig(st, &c)
	c.check(s.env, s.codeOnly, exprs, &p)
	return p
}

func (c *deployConfig) check(e *env, codeOnly bool, exprs stages.Expressions, p *stages.Problems) {
	c.target.validate(e, exprs, p)
	for _, f := range []struct{ path, v, what string }{
		{"runtime", c.Runtime, "such as python3.12 or nodejs20.x"},
		{"handler", c.Handler, "such as index.handler"},
		{"role", c.Role, "the ARN of the function's execution role"},
	} {
		if f.v == "" && !exprs.Has(f.path) && !codeOnly {
			p.Add(f.path, "is required: %s", f.what)
		}
	}
	switch {
	case exprs.Has("codeArtifact"):
	case c.CodeArtifact != nil:
		if _, err := c.code(); err != nil {
			addErr(p, err)
		}
	default:
		if c.S3Bucket == "" && !exprs.Has("s3bucket") {
			p.Add("s3bucket", "is required: the S3 bucket of the function's zip (or give codeArtifact)")
		}
		if c.S3Key == "" && !exprs.Has("s3key") {
			p.Add("s3key", "is required: the S3 key of the function's zip (or give codeArtifact)")
		}
	}
	if c.MemorySize < 0 {
		p.Add("memorySize", "must be a positive number of MB")
	}
	if c.Timeout < 0 {
		p.Add("timeout", "must be a positive number of seconds")
	}
	if c.EnableLambdaAtEdge {
		c.checkEdge(exprs, p)
	}
	if strings.TrimSpace(c.TargetGroups) != "" {
		p.Add("targetGroups", "registering a function with a target group is not supported yet; remove it and register the function with the target group outside the pipeline")
	}
	c.triggers.check(exprs, p)
	if c.ReservedConcurrentExecutions != nil && *c.ReservedConcurrentExecutions < 0 {
		p.Add("reservedConcurrentExecutions", "must be 0 or more, not %d", *c.ReservedConcurrentExecutions)
	}
}

// checkEdge holds a Lambda@Edge function to CloudFront's limits.
func (c *deployConfig) checkEdge(exprs stages.Expressions, p *stages.Problems) {
	if c.Region != "" && c.Region != "us-east-1" && !exprs.Has("region") {
		p.Add("region", "Lambda@Edge functions must be deployed in us-east-1, not %s", c.Region)
	}
	if len(c.EnvVariables) > 0 {
		p.Add("envVariables", "Lambda@Edge functions cannot have environment variables")
	}
	if c.Timeout > 5 {
		p.Add("timeout", "Lambda@Edge functions time out after at most 5 seconds, not %d", c.Timeout)
	}
	if c.MemorySize > 128 {
		p.Add("memorySize", "Lambda@Edge functions have at most 128 MB, not %d", c.MemorySize)
	}
	if c.VpcID != "" || len(c.SubnetIDs) > 0 || len(c.SecurityGrps) > 0 {
		p.Add("vpcId", "Lambda@Edge functions cannot be in a VPC (no vpcId, subnetIds or securityGroupIds)")
	}
}

// Config implements stages.Configurer.
func (s *deploymentStage) Config(e *model.StageExecution) (any, error) {
	var c deployConfig
	p := stages.Decode(e.Context, &c)
	if len(p) == 0 {
		c.check(&env{}, s.codeOnly, nil, &p)
	}
	if s.codeOnly {
		no := false
		c.Created = &no // the function must exist already
	}
	return &c, p.Err()
}

// Plan implements stages.Definition.
func (s *deploymentStage) Plan(*model.StageExecution) ([]string, error) {
	if s.codeOnly {
		return []string{UpdateLambdaCodeTask{}.Name(), PublishLambdaVersionTask{}.Name(), LambdaOutputTask{}.Name()}, nil
	}
	return []string{CreateLambdaFunctionTask{}.Name(), UpdateLambdaCodeTask{}.Name(), UpdateLambdaConfigurationTask{}.Name(),
		UpdateLambdaEventSourcesTask{}.Name(), UpdateLambdaAliasesTask{}.Name(), PublishLambdaVersionTask{}.Name(), LambdaOutputTask{}.Name()}, nil
}

// waitingTask is a deployment task that may wait for Lambda to finish an
// earlier change, bounded by the stage's timeout.
type waitingTask struct{}

// Timeout implements stages.TimeoutTask.
func (waitingTask) Timeout(s *model.StageExecution) time.Duration { return timeout(s) }

// deployTask runs a deployment task with its configuration and the
// account's functions.
func deployTask(run *stages.Run, act func(c *deployConfig, fns providers.Functions, name string) (stages.Result, error)) (stages.Result, error) {
	c, fail := configOf[*deployConfig](run)
	if fail != nil {
		return *fail, nil
	}
	fns, name, err := c.functions(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	return act(c, fns, name)
}

// CreateLambdaFunctionTask creates the function when it does not exist, or
// records the revision it is at when it does.
type CreateLambdaFunctionTask struct{ waitingTask }

// Name implements stages.Task.
func (CreateLambdaFunctionTask) Name() string { return "lambdaCreateTask" }

// Execute implements stages.Task.
func (CreateLambdaFunctionTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return deployTask(run, func(c *deployConfig, fns providers.Functions, name string) (stages.Result, error) {
		if c.Created != nil {
			return stages.Succeeded(), nil
		}
		fn, err := fns.Get(ctx, c.Region, name)
		if err == nil {
			rec := deployRecord{Created: new(bool), FullName: name, FunctionARN: fn.ARN, OriginalRevisionID: fn.RevisionID}
			return recorded(rec, "lambdaCreated", "originalRevisionId"), nil
		}
		if !errors.Is(err, providers.ErrNotFound) {
			return failOrRetry(err, "read function %s", name), nil
		}
		code, err := c.code()
		if err != nil {
			return stages.Failed("%v", err), nil
		}
		created, err := fns.Create(ctx, c.Region, c.spec(name, code))
		if errors.Is(err, providers.ErrExists) {
			// Created by an earlier try of this task: read it next time.
			return stages.Running(time.Millisecond), nil
		}
		if err != nil {
			return failOrRetry(err, "create function %s", name), nil
		}
		yes := true
		rec := deployRecord{Created: &yes, FullName: name, FunctionARN: created.ARN, OriginalRevisionID: created.RevisionID}
		if len(created.Versions) > 0 {
			rec.VersionPublished, rec.VersionID = true, created.Versions[len(created.Versions)-1]
		}
		return recorded(rec, "lambdaCreated", "originalRevisionId"), nil
	})
}

// recorded is a success that records rec in the context and the named
// fields in the outputs too.
func recorded(rec any, outputs ...string) stages.Result {
	ctx := stages.Record(rec)
	out := map[string]any{}
	for _, k := range outputs {
		if v, ok := ctx[k]; ok {
			out[k] = v
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Context: ctx, Outputs: out}
}

// justCreated reports whether this stage created the function, which then
// has the code and configuration asked for already.
func (c *deployConfig) justCreated() bool { return c.Created != nil && *c.Created }

// UpdateLambdaCodeTask replaces an existing function's code.
type UpdateLambdaCodeTask struct{ waitingTask }

// Name implements stages.Task.
func (UpdateLambdaCodeTask) Name() string { return "lambdaUpdateCodeTask" }

// Execute implements stages.Task.
func (UpdateLambdaCodeTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return deployTask(run, func(c *deployConfig, fns providers.Functions, name string) (stages.Result, error) {
		if c.justCreated() || c.CodeUpdated {
			return stages.Succeeded(), nil
		}
		if _, wait := waitReady(ctx, fns, c.Region, name); wait != nil {
			return *wait, nil
		}
		code, err := c.code()
		if err != nil {
			return stages.Failed("%v", err), nil
		}
		if _, err := fns.UpdateCode(ctx, c.Region, name, code); err != nil {
			return failOrRetry(err, "update the code of %s", name), nil
		}
		return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{"lambdaCodeUpdated": true}}, nil
	})
}

// UpdateLambdaConfigurationTask sets an existing function's configuration,
// once Lambda has finished updating its code.
type UpdateLambdaConfigurationTask struct{ waitingTask }

// Name implements stages.Task.
func (UpdateLambdaConfigurationTask) Name() string { return "lambdaUpdateConfigTask" }

// Execute implements stages.Task.
func (UpdateLambdaConfigurationTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return deployTask(run, func(c *deployConfig, fns providers.Functions, name string) (stages.Result, error) {
		if c.justCreated() || c.ConfigUpdated {
			return stages.Succeeded(), nil
		}
		if _, wait := waitReady(ctx, fns, c.Region, name); wait != nil {
			return *wait, nil
		}
		if _, err := fns.UpdateConfiguration(ctx, c.Region, c.spec(name, providers.FunctionCode{})); err != nil {
			return failOrRetry(err, "update the configuration of %s", name), nil
		}
		return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{"lambdaConfigUpdated": true}}, nil
	})
}

// aliasDescription describes the aliases the deployment stage creates.
const aliasDescription = "Created by gennaker"

// UpdateLambdaAliasesTask points each of the stage's aliases at the
// function's unpublished version ($LATEST), as the plugin does.
type UpdateLambdaAliasesTask struct{ waitingTask }

// Name implements stages.Task.
func (UpdateLambdaAliasesTask) Name() string { return "lambdaUpdateAliasesTask" }

// Execute implements stages.Task.
func (UpdateLambdaAliasesTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return deployTask(run, func(c *deployConfig, fns providers.Functions, name string) (stages.Result, error) {
		aliases := c.Aliases.names()
		if len(aliases) == 0 || c.AliasesUpdated {
			return stages.Result{Status: model.StatusSucceeded, Outputs: map[string]any{"lambdaAliasesUpdated": c.AliasesUpdated}}, nil
		}
		if _, wait := waitReady(ctx, fns, c.Region, name); wait != nil {
			return *wait, nil
		}
		for _, a := range aliases {
			if err := fns.SetAlias(ctx, c.Region, name, providers.FunctionAlias{Name: a, Version: versionLatest, Description: aliasDescription}); err != nil {
				return failOrRetry(err, "set alias %s of %s", a, name), nil
			}
		}
		return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{"lambdaAliasesUpdated": true},
			Outputs: map[string]any{"lambdaAliasesUpdated": true}}, nil
	})
}

// PublishLambdaVersionTask publishes a version of an updated function when
// the stage asks for one. Lambda answers with the newest version, publishing
// none, when the code and configuration are that version's already.
type PublishLambdaVersionTask struct{ waitingTask }

// Name implements stages.Task.
func (PublishLambdaVersionTask) Name() string { return "lambdaPublishVersionTask" }

// Execute implements stages.Task.
func (PublishLambdaVersionTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return deployTask(run, func(c *deployConfig, fns providers.Functions, name string) (stages.Result, error) {
		if c.justCreated() || !c.Publish || c.VersionPublished {
			return stages.Result{Status: model.StatusSucceeded, Outputs: map[string]any{"lambdaVersionPublished": c.VersionPublished}}, nil
		}
		fn, wait := waitReady(ctx, fns, c.Region, name)
		if wait != nil {
			return *wait, nil
		}
		v, err := fns.Publish(ctx, c.Region, name, fn.RevisionID, c.Description)
		if err != nil {
			return failOrRetry(err, "publish a version of %s", name), nil
		}
		return stages.Result{Status: model.StatusSucceeded,
			Context: map[string]any{"lambdaVersionPublished": true, "versionId": v, "newRevisionId": fn.RevisionID},
			Outputs: map[string]any{"lambdaVersionPublished": true}}, nil
	})
}

// LambdaOutputTask waits until Lambda has finished with the function, then
// gives later stages what the deployment did and the function as it is.
type LambdaOutputTask struct{ waitingTask }

// Name implements stages.Task.
func (LambdaOutputTask) Name() string { return "lambdaOutputTask" }

// Execute implements stages.Task.
func (LambdaOutputTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return deployTask(run, func(c *deployConfig, fns providers.Functions, name string) (stages.Result, error) {
		fn, wait := waitReady(ctx, fns, c.Region, name)
		if wait != nil {
			return *wait, nil
		}
		out := stages.Record(c.deployRecord)
		delete(out, "deployedFunctionName")
		if c.Created == nil {
			out["lambdaCreated"] = false
		}
		out["lambdaVersionPublished"] = c.VersionPublished
		out["functionName"] = name
		out["functionARN"] = fn.ARN
		out["revisionId"] = fn.RevisionID
		out["lambdaObject"] = stages.Record(lambdaObject(fn, c.account(), c.Region))
		return stages.Result{Status: model.StatusSucceeded, Outputs: out}, nil
	})
}

// lambdaObject is a function as Spinnaker's clouddriver describes it.
func lambdaObject(fn *providers.Function, account, region string) any {
	return struct {
		Account      string                    `json:"account"`
		Region       string                    `json:"region"`
		FunctionName string                    `json:"functionName"`
		FunctionArn  string                    `json:"functionArn"`
		RevisionID   string                    `json:"revisionId"`
		State        string                    `json:"state,omitempty"`
		Versions     []string                  `json:"versions"`
		Aliases      []providers.FunctionAlias `json:"aliasConfigurations"`
	}{account, region, fn.Name, fn.ARN, fn.RevisionID, fn.State, orEmpty(fn.Versions), fn.Aliases}
}

func orEmpty(vs []string) []string {
	if vs == nil {
		return []string{}
	}
	return vs
}

// fieldError is a configuration problem found while a task runs, with the
// JSON path of the field to fix.
type fieldError struct{ path, msg string }

func (e *fieldError) Error() string { return e.path + ": " + e.msg }

func fieldErr(path, format string, args ...any) error {
	return &fieldError{path: path, msg: fmt.Sprintf(format, args...)}
}

// addErr records err as a problem at its field's path.
func addErr(p *stages.Problems, err error) {
	var fe *fieldError
	if errors.As(err, &fe) {
		p.Add(fe.path, "%s", fe.msg)
		return
	}
	p.Add("", "%v", err)
}
