package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/naming"
)

// Location is where a stage acts: a provider, an account and a region.
type Location struct {
	CloudProvider string
	Account       string
	Region        string
}

// String names the account and region, as messages show them.
func (l Location) String() string { return l.Account + "/" + l.Region }

// cloudAt returns the account's view of its provider, which must serve
// server groups: every stage of the family but the load balancer ones acts
// on them.
func cloudAt(run *stages.Run, l Location) (*providers.Cloud, error) {
	reg, err := registryOf(run)
	if err != nil {
		return nil, err
	}
	if _, err := reg.ServerGroups(l.Account, l.CloudProvider); err != nil {
		return nil, err
	}
	return reg.Cloud(l.Account, l.CloudProvider)
}

// registryOf returns the runtime's providers.
func registryOf(run *stages.Run) (*providers.Registry, error) {
	if run.Services == nil || run.Services.Providers == nil {
		return nil, errors.New("this runtime has no cloud providers configured")
	}
	return run.Services.Providers, nil
}

// clusterGroups returns the server groups of one cluster in one region,
// oldest first.
func clusterGroups(ctx context.Context, c *providers.Cloud, region, cluster string) ([]providers.ServerGroup, error) {
	app := cluster
	if n, err := naming.ParseCluster(cluster); err == nil {
		app = n.App
	}
	all, err := c.ServerGroups.List(ctx, app)
	if err != nil {
		return nil, fmt.Errorf("list server groups of %s in %s: %w", app, c.Account.Name, err)
	}
	var out []providers.ServerGroup
	for _, g := range all {
		if g.Region == region && g.Cluster == cluster {
			out = append(out, g)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedTime < out[j].CreatedTime })
	return out, nil
}

// Spinnaker's dynamic targets: which server group of a cluster a stage acts
// on, decided when the stage starts.
const (
	targetCurrent  = "current_asg_dynamic"
	targetAncestor = "ancestor_asg_dynamic"
	targetOldest   = "oldest_asg_dynamic"
	targetLargest  = "largest_asg_dynamic"
)

var targets = []string{targetCurrent, targetAncestor, targetOldest, targetLargest}

// selectTarget picks a target from a cluster's server groups, oldest first.
func selectTarget(groups []providers.ServerGroup, target string) (*providers.ServerGroup, error) {
	n := len(groups)
	switch strings.TrimSuffix(target, "_dynamic") {
	case "current_asg":
		if n > 0 {
			return &groups[n-1], nil
		}
	case "ancestor_asg":
		if n > 1 {
			return &groups[n-2], nil
		}
	case "oldest_asg":
		if n > 0 {
			return &groups[0], nil
		}
	case "largest_asg":
		var best *providers.ServerGroup
		for i := range groups {
			if best == nil || groups[i].Capacity.Desired >= best.Capacity.Desired {
				best = &groups[i]
			}
		}
		if best != nil {
			return best, nil
		}
	default:
		return nil, fmt.Errorf("target %q is not one of %s", target, strings.Join(targets, ", "))
	}
	return nil, fmt.Errorf("the cluster has no %s server group (it has %d)", strings.TrimSuffix(target, "_asg_dynamic"), n)
}

// provenanceOf records what is creating a server group.
func provenanceOf(run *stages.Run) providers.Provenance {
	p := providers.Provenance{StageID: run.Stage.ID, Stage: run.Stage.Name}
	if e := run.Execution; e != nil {
		p.Application = e.Application
		p.ExecutionID = e.ID
		p.PipelineID = e.PipelineConfigID
		p.Pipeline = e.Name
		p.User = e.Trigger.User
	}
	return p
}

// namesOf lists server group names.
func namesOf(groups []providers.ServerGroup) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		out = append(out, g.Name)
	}
	return out
}

// taskIndex is the index of the running task in the stage's task list.
func taskIndex(s *model.StageExecution) int {
	return currentTask(s)
}

func currentTask(s *model.StageExecution) int {
	for i := range s.Tasks {
		if !s.Tasks[i].Status.IsComplete() {
			return i
		}
	}
	return -1
}

// deployPollBackoff is how often deployment tasks look again.
const deployPollBackoff = time.Second

// The state machine waits whole seconds between polls, which would make a
// wait that is over in 60 ms (a local instance starting) cost a second. So
// a deployment task that polls looks again within its invocation, every
// briefPollStep, until briefPollWindow after it first started; only a wait
// longer than that returns RUNNING and pays the state machine's backoff.
const (
	briefPollWindow = 2 * time.Second
	briefPollStep   = 50 * time.Millisecond
	// briefPollMargin is left of the invocation's deadline (a Lambda's).
	briefPollMargin = 500 * time.Millisecond
)

// pollBriefly calls check until it returns anything but a RUNNING poll, or
// the task's brief window, the stage's stageTimeoutMs, the context or its
// deadline ends; then it returns check's last result.
func pollBriefly(ctx context.Context, run *stages.Run, check func() (stages.Result, error)) (stages.Result, error) {
	window := briefPollWindow - sinceTaskStart(run)
	if bound := stageTimeoutOf(run); bound > 0 && run.Stage.StartTime > 0 && !run.Now.IsZero() {
		// Never look past the stage's own bound.
		window = min(window, bound-run.Now.Sub(time.UnixMilli(run.Stage.StartTime)))
	}
	deadline := time.Now().Add(window)
	if d, ok := ctx.Deadline(); ok && d.Add(-briefPollMargin).Before(deadline) {
		deadline = d.Add(-briefPollMargin)
	}
	for {
		res, err := check()
		// A check that asks to wait longer than the window keeps to its
		// provider's pace.
		if err != nil || res.Status != model.StatusRunning || res.Wake != stages.Poll || res.Backoff > briefPollWindow {
			return res, err
		}
		if time.Now().Add(briefPollStep).After(deadline) {
			return res, nil
		}
		t := time.NewTimer(briefPollStep)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, nil
		case <-t.C:
		}
	}
}

// stageTimeoutOf is the stage's stageTimeoutMs, from its configuration;
// 0 when it sets none.
func stageTimeoutOf(run *stages.Run) time.Duration {
	if c, ok := run.Config.(interface{ stageTimeout() time.Duration }); ok {
		return c.stageTimeout()
	}
	return 0
}

// sinceTaskStart is how long the running task has run, by the
// orchestrator's clock; 0 when it is not known.
func sinceTaskStart(run *stages.Run) time.Duration {
	start := run.Stage.Orchestration.TaskStartTime
	if start == 0 {
		if i := taskIndex(run.Stage); i >= 0 {
			start = run.Stage.Tasks[i].StartTime
		}
	}
	if start == 0 || run.Now.IsZero() {
		return 0
	}
	return max(run.Now.Sub(time.UnixMilli(start)), 0)
}
