package cluster

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gennaker/gennaker/providers"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
)

// rollingRedBlackStrategy creates the new server group empty and grows it
// through targetPercentages of the desired capacity, waiting at each step
// until its instances are up; the load balancer spreads traffic over the
// old and new instances meanwhile, and the old server groups keep their
// full capacity. After each step it waits delayBeforeCleanup and runs
// pipelineBeforeCleanup (a validation pipeline, awaited; its failure fails
// the deploy, which rollback.onFailure undoes), as orca does. After the last
// step the old ones are disabled, and scaled down if scaleDown is set.
type rollingRedBlackStrategy struct {
	// TargetPercentages are the steps, ascending to 100 (default 50, 100).
	TargetPercentages     []int          `json:"targetPercentages"`
	DelayBeforeCleanup    int            `json:"delayBeforeCleanup"`
	PipelineBeforeCleanup *beforeCleanup `json:"pipelineBeforeCleanup"`
	ScaleDown             bool           `json:"scaleDown"`
}

// beforeCleanup is a rolling red/black's pipelineBeforeCleanup.
type beforeCleanup struct {
	Application string         `json:"application"`
	PipelineID  string         `json:"pipelineId"`
	Parameters  map[string]any `json:"pipelineParameters"`
}

func (s *rollingRedBlackStrategy) decode(d fieldDecoder) stages.Problems {
	p := decodeFields(d, s)
	at := "pipelineBeforeCleanup"
	if d.inClusters {
		at = stages.Path("clusters", 0, at)
	}
	nameKind(p, at, "must be {application, pipelineId, pipelineParameters}")
	return p
}

func (s *rollingRedBlackStrategy) validate(path string, exprs stages.Expressions, p *stages.Problems) {
	checkNotNegative(path, "delayBeforeCleanup", s.DelayBeforeCleanup, exprs, p)
	if at := stages.Path(path, "targetPercentages"); !exprs.Has(at) && !hasProblem(*p, at) {
		if _, err := s.percentages(); err != nil {
			p.Add(at, "%v", err)
		}
	}
}

func (s *rollingRedBlackStrategy) plan() ([]string, error) {
	pcts, err := s.percentages()
	if err != nil {
		return nil, fmt.Errorf("targetPercentages %w", err)
	}
	steps := []string{CreateServerGroupTask{}.Name()}
	for range pcts {
		steps = append(steps, ScaleTargetServerGroupTask{}.Name(), WaitForUpInstancesTask{}.Name())
		if s.DelayBeforeCleanup > 0 {
			steps = append(steps, waitBeforeCleanup)
		}
		if s.beforeCleanup() != nil {
			steps = append(steps, StartPipelineBeforeCleanupTask{}.Name(), MonitorPipelineBeforeCleanupTask{}.Name())
		}
	}
	steps = append(steps, DisableOldServerGroupsTask{}.Name())
	if s.ScaleDown {
		steps = append(steps, ScaleDownOldServerGroupsTask{}.Name())
	}
	return lockedDeploy(steps...), nil
}

// delay implements delayer.
func (s *rollingRedBlackStrategy) delay(step string) time.Duration {
	if step == waitBeforeCleanup {
		return time.Duration(s.DelayBeforeCleanup) * time.Second
	}
	return 0
}

// initialCapacity implements emptyStart: the new server group is grown
// step by step.
func (s *rollingRedBlackStrategy) initialCapacity(c providers.Capacity) providers.Capacity {
	return providers.Capacity{Min: 0, Max: c.Max, Desired: 0}
}

// percentages are the rolling steps: ascending percentages ending at 100
// (default [50, 100]).
func (s *rollingRedBlackStrategy) percentages() ([]int, error) {
	if len(s.TargetPercentages) == 0 {
		return []int{50, 100}, nil
	}
	pcts := slices.Clone(s.TargetPercentages)
	prev := 0
	for _, p := range pcts {
		if p <= prev || p > 100 {
			return nil, fmt.Errorf("must rise from above 0 to 100, got %v", pcts)
		}
		prev = p
	}
	if prev != 100 {
		pcts = append(pcts, 100)
	}
	return pcts, nil
}

// beforeCleanup is the validation pipeline to run after each step; nil
// when it names no pipeline (orca runs it only with both application and
// pipelineId).
func (s *rollingRedBlackStrategy) beforeCleanup() *beforeCleanup {
	b := s.PipelineBeforeCleanup
	if b == nil || b.Application == "" || b.PipelineID == "" {
		return nil
	}
	return b
}

// rollingOf returns the deploy's rolling red/black strategy.
func rollingOf(d *deployConfig) (*rollingRedBlackStrategy, error) {
	r, ok := d.strategy().(*rollingRedBlackStrategy)
	if !ok {
		return nil, fmt.Errorf("the cluster's strategy is not rollingredblack")
	}
	return r, nil
}

// ScaleTargetServerGroupTask grows the new server group of a rolling
// red/black to the next of its targetPercentages of the desired capacity.
// Each of its occurrences in the plan is one step.
type ScaleTargetServerGroupTask struct{ cleansUpOnCancel }

// Name implements Task.
func (ScaleTargetServerGroupTask) Name() string { return "ScaleTargetServerGroup" }

// Execute implements Task.
func (t ScaleTargetServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if r := keepClusterLock(ctx, run, d); r != nil {
		return *r, nil
	}
	spec, err := d.resolve(run)
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	rolling, err := rollingOf(d)
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	pcts, err := rolling.percentages()
	if err != nil {
		return deployFailed(ctx, run, d, "targetPercentages %v", err), nil
	}
	step := stepOf(run, t.Name())
	if step >= len(pcts) {
		return deployFailed(ctx, run, d, "rolling step %d has no target percentage (targetPercentages %v)", step+1, pcts), nil
	}
	pct := pcts[step]
	n := int(math.Ceil(float64(spec.capacity.Desired) * float64(pct) / 100))
	l, name, c, err := d.targetCloud(run)
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	capacity := providers.Capacity{Min: min(spec.capacity.Min, n), Max: spec.capacity.Max, Desired: n}
	if err := c.ServerGroups.Resize(ctx, l.Region, name, capacity); err != nil {
		return deployFailed(ctx, run, d, "resize %s to %d%% (%d instances): %v", name, pct, n, err), nil
	}
	return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(rollingTarget{pct, n})}, nil
}

// rollingTarget is the capacity a rolling step resized the new server
// group to: a percentage of the desired capacity, and the instances it
// makes.
type rollingTarget struct {
	Percentage int `json:"targetPercentage"`
	Desired    int `json:"targetDesired"`
}

// stepOf is which rolling step the running task belongs to: how many
// earlier occurrences of the task name the plan has.
func stepOf(run *stages.Run, name string) int {
	step := 0
	for _, task := range run.Stage.Tasks[:max(taskIndex(run.Stage), 0)] {
		if task.Name == name {
			step++
		}
	}
	return step
}

// StartPipelineBeforeCleanupTask starts the step's validation pipeline with
// orca's parameters: pipelineParameters plus deployedServerGroup and
// sourceServerGroup ({region, account, cloudProvider, serverGroupName}) and
// percentageComplete.
type StartPipelineBeforeCleanupTask struct{ cleansUpOnCancel }

// Name implements Task.
func (StartPipelineBeforeCleanupTask) Name() string { return "StartPipelineBeforeCleanup" }

// Execute implements Task.
func (t StartPipelineBeforeCleanupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if r := keepClusterLock(ctx, run, d); r != nil {
		return *r, nil
	}
	rolling, err := rollingOf(d)
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	before := rolling.beforeCleanup()
	if before == nil {
		return deployFailed(ctx, run, d, "pipelineBeforeCleanup: names no pipeline"), nil
	}
	pcts, err := rolling.percentages()
	if err != nil {
		return deployFailed(ctx, run, d, "targetPercentages %v", err), nil
	}
	step := stepOf(run, t.Name())
	if step >= len(pcts) {
		return deployFailed(ctx, run, d, "pipelineBeforeCleanup %d has no target percentage (targetPercentages %v)", step+1, pcts), nil
	}
	l, name, c, err := d.targetCloud(run)
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	coords := func(sg *string) serverGroupCoords {
		return serverGroupCoords{Region: l.Region, Account: l.Account, CloudProvider: c.Account.Provider, ServerGroupName: sg}
	}
	var source *string
	if sources := d.SourceServerGroups; len(sources) > 0 {
		source = &sources[len(sources)-1]
	}
	// Orca's parameters win over pipelineParameters of the same name.
	params := stages.Record(beforeCleanupParameters{
		DeployedServerGroup: coords(&name),
		SourceServerGroup:   coords(source),
		PercentageComplete:  pcts[step],
	})
	for k, v := range before.Parameters {
		if _, orcas := params[k]; !orcas {
			params[k] = v
		}
	}
	id, _, err := startChildPipeline(ctx, run, childPipeline{
		Application: before.Application, PipelineID: before.PipelineID, Parameters: params,
		Key: fmt.Sprintf("beforeCleanup/%d", step),
	})
	if err != nil {
		return deployFailed(ctx, run, d, "pipelineBeforeCleanup at %d%%: %v", pcts[step], err), nil
	}
	// A retried step replaces its own entry rather than add another.
	runs := append(slices.Clone(d.BeforeCleanupRuns[:min(step, len(d.BeforeCleanupRuns))]),
		beforeCleanupRun{PercentageComplete: pcts[step], ExecutionID: string(id)})
	return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(struct {
		ExecutionID string             `json:"pipelineBeforeCleanupExecutionId"`
		Runs        []beforeCleanupRun `json:"pipelineBeforeCleanupExecutions"`
	}{string(id), runs})}, nil
}

// beforeCleanupParameters are the parameters orca adds to a validation
// pipeline's pipelineParameters.
type beforeCleanupParameters struct {
	DeployedServerGroup serverGroupCoords `json:"deployedServerGroup"`
	SourceServerGroup   serverGroupCoords `json:"sourceServerGroup"`
	PercentageComplete  int               `json:"percentageComplete"`
}

// serverGroupCoords name a server group in a validation pipeline's
// parameters, as orca passes them.
type serverGroupCoords struct {
	Region        string `json:"region"`
	Account       string `json:"account"`
	CloudProvider string `json:"cloudProvider"`
	// ServerGroupName is null for a cluster that had no server group.
	ServerGroupName *string `json:"serverGroupName"`
}

// beforeCleanupRun is a validation pipeline run of one rolling step, as
// StartPipelineBeforeCleanup records it.
type beforeCleanupRun struct {
	PercentageComplete int    `json:"percentageComplete"`
	ExecutionID        string `json:"executionId"`
}

// MonitorPipelineBeforeCleanupTask waits for the step's validation
// pipeline, renewing the cluster lock meanwhile. A validation that does not
// succeed fails the deploy (rolled back when rollback.onFailure is set).
type MonitorPipelineBeforeCleanupTask struct{}

// Name implements Task.
func (MonitorPipelineBeforeCleanupTask) Name() string { return "MonitorPipelineBeforeCleanup" }

// Timeout implements TimeoutTask.
func (MonitorPipelineBeforeCleanupTask) Timeout(s *model.StageExecution) time.Duration {
	return stages.OverridableTimeout(s, 12*time.Hour)
}

// Execute implements Task.
func (MonitorPipelineBeforeCleanupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if r := keepClusterLock(ctx, run, d); r != nil {
		return *r, nil
	}
	id := d.BeforeCleanupExecutionID
	if id == "" {
		return deployFailed(ctx, run, d, "no pipelineBeforeCleanup run to wait for"), nil
	}
	res, err := watchChildPipeline(ctx, run, id)
	switch {
	case err != nil:
		return deployFailed(ctx, run, d, "pipelineBeforeCleanup: %v", err), nil
	case res.Status == model.StatusRunning:
		return stages.Result{Status: model.StatusRunning, Backoff: res.Backoff}, nil
	case res.Status == model.StatusSucceeded:
		// The validation's outputs are its own, not the deploy's.
		return stages.Succeeded(), nil
	}
	msgs := resultErrors(res)
	summary := fmt.Sprintf("run %s ended %s", id, res.Status)
	if len(msgs) > 0 {
		summary = msgs[0]
	}
	out := deployFailed(ctx, run, d, "pipelineBeforeCleanup failed, so the deploy stops before cleaning up: %s", summary)
	stages.SetErrors(out.Context, append([]string{resultErrors(out)[0]}, msgs[min(1, len(msgs)):]...))
	return out, nil
}

// Cancel implements Canceler: the validation is canceled and the deploy
// cleaned up.
func (MonitorPipelineBeforeCleanupTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return nil, err
	}
	cerr := cancelChildPipeline(ctx, run, d.BeforeCleanupExecutionID)
	out, err := cleanUpDeploy(ctx, run, d)
	if err == nil {
		err = cerr
	}
	return out, err
}
