package awslambda

import (
	"context"
	"fmt"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// invokeStage is Aws.LambdaInvokeStage: invoke the function (its alias, or
// its unpublished version) executionCount times with the payload, and fail
// when an invocation fails.
type invokeStage struct{ env *env }

// Type implements stages.Definition.
func (*invokeStage) Type() string { return InvokeStage }

// invokeConfig is the stage's configuration in the plugin's fields, then
// the answers recorded so far.
type invokeConfig struct {
	target
	payloadSource
	AliasName string `json:"aliasName"`
	// Timeout bounds each invocation, in seconds.
	Timeout        int  `json:"timeout"`
	ExecutionCount *int `json:"executionCount"`

	Results []answer `json:"invokeResultsList"`
}

// count is how many invocations the stage makes: executionCount, or one.
func (c *invokeConfig) count() int {
	if c.ExecutionCount == nil {
		return 1
	}
	return *c.ExecutionCount
}

func (c *invokeConfig) check(e *env, exprs stages.Expressions, p *stages.Problems) {
	c.target.validate(e, exprs, p)
	c.payloadSource.check(exprs, p)
	if c.ExecutionCount != nil && (*c.ExecutionCount < 0 || *c.ExecutionCount > 100) {
		p.Add("executionCount", "must be from 0 to 100, not %d", *c.ExecutionCount)
	}
	if c.Timeout < 0 || c.Timeout > 900 {
		p.Add("timeout", "must be from 0 to 900 seconds, not %d", c.Timeout)
	}
}

// Validate implements stages.Definition.
func (s *invokeStage) Validate(st *model.Stage) []model.Problem {
	var c invokeConfig
	exprs, p := stages.DecodeConfig(st, &c)
	c.check(s.env, exprs, &p)
	return p
}

// Config implements stages.Configurer.
func (s *invokeStage) Config(e *model.StageExecution) (any, error) {
	var c invokeConfig
	p := stages.Decode(e.Context, &c)
	if len(p) == 0 {
		c.check(&env{}, nil, &p)
	}
	return &c, p.Err()
}

// Plan implements stages.Definition.
func (*invokeStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{InvokeLambdaFunctionTask{}.Name()}, nil
}

// InvokeLambdaFunctionTask makes one invocation per call and records its
// answer, until the stage has made executionCount of them; then it reports
// them all (invokeResultsList) and fails if any failed.
type InvokeLambdaFunctionTask struct{}

// Name implements stages.Task.
func (InvokeLambdaFunctionTask) Name() string { return "lambdaInvokeTask" }

// Execute implements stages.Task.
func (InvokeLambdaFunctionTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	c, fail := configOf[*invokeConfig](run)
	if fail != nil {
		return *fail, nil
	}
	fns, name, err := c.functions(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if len(c.Results) >= c.count() {
		return finishInvocations(c, name), nil
	}
	payload, err := c.payload()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	limit := defaultHealthTimeout
	if c.Timeout > 0 {
		limit = time.Duration(c.Timeout) * time.Second
	}
	ictx, cancel := context.WithTimeout(ctx, limit)
	inv, err := fns.Invoke(ictx, c.Region, name, c.AliasName, payload)
	cancel()
	var ans answer
	switch {
	case err != nil && retryable(err):
		return stages.Running(throttleBackoff), nil
	case err != nil:
		ans = answer{ErrorMessage: err.Error(), FunctionErr: "InvocationFailed"}
	default:
		ans = read(inv)
	}
	results := append(append([]answer(nil), c.Results...), ans)
	// Stored before the next invocation, so a retried call never repeats
	// one that was answered.
	return stages.Result{Status: model.StatusRunning, Backoff: time.Millisecond,
		Context: stages.Record(struct {
			Results []answer `json:"invokeResultsList"`
		}{results})}, nil
}

// finishInvocations reports the answers, failing the stage when any
// invocation failed.
func finishInvocations(c *invokeConfig, name string) stages.Result {
	out := stages.Record(struct {
		Results []answer `json:"invokeResultsList"`
		Name    string   `json:"functionName"`
	}{orNoAnswers(c.Results), name})
	var errs []string
	for i, a := range c.Results {
		if a.FunctionErr != "" || a.ErrorMessage != "" {
			errs = append(errs, fmt.Sprintf("invocation %d of %s failed: %s", i+1, name, a.ErrorMessage))
		}
	}
	if len(errs) == 0 {
		return stages.Result{Status: model.StatusSucceeded, Outputs: out}
	}
	r := stages.Failed("%s", errs[0])
	stages.SetErrors(r.Context, errs)
	r.Outputs = out
	return r
}

func orNoAnswers(a []answer) []answer {
	if a == nil {
		return []answer{}
	}
	return a
}
