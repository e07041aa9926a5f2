package cluster

import (
	"context"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/naming"
)

// The steps below are what strategies plan after the new server group is
// up: each first renews the cluster lock and waits until the new server
// group takes traffic, so that an old one never stops serving before it.

// requireServing waits, inside a strategy step, until the new server group
// takes traffic: an old one is never disabled before that. It first renews
// the cluster lock, as every step of a deploy does.
func requireServing(ctx context.Context, run *stages.Run, d *deployConfig) (*providers.ServerGroup, Location, *providers.Cloud, *stages.Result) {
	if r := keepClusterLock(ctx, run, d); r != nil {
		return nil, Location{}, nil, r
	}
	l, name, c, err := d.targetCloud(run)
	if err != nil {
		r := deployFailed(ctx, run, d, "%v", err)
		return nil, l, nil, &r
	}
	var g *providers.ServerGroup
	r, _ := pollBriefly(ctx, run, func() (stages.Result, error) {
		var err error
		if g, err = c.ServerGroups.Get(ctx, l.Region, name); err != nil {
			return deployFailed(ctx, run, d, "%v", err), nil
		}
		if !g.Serving() {
			return stages.Result{Status: model.StatusRunning, Backoff: pollBackoff(c), Context: stages.Record(waitingFor{name + " to take traffic"})}, nil
		}
		return stages.Succeeded(), nil
	})
	if r.Status != model.StatusSucceeded {
		return nil, l, nil, &r
	}
	return g, l, c, nil
}

// waitingFor is recorded while a deploy waits on something outside it.
type waitingFor struct {
	// What says what the deploy waits for, for people.
	What string `json:"waitingFor"`
}

// oldGroupsOf reads what a step on the server groups a deploy replaces
// works with: the deploy, its new group once it serves, where it is, and the
// cluster's other groups, oldest first. A result ends the call: the new
// group does not serve yet, or something failed.
func oldGroupsOf(ctx context.Context, run *stages.Run) (*deployConfig, *providers.ServerGroup, Location, *providers.Cloud, []providers.ServerGroup, *stages.Result) {
	d, err := deployConfigOf(run)
	if err != nil {
		r := stages.Failed("%v", err)
		return nil, nil, Location{}, nil, nil, &r
	}
	g, l, c, wait := requireServing(ctx, run, d)
	if wait != nil {
		return nil, nil, l, nil, nil, wait
	}
	others, err := otherGroups(ctx, c, l, g.Name)
	if err != nil {
		r := deployFailed(ctx, run, d, "%v", err)
		return nil, nil, l, nil, nil, &r
	}
	return d, g, l, c, others, nil
}

// otherGroups are the cluster's server groups other than the new one,
// oldest first.
func otherGroups(ctx context.Context, c *providers.Cloud, l Location, newName string) ([]providers.ServerGroup, error) {
	all, err := clusterGroups(ctx, c, l.Region, naming.ClusterOf(newName))
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, g := range all {
		if g.Name != newName {
			out = append(out, g)
		}
	}
	return out, nil
}

// DisableOldServerGroupsTask takes the server groups that served before the
// deploy out of rotation, once the new one takes traffic.
type DisableOldServerGroupsTask struct{ cleansUpOnCancel }

// Name implements Task.
func (DisableOldServerGroupsTask) Name() string { return "DisableOldServerGroups" }

// Execute implements Task.
func (DisableOldServerGroupsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, g, l, c, others, r := oldGroupsOf(ctx, run)
	if r != nil {
		return *r, nil
	}
	var names []string
	for _, o := range others {
		if !o.Disabled {
			names = append(names, o.Name)
		}
	}
	if err := guardCheck(ctx, run, c, l, g.Cluster, "disable "+strings.Join(names, ", "), Disabling(names...)); err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	for _, n := range names {
		if err := c.ServerGroups.SetEnabled(ctx, l.Region, n, false); err != nil && !isNotFound(err) {
			return deployFailed(ctx, run, d, "disable %s: %v", n, err), nil
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(disabledGroups{sortedNames(names)})}, nil
}

// ScaleDownOldServerGroupsTask scales the server groups the deploy disabled
// down to no instances (scaleDown: true); they stay, ready for a rollback.
type ScaleDownOldServerGroupsTask struct{}

// Name implements Task.
func (ScaleDownOldServerGroupsTask) Name() string { return "ScaleDownOldServerGroups" }

// Execute implements Task.
func (ScaleDownOldServerGroupsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, g, l, c, others, r := oldGroupsOf(ctx, run)
	if r != nil {
		return *r, nil
	}
	var scaled []string
	for _, o := range others {
		if !o.Disabled || o.Capacity.Desired == 0 {
			continue
		}
		if err := guardCheck(ctx, run, c, l, g.Cluster, "scale "+o.Name+" down to 0", Resizing(o.Name, 0)); err != nil {
			return deployFailed(ctx, run, d, "%v", err), nil
		}
		if err := c.ServerGroups.Resize(ctx, l.Region, o.Name, providers.Capacity{Min: 0, Max: o.Capacity.Max, Desired: 0}); err != nil && !isNotFound(err) {
			return deployFailed(ctx, run, d, "scale down %s: %v", o.Name, err), nil
		}
		scaled = append(scaled, o.Name)
	}
	return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(scaledDownGroups{sortedNames(scaled)})}, nil
}

// ShrinkOldServerGroupsTask destroys the oldest server groups of the
// cluster beyond the strategy's maxRemainingAsgs (the new one counts and
// always stays).
type ShrinkOldServerGroupsTask struct{}

// Name implements Task.
func (ShrinkOldServerGroupsTask) Name() string { return "ShrinkOldServerGroups" }

// Execute implements Task.
func (ShrinkOldServerGroupsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, g, l, c, others, r := oldGroupsOf(ctx, run)
	if r != nil {
		return *r, nil
	}
	keep := 0
	if s, ok := d.strategy().(shrinker); ok {
		keep = s.remaining()
	}
	excess := len(others) + 1 - max(keep, 1)
	if excess <= 0 {
		return stages.Succeeded(), nil
	}
	doomed := namesOf(others[:min(excess, len(others))])
	return destroyAll(ctx, run, d, c, l, g.Cluster, doomed)
}

// DestroyOldServerGroupsTask destroys every other server group of the
// cluster (highlander: there can be only one).
type DestroyOldServerGroupsTask struct{}

// Name implements Task.
func (DestroyOldServerGroupsTask) Name() string { return "DestroyOldServerGroups" }

// Execute implements Task.
func (DestroyOldServerGroupsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, g, l, c, others, r := oldGroupsOf(ctx, run)
	if r != nil {
		return *r, nil
	}
	return destroyAll(ctx, run, d, c, l, g.Cluster, namesOf(others))
}

func destroyAll(ctx context.Context, run *stages.Run, d *deployConfig, c *providers.Cloud, l Location, cluster string, names []string) (stages.Result, error) {
	if len(names) == 0 {
		return stages.Succeeded(), nil
	}
	if err := guardCheck(ctx, run, c, l, cluster, "destroy "+strings.Join(names, ", "), Destroying(names...)); err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	for _, n := range names {
		if err := c.ServerGroups.Destroy(ctx, l.Region, n); err != nil {
			return deployFailed(ctx, run, d, "destroy %s: %v", n, err), nil
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(destroyedGroups{sortedNames(names)})}, nil
}

// Names of the delays a strategy may plan.
const (
	waitBeforeDisable   = "WaitBeforeDisable"
	waitBeforeScaleDown = "WaitBeforeScaleDown"
	waitBeforeCleanup   = "WaitBeforeCleanup"
)

// WaitBeforeTask waits as long as the deploy's strategy says for the step
// it is named after, renewing the cluster lock meanwhile.
type WaitBeforeTask struct {
	cleansUpOnCancel
	name string
}

// Name implements Task.
func (t WaitBeforeTask) Name() string { return t.name }

// Execute implements Task.
func (t WaitBeforeTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	var wait time.Duration
	if s, ok := d.strategy().(delayer); ok {
		wait = s.delay(t.name)
	}
	if r := keepClusterLock(ctx, run, d); r != nil {
		return *r, nil
	}
	start, err := stages.TaskStart(run, t.name)
	if err != nil {
		return stages.Result{}, err
	}
	left := start.Add(wait).Sub(run.Now)
	if left <= 0 {
		return stages.Succeeded(), nil
	}
	return stages.Result{Status: model.StatusRunning, Backoff: min(left, clusterLockTTL/4), Wake: stages.Sleep}, nil
}
