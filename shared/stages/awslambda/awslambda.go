// Package awslambda is the stage family of Spinnaker's AWS Lambda
// deployment plugin: Aws.LambdaDeploymentStage creates or updates a function
// and publishes a version, Aws.LambdaTrafficRoutingStage points an alias at
// a version or splits it between two (simple, weighted, blue/green with a
// health-check invocation), Aws.LambdaInvokeStage invokes a function and
// Aws.LambdaDeleteStage deletes versions or the function;
// Aws.LambdaUpdateCodeStage replaces an existing function's code. The fields are
// the plugin's, so pipelines written for it run unchanged.
//
// A gradual shift is a sequence of weighted stages with wait stages between
// them (10% → wait → 50% → wait → 100%), and a rollback is a simple routing
// stage to $PREVIOUS, as with the plugin. Every task acts once and reports;
// waiting for Lambda to finish an update is RUNNING with a backoff, so no
// worker is held.
package awslambda

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// The stage types, as the plugin names them.
const (
	DeploymentStage     = "Aws.LambdaDeploymentStage"
	TrafficRoutingStage = "Aws.LambdaTrafficRoutingStage"
	InvokeStage         = "Aws.LambdaInvokeStage"
	DeleteStage         = "Aws.LambdaDeleteStage"
	UpdateCodeStage     = "Aws.LambdaUpdateCodeStage"
)

// Register adds the family's stage types and tasks to r.
func Register(r *stages.Registry) {
	env := &env{}
	r.Register(&deploymentStage{env: env}, CreateLambdaFunctionTask{}, UpdateLambdaCodeTask{},
		UpdateLambdaConfigurationTask{}, UpdateLambdaEventSourcesTask{}, UpdateLambdaAliasesTask{}, PublishLambdaVersionTask{}, LambdaOutputTask{})
	r.Register(&deploymentStage{env: env, codeOnly: true})
	r.Register(&trafficRoutingStage{env: env}, CheckLambdaHealthTask{}, UpdateLambdaTrafficTask{}, VerifyLambdaTrafficTask{})
	r.Register(&invokeStage{env: env}, InvokeLambdaFunctionTask{})
	r.Register(&deleteStage{env: env}, DeleteLambdaFunctionTask{})
}

// UseProviders tells the family's stage types which providers and accounts
// exist, so that saving a pipeline that literally names an unknown account
// is refused. A registry without the family is left as it is.
func UseProviders(r *stages.Registry, p *providers.Registry) {
	def, err := r.Definition(DeploymentStage)
	if err != nil {
		return
	}
	if d, ok := def.(*deploymentStage); ok {
		d.env.providers.Store(p)
	}
}

// env is what the family's stage types share at validation time.
type env struct {
	providers atomic.Pointer[providers.Registry]
}

// How often tasks look again while Lambda finishes an update, and how long
// they wait by default (stageTimeoutMs overrides it).
const (
	pollBackoff     = 2 * time.Second
	throttleBackoff = 10 * time.Second
	defaultTimeout  = 15 * time.Minute
)

// target is where a stage acts: the plugin's account (or credentials),
// region and function name, with cloudProvider when given.
type target struct {
	CloudProvider  string `json:"cloudProvider"`
	Account        string `json:"account"`
	Credentials    string `json:"credentials"`
	Region         string `json:"region"`
	FunctionName   string `json:"functionName"`
	StageTimeoutMs int64  `json:"stageTimeoutMs"`
}

// account is the account the stage names: account, else credentials.
func (t *target) account() string {
	if t.Account != "" {
		return t.Account
	}
	return t.Credentials
}

// validate reports the missing location fields, and a literally written
// account or provider this installation does not have.
func (t *target) validate(e *env, exprs stages.Expressions, p *stages.Problems) {
	if t.account() == "" && !exprs.Has("account") && !exprs.Has("credentials") {
		p.Add("account", "is required: the AWS account to act in")
	}
	if t.Region == "" && !exprs.Has("region") {
		p.Add("region", "is required, such as us-east-1")
	}
	if t.FunctionName == "" && !exprs.Has("functionName") {
		p.Add("functionName", "is required")
	}
	if t.CloudProvider != "" && t.CloudProvider != "aws" && !exprs.Has("cloudProvider") {
		p.Add("cloudProvider", "%q is not aws: Lambda stages act in AWS accounts", t.CloudProvider)
	}
	reg := e.providers.Load()
	if reg == nil || t.account() == "" || exprs.Has("account") || exprs.Has("credentials") {
		return
	}
	field := "account"
	if t.Account == "" {
		field = "credentials"
	}
	if _, err := reg.Functions(t.account(), "aws"); err != nil {
		p.Add(field, "%v", err)
		return
	}
	if a, err := reg.Account(t.account()); err == nil && t.Region != "" && !exprs.Has("region") && !slices.Contains(a.Regions, t.Region) {
		p.Add("region", "account %q has no region %q (its regions: %s)", a.Name, t.Region, strings.Join(a.Regions, ", "))
	}
}

// functions returns the account's Lambda functions and the function's full
// name in the run's application.
func (t *target) functions(run *stages.Run) (providers.Functions, string, error) {
	if run.Services == nil || run.Services.Providers == nil {
		return nil, "", errors.New("this runtime has no cloud providers")
	}
	fns, err := run.Services.Providers.Functions(t.account(), "aws")
	if err != nil {
		return nil, "", err
	}
	return fns, FunctionName(string(run.Execution.Application), t.FunctionName), nil
}

// timeout is the stage's bound on waiting: stageTimeoutMs, or the default.
func timeout(s *model.StageExecution) time.Duration {
	return stages.OverridableTimeout(s, defaultTimeout)
}

// FunctionName is the name a function of app has in AWS, as Spinnaker
// forms it: a name whose first dash-separated part is the application is
// used as it is, any other gets the application and a dash in front
// ("api" in application "shop" is "shop-api").
func FunctionName(app, name string) string {
	if app == "" || name == "" {
		return name
	}
	first, _, _ := strings.Cut(name, "-")
	if first == app {
		return name
	}
	return app + "-" + name
}

// The version selectors of the plugin.
const (
	versionLatest   = "$LATEST"
	versionPrevious = "$PREVIOUS"
	versionOldest   = "$OLDEST"
	versionProvided = "$PROVIDED"
	versionMoving   = "$MOVING"
	versionAll      = "$ALL"
)

// checkSelector reports what is wrong with a version selector for a
// routing stage: one of $LATEST, $PREVIOUS, $OLDEST, $PROVIDED (with its
// number) or a version number.
func checkSelector(sel, number, path, numberPath string, exprs stages.Expressions, p *stages.Problems) {
	switch {
	case exprs.Has(path):
	case sel == "":
		p.Add(path, "is required: $LATEST, $PREVIOUS, $OLDEST, $PROVIDED or a version number")
	case sel == versionLatest, sel == versionPrevious, sel == versionOldest:
	case sel == versionProvided:
		if number == "" && !exprs.Has(numberPath) {
			p.Add(numberPath, "is required with %s: the version number", versionProvided)
		} else if !exprs.Has(numberPath) && !isVersionNumber(number) {
			p.Add(numberPath, "%q is not a version number", number)
		}
	case !isVersionNumber(sel):
		p.Add(path, "%q is not $LATEST, $PREVIOUS, $OLDEST, $PROVIDED or a version number", sel)
	}
}

func isVersionNumber(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0
}

// resolve turns a selector into a published version of fn: $LATEST is the
// newest, $PREVIOUS the one before it, $OLDEST the first still kept. A
// function without the version asked for is an error that says so.
func resolve(fn *providers.Function, sel, number string) (string, error) {
	vs := fn.Versions
	pick := func(i int, what string) (string, error) {
		if i < 0 || i >= len(vs) {
			return "", fmt.Errorf("function %s has no %s version (%s); its published versions: %s", fn.Name, what, sel, listOrNone(vs))
		}
		return vs[i], nil
	}
	switch sel {
	case versionLatest:
		return pick(len(vs)-1, "newest")
	case versionPrevious:
		return pick(len(vs)-2, "previous")
	case versionOldest:
		return pick(0, "oldest")
	case versionProvided:
		sel = number
	}
	for _, v := range vs {
		if v == sel {
			return v, nil
		}
	}
	return "", fmt.Errorf("function %s has no published version %q; its published versions: %s", fn.Name, sel, listOrNone(vs))
}

func listOrNone(vs []string) string {
	if len(vs) == 0 {
		return "none"
	}
	return strings.Join(vs, ", ")
}

// retryable reports whether err is AWS throttling or a conflict with an
// update in progress, after which the task should try again later rather
// than fail the stage.
func retryable(err error) bool {
	var coded interface{ ErrorCode() string }
	if !errors.As(err, &coded) {
		return false
	}
	switch coded.ErrorCode() {
	case "TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded", "ResourceConflictException":
		return true
	}
	return false
}

// failOrRetry turns an error of a cloud call into a result: RUNNING with a
// backoff for throttling and conflicts, TERMINAL with the message otherwise.
func failOrRetry(err error, format string, args ...any) stages.Result {
	if retryable(err) {
		return stages.Running(throttleBackoff)
	}
	return stages.Failed("%s: %v", fmt.Sprintf(format, args...), err)
}

// waitReady reports whether the function takes the next change: nil when it
// does, RUNNING while Lambda is still working on it (or throttles us), and
// TERMINAL when its last update failed.
func waitReady(ctx context.Context, fns providers.Functions, region, name string) (*providers.Function, *stages.Result) {
	fn, err := fns.Get(ctx, region, name)
	if err != nil {
		r := failOrRetry(err, "read function %s", name)
		return nil, &r
	}
	if why, failed := fn.Failed(); failed {
		r := stages.Failed("function %s: its last update failed: %s", name, why)
		return nil, &r
	}
	if !fn.Ready() {
		r := stages.Running(pollBackoff)
		return nil, &r
	}
	return fn, nil
}

// configOf decodes the stage's typed configuration for a task.
func configOf[C any](run *stages.Run) (C, *stages.Result) {
	c, err := stages.ConfigOf[C](run)
	if err != nil {
		r := stages.Failed("%v", err)
		return c, &r
	}
	return c, nil
}
