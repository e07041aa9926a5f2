package awslambda

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// trafficRoutingStage is Aws.LambdaTrafficRoutingStage: point an alias at
// one version ($SIMPLE), split it between two ($WEIGHTED), or move it to the
// newest version once an invocation of that version answers as expected
// ($BLUEGREEN).
type trafficRoutingStage struct{ env *env }

// Type implements stages.Definition.
func (*trafficRoutingStage) Type() string { return TrafficRoutingStage }

// The deployment strategies, as the plugin names them.
const (
	strategySimple    = "$SIMPLE"
	strategyWeighted  = "$WEIGHTED"
	strategyBlueGreen = "$BLUEGREEN"
)

// strategyUsed is the name the plugin reports for each strategy.
var strategyUsed = map[string]string{
	strategySimple:    "SimpleDeploymentStrategy",
	strategyWeighted:  "WeightedDeploymentStrategy",
	strategyBlueGreen: "BlueGreenDeploymentStrategy",
}

// routeConfig is the stage's configuration, in the plugin's fields, then
// what its tasks record.
type routeConfig struct {
	target
	payloadSource
	AliasName          string        `json:"aliasName"`
	DeploymentStrategy string        `json:"deploymentStrategy"`
	VersionNameA       string        `json:"versionNameA"`
	VersionNumberA     versionNumber `json:"versionNumberA"`
	VersionNameB       string        `json:"versionNameB"`
	VersionNumberB     versionNumber `json:"versionNumberB"`
	// TrafficPercentA is version A's share in a weighted split; B gets the
	// rest (the plugin's trafficPercentB is derived, never read).
	TrafficPercentA *int `json:"trafficPercentA"`
	// Blue/green's health check: an invocation of the new version with the
	// payload, whose answer must equal outputArtifact (or lambdaOutput) when
	// one is given, within Timeout seconds.
	HealthCheckType string         `json:"healthCheckType"`
	OutputArtifact  *stageArtifact `json:"outputArtifact"`
	LambdaOutput    string         `json:"lambdaOutput"`
	Timeout         int            `json:"timeout"`
	// DestroyOnFail deletes the version that failed its health check.
	DestroyOnFail bool `json:"destroyOnFail"`

	triggers

	// Not applied yet: refused before the stage runs.
	ProvisionedConcurrentExecutions *int `json:"provisionedConcurrentExecutions"`

	// Recorded by the tasks.
	Target        *providers.FunctionAlias `json:"lambdaTargetAlias"`
	LatestVersion string                   `json:"latestVersionQualifier"`
}

// Validate implements stages.Definition.
func (s *trafficRoutingStage) Validate(st *model.Stage) []model.Problem {
	var c routeConfig
	exprs, p := stages.DecodeConfig(st, &c)
	c.check(s.env, exprs, &p)
	return p
}

func (c *routeConfig) check(e *env, exprs stages.Expressions, p *stages.Problems) {
	c.target.validate(e, exprs, p)
	if c.AliasName == "" && !exprs.Has("aliasName") {
		p.Add("aliasName", "is required: the alias whose traffic the stage routes")
	}
	switch c.DeploymentStrategy {
	case strategySimple:
		checkSelector(c.VersionNameA, string(c.VersionNumberA), "versionNameA", "versionNumberA", exprs, p)
	case strategyWeighted:
		checkSelector(c.VersionNameA, string(c.VersionNumberA), "versionNameA", "versionNumberA", exprs, p)
		checkSelector(c.VersionNameB, string(c.VersionNumberB), "versionNameB", "versionNumberB", exprs, p)
		switch {
		case exprs.Has("trafficPercentA"):
		case c.TrafficPercentA == nil:
			p.Add("trafficPercentA", "is required with %s: version A's share of the traffic, from 0 to 100", strategyWeighted)
		case *c.TrafficPercentA < 0 || *c.TrafficPercentA > 100:
			p.Add("trafficPercentA", "must be from 0 to 100, not %d", *c.TrafficPercentA)
		}
	case strategyBlueGreen:
		if c.HealthCheckType != "" && c.HealthCheckType != "$LAMBDA" && !exprs.Has("healthCheckType") {
			p.Add("healthCheckType", "%q is not $LAMBDA (an invocation of the new version)", c.HealthCheckType)
		}
		c.payloadSource.check(exprs, p)
		if c.OutputArtifact != nil && !exprs.Has("outputArtifact") {
			if _, err := c.OutputArtifact.text("outputArtifact"); err != nil {
				addErr(p, err)
			}
		}
		if c.Timeout < 0 || c.Timeout > 900 {
			p.Add("timeout", "must be from 0 to 900 seconds, not %d", c.Timeout)
		}
	case "":
		if !exprs.Has("deploymentStrategy") {
			p.Add("deploymentStrategy", "is required: %s, %s or %s", strategySimple, strategyWeighted, strategyBlueGreen)
		}
	default:
		if !exprs.Has("deploymentStrategy") {
			p.Add("deploymentStrategy", "%q is not %s, %s or %s", c.DeploymentStrategy, strategySimple, strategyWeighted, strategyBlueGreen)
		}
	}
	if c.ProvisionedConcurrentExecutions != nil && *c.ProvisionedConcurrentExecutions > 0 {
		p.Add("provisionedConcurrentExecutions", "provisioned concurrency is not supported yet; remove it and set it on the alias outside the pipeline")
	}
	c.triggers.check(exprs, p)
}

// Config implements stages.Configurer.
func (s *trafficRoutingStage) Config(e *model.StageExecution) (any, error) {
	var c routeConfig
	p := stages.Decode(e.Context, &c)
	if len(p) == 0 {
		c.check(&env{}, nil, &p)
	}
	return &c, p.Err()
}

// Plan implements stages.Definition: blue/green checks the new version's
// health before it moves the alias.
func (s *trafficRoutingStage) Plan(e *model.StageExecution) ([]string, error) {
	c, err := s.Config(e)
	if err != nil {
		return nil, err
	}
	tasks := []string{UpdateLambdaTrafficTask{}.Name(), VerifyLambdaTrafficTask{}.Name(), UpdateLambdaEventSourcesTask{}.Name()}
	if c.(*routeConfig).DeploymentStrategy == strategyBlueGreen {
		tasks = append([]string{CheckLambdaHealthTask{}.Name()}, tasks...)
	}
	return tasks, nil
}

// routeTask runs a routing task with its configuration and the account's
// functions.
func routeTask(run *stages.Run, act func(c *routeConfig, fns providers.Functions, name string) (stages.Result, error)) (stages.Result, error) {
	c, fail := configOf[*routeConfig](run)
	if fail != nil {
		return *fail, nil
	}
	fns, name, err := c.functions(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	return act(c, fns, name)
}

// route is where the strategy sends the alias, from fn's versions now.
func (c *routeConfig) route(fn *providers.Function) (providers.FunctionAlias, error) {
	a := providers.FunctionAlias{Name: c.AliasName}
	if old := fn.Alias(c.AliasName); old != nil {
		a.Description = old.Description
	}
	switch c.DeploymentStrategy {
	case strategyBlueGreen:
		if c.LatestVersion == "" {
			return a, errors.New("the health check recorded no version to move to")
		}
		a.Version = c.LatestVersion
		return a, nil
	case strategySimple:
		v, err := resolve(fn, c.VersionNameA, string(c.VersionNumberA))
		a.Version = v
		return a, err
	}
	major, err := resolve(fn, c.VersionNameA, string(c.VersionNumberA))
	if err != nil {
		return a, fmt.Errorf("versionNameA: %w", err)
	}
	minor, err := resolve(fn, c.VersionNameB, string(c.VersionNumberB))
	if err != nil {
		return a, fmt.Errorf("versionNameB: %w", err)
	}
	pctA := 100
	if c.TrafficPercentA != nil {
		pctA = *c.TrafficPercentA
	}
	// Lambda takes weights in [0, 1) for a version other than the alias's
	// own: 0% to A is all of it to B, and one version is no split at all.
	switch {
	case major == minor || pctA == 100:
		a.Version = major
	case pctA == 0:
		a.Version = minor
	default:
		a.Version = major
		a.Weights = map[string]float64{minor: math.Round(float64(100-pctA)) / 100}
	}
	return a, nil
}

// UpdateLambdaTrafficTask moves the alias where the strategy says.
type UpdateLambdaTrafficTask struct{ waitingTask }

// Name implements stages.Task.
func (UpdateLambdaTrafficTask) Name() string { return "lambdaTrafficUpdateTask" }

// Execute implements stages.Task.
func (UpdateLambdaTrafficTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return routeTask(run, func(c *routeConfig, fns providers.Functions, name string) (stages.Result, error) {
		fn, wait := waitReady(ctx, fns, c.Region, name)
		if wait != nil {
			return *wait, nil
		}
		a := c.Target
		if a == nil {
			to, err := c.route(fn)
			if err != nil {
				return stages.Failed("route alias %s of %s: %v", c.AliasName, name, err), nil
			}
			a = &to
		}
		if err := fns.SetAlias(ctx, c.Region, name, *a); err != nil {
			return failOrRetry(err, "route alias %s of %s", c.AliasName, name), nil
		}
		out := map[string]any{
			"functionName":                    name,
			"deployment:aliasDeployed":        a.Name,
			"deployment:majorVersionDeployed": a.Version,
			"deployment:strategyUsed":         strategyUsed[c.DeploymentStrategy],
		}
		for v := range a.Weights {
			out["deployment:minorVersionDeployed"] = v
		}
		ctxOut := stages.Record(struct {
			Target providers.FunctionAlias `json:"lambdaTargetAlias"`
		}{*a})
		maps.Copy(ctxOut, out)
		return stages.Result{Status: model.StatusSucceeded, Context: ctxOut, Outputs: out}, nil
	})
}

// VerifyLambdaTrafficTask waits until Lambda reports the alias routed as
// the stage set it.
type VerifyLambdaTrafficTask struct{ waitingTask }

// Name implements stages.Task.
func (VerifyLambdaTrafficTask) Name() string { return "lambdaTrafficUpdateVerificationTask" }

// Execute implements stages.Task.
func (VerifyLambdaTrafficTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return routeTask(run, func(c *routeConfig, fns providers.Functions, name string) (stages.Result, error) {
		if c.Target == nil {
			return stages.Failed("alias %s of %s: the stage recorded no routing to verify", c.AliasName, name), nil
		}
		fn, err := fns.Get(ctx, c.Region, name)
		if err != nil {
			return failOrRetry(err, "read function %s", name), nil
		}
		if sameRouting(fn.Alias(c.AliasName), c.Target) {
			return stages.Succeeded(), nil
		}
		return stages.Running(pollBackoff), nil
	})
}

// sameRouting reports whether the alias routes as want does.
func sameRouting(got, want *providers.FunctionAlias) bool {
	if got == nil || got.Version != want.Version || len(got.Weights) != len(want.Weights) {
		return false
	}
	for v, w := range want.Weights {
		if g, ok := got.Weights[v]; !ok || math.Abs(g-w) > 1e-6 {
			return false
		}
	}
	return true
}

// defaultHealthTimeout bounds a health-check invocation without a timeout.
const defaultHealthTimeout = 60 * time.Second

// CheckLambdaHealthTask invokes the newest version of the function, which
// blue/green is about to move the alias to. When the answer is not healthy
// the alias stays on, or goes back to, the version it served before: the
// new version's share of it is taken away, and the stage fails.
type CheckLambdaHealthTask struct{ waitingTask }

// Name implements stages.Task.
func (CheckLambdaHealthTask) Name() string { return "lambdaBlueGreenHealthCheckTask" }

// Execute implements stages.Task.
func (CheckLambdaHealthTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return routeTask(run, func(c *routeConfig, fns providers.Functions, name string) (stages.Result, error) {
		if c.LatestVersion != "" {
			return stages.Succeeded(), nil
		}
		fn, wait := waitReady(ctx, fns, c.Region, name)
		if wait != nil {
			return *wait, nil
		}
		latest, err := resolve(fn, versionLatest, "")
		if err != nil {
			return stages.Failed("blue/green of %s: %v", name, err), nil
		}
		payload, err := c.payload()
		if err != nil {
			return stages.Failed("%v", err), nil
		}
		var expected *string
		if c.OutputArtifact != nil {
			t, err := c.OutputArtifact.text("outputArtifact")
			if err != nil {
				return stages.Failed("%v", err), nil
			}
			expected = &t
		} else if c.LambdaOutput != "" {
			expected = &c.LambdaOutput
		}
		limit := defaultHealthTimeout
		if c.Timeout > 0 {
			limit = time.Duration(c.Timeout) * time.Second
		}
		ictx, cancel := context.WithTimeout(ctx, limit)
		inv, err := fns.Invoke(ictx, c.Region, name, latest, payload)
		cancel()
		why := ""
		var ans answer
		switch {
		case err != nil && retryable(err):
			return stages.Running(throttleBackoff), nil
		case err != nil:
			why = fmt.Sprintf("the invocation failed: %v", err)
		default:
			ans = read(inv)
			why = ans.failure(expected)
		}
		check := stages.Record(struct {
			Version string `json:"version"`
			Answer  answer `json:"answer"`
			Failure string `json:"failure,omitempty"`
		}{latest, ans, why})
		if why == "" {
			return stages.Result{Status: model.StatusSucceeded,
				Context: map[string]any{"latestVersionQualifier": latest, "healthCheck": check},
				Outputs: map[string]any{"healthCheck": check}}, nil
		}
		moved, err := moveBack(ctx, fns, c, name, fn, latest)
		if err != nil {
			why += "; " + err.Error()
		} else if moved != "" {
			why += "; " + moved
		}
		if c.DestroyOnFail {
			if err := fns.Delete(ctx, c.Region, name, latest); err != nil {
				why += fmt.Sprintf("; deleting version %s: %v", latest, err)
			} else {
				why += fmt.Sprintf("; version %s deleted", latest)
			}
		}
		r := stages.Failed("blue/green health check of %s version %s failed: %s", name, latest, why)
		r.Context["healthCheck"] = check
		r.Outputs = map[string]any{"healthCheck": check, "failureMessage": why}
		return r, nil
	})
}

// moveBack takes the failed version's traffic away from the alias: its
// weight is removed, and an alias that pointed at it goes to the newest
// version before it. It says what it did ("" for nothing).
func moveBack(ctx context.Context, fns providers.Functions, c *routeConfig, name string, fn *providers.Function, failed string) (string, error) {
	cur := fn.Alias(c.AliasName)
	if cur == nil {
		return fmt.Sprintf("alias %s does not exist, so no traffic reached it", c.AliasName), nil
	}
	back := providers.FunctionAlias{Name: cur.Name, Description: cur.Description, Version: cur.Version}
	for v, w := range cur.Weights {
		if v != failed {
			back.Weights = map[string]float64{v: w}
		}
	}
	if back.Version == failed {
		prev, err := resolve(fn, versionPrevious, "")
		if err != nil {
			return "", fmt.Errorf("alias %s serves the failed version and there is none to move it back to: %w", c.AliasName, err)
		}
		back.Version, back.Weights = prev, nil
	}
	if sameRouting(cur, &back) {
		return fmt.Sprintf("alias %s left on version %s", c.AliasName, cur.Version), nil
	}
	if err := fns.SetAlias(ctx, c.Region, name, back); err != nil {
		return "", fmt.Errorf("moving alias %s back: %w", c.AliasName, err)
	}
	return fmt.Sprintf("alias %s moved back to version %s", c.AliasName, back.Version), nil
}
