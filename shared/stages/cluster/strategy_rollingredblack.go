package cluster

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/flow"

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
func rollingRedBlackStrategy(c map[string]any) ([]string, error) {
	pcts, err := targetPercentages(c)
	if err != nil {
		return nil, err
	}
	delay, _, err := stages.Int(c, "delayBeforeCleanup")
	if err != nil {
		return nil, err
	}
	before, err := beforeCleanupOf(c)
	if err != nil {
		return nil, err
	}
	steps := []string{CreateServerGroupTask{}.Name()}
	for range pcts {
		steps = append(steps, ScaleTargetServerGroupTask{}.Name(), WaitForUpInstancesTask{}.Name())
		if delay > 0 {
			steps = append(steps, waitBeforeCleanup)
		}
		if before != nil {
			steps = append(steps, StartPipelineBeforeCleanupTask{}.Name(), MonitorPipelineBeforeCleanupTask{}.Name())
		}
	}
	steps = append(steps, DisableOldServerGroupsTask{}.Name())
	scaleDown, _, err := stages.Bool(c, "scaleDown")
	if err != nil {
		return nil, err
	}
	if scaleDown {
		steps = append(steps, ScaleDownOldServerGroupsTask{}.Name())
	}
	return steps, nil
}

// beforeCleanup is a rolling red/black's pipelineBeforeCleanup.
type beforeCleanup struct {
	Application string         `json:"application"`
	PipelineID  string         `json:"pipelineId"`
	Parameters  map[string]any `json:"pipelineParameters"`
}

// beforeCleanupOf reads pipelineBeforeCleanup; nil when it names no
// pipeline (orca runs it only with both application and pipelineId).
func beforeCleanupOf(c map[string]any) (*beforeCleanup, error) {
	var b beforeCleanup
	if _, err := stages.DecodeField(c, "pipelineBeforeCleanup", &b); err != nil {
		return nil, fmt.Errorf("pipelineBeforeCleanup must be {application, pipelineId, pipelineParameters}: %w", err)
	}
	if b.Application == "" || b.PipelineID == "" {
		return nil, nil
	}
	return &b, nil
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
type StartPipelineBeforeCleanupTask struct{}

// Name implements Task.
func (StartPipelineBeforeCleanupTask) Name() string { return "StartPipelineBeforeCleanup" }

// Execute implements Task.
func (t StartPipelineBeforeCleanupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	if r := keepClusterLock(ctx, run); r != nil {
		return *r, nil
	}
	d, err := deployClusterOf(run)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	before, err := beforeCleanupOf(d.raw)
	if err != nil || before == nil {
		return deployFailed(ctx, run, "pipelineBeforeCleanup: %v", err), nil
	}
	pcts, err := targetPercentages(d.raw)
	if err != nil {
		return deployFailed(ctx, run, "targetPercentages %v", err), nil
	}
	step := stepOf(run, t.Name())
	if step >= len(pcts) {
		return deployFailed(ctx, run, "pipelineBeforeCleanup %d has no target percentage (targetPercentages %v)", step+1, pcts), nil
	}
	l, name, c, err := targetOf(run)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	coords := func(sg any) map[string]any {
		return map[string]any{"region": l.Region, "account": l.Account, "cloudProvider": c.Account.Provider, "serverGroupName": sg}
	}
	var source any
	if sources, _ := stringList(run.Stage.Context, keySources); len(sources) > 0 {
		source = sources[len(sources)-1]
	}
	params := map[string]any{}
	maps.Copy(params, before.Parameters)
	params["deployedServerGroup"] = coords(name)
	params["sourceServerGroup"] = coords(source)
	params["percentageComplete"] = pcts[step]
	id, _, err := startChildPipeline(ctx, run, childPipeline{
		Application: before.Application, PipelineID: before.PipelineID, Parameters: params,
		Key: fmt.Sprintf("beforeCleanup/%d", step),
	})
	if err != nil {
		return deployFailed(ctx, run, "pipelineBeforeCleanup at %d%%: %v", pcts[step], err), nil
	}
	runs, _ := run.Stage.Context["pipelineBeforeCleanupExecutions"].([]any)
	runs = append(append([]any{}, runs[:min(step, len(runs))]...), map[string]any{"percentageComplete": pcts[step], "executionId": string(id)})
	return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{
		"pipelineBeforeCleanupExecutionId": string(id),
		"pipelineBeforeCleanupExecutions":  runs,
	}}, nil
}

// Cancel implements Canceler.
func (StartPipelineBeforeCleanupTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	return cleanUpDeploy(ctx, run)
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
	if r := keepClusterLock(ctx, run); r != nil {
		return *r, nil
	}
	id, _, _ := stages.String(run.Stage.Context, "pipelineBeforeCleanupExecutionId")
	if id == "" {
		return deployFailed(ctx, run, "no pipelineBeforeCleanup run to wait for"), nil
	}
	res, err := watchChildPipeline(ctx, run, id)
	switch {
	case err != nil:
		return deployFailed(ctx, run, "pipelineBeforeCleanup: %v", err), nil
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
	out := deployFailed(ctx, run, "pipelineBeforeCleanup failed, so the deploy stops before cleaning up: %s", summary)
	flow.SetErrors(out.Context, append([]string{resultErrors(out)[0]}, msgs[min(1, len(msgs)):]...))
	return out, nil
}

// Cancel implements Canceler: the validation is canceled and the deploy
// cleaned up.
func (MonitorPipelineBeforeCleanupTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	id, _, _ := stages.String(run.Stage.Context, "pipelineBeforeCleanupExecutionId")
	cerr := cancelChildPipeline(ctx, run, id)
	out, err := cleanUpDeploy(ctx, run)
	if err == nil {
		err = cerr
	}
	return out, err
}
