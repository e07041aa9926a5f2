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

func (l Location) String() string { return l.Account + "/" + l.Region }

// locationOf reads Spinnaker's location fields from a stage context or a
// cluster: cloudProvider, credentials (or account), and region (or the one
// entry of regions).
func locationOf(ctx map[string]any) (Location, error) {
	var l Location
	var err error
	if l.CloudProvider, _, err = stages.String(ctx, "cloudProvider"); err != nil {
		return l, err
	}
	if l.CloudProvider == "" {
		l.CloudProvider, _, _ = stages.String(ctx, "provider")
	}
	if l.Account, _, err = stages.String(ctx, "credentials"); err != nil {
		return l, err
	}
	if l.Account == "" {
		if l.Account, _, err = stages.String(ctx, "account"); err != nil {
			return l, err
		}
	}
	if l.Region, _, err = stages.String(ctx, "region"); err != nil {
		return l, err
	}
	if l.Region == "" {
		var regions []string
		if _, err := stages.DecodeField(ctx, "regions", &regions); err != nil {
			return l, err
		}
		switch len(regions) {
		case 0:
		case 1:
			l.Region = regions[0]
		default:
			return l, fmt.Errorf("regions: gennaker acts in one region per stage, got %d (%s); add a stage per region", len(regions), strings.Join(regions, ", "))
		}
	}
	if l.Account == "" {
		return l, errors.New("credentials: the account is required")
	}
	if l.Region == "" {
		if l.CloudProvider == "local" || l.Account == providers.LocalAccount {
			l.Region = providers.LocalRegion
		} else {
			return l, errors.New("region: the region is required")
		}
	}
	return l, nil
}

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

// capacityOf reads a capacity object leniently: numbers or numeric strings.
func capacityOf(ctx map[string]any, key string) (providers.Capacity, bool, error) {
	raw, ok := stages.Lookup(ctx, key)
	if !ok {
		return providers.Capacity{}, false, nil
	}
	m, isMap := raw.(map[string]any)
	if !isMap {
		return providers.Capacity{}, true, fmt.Errorf("%s: must be an object {min, max, desired}, not %s", key, stages.Describe(raw))
	}
	var c providers.Capacity
	for _, f := range []struct {
		name string
		dst  *int
	}{{"min", &c.Min}, {"max", &c.Max}, {"desired", &c.Desired}} {
		n, set, err := stages.Int(m, f.name)
		if err != nil {
			return c, true, fmt.Errorf("%s.%w", key, err)
		}
		if set {
			*f.dst = int(n)
		}
	}
	if c.Max == 0 {
		c.Max = max(c.Desired, c.Min)
	}
	if c.Min < 0 || c.Desired < 0 || c.Min > c.Desired || c.Desired > c.Max {
		return c, true, fmt.Errorf("%s: must satisfy 0 ≤ min ≤ desired ≤ max, got min %d, desired %d, max %d", key, c.Min, c.Desired, c.Max)
	}
	return c, true, nil
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

// validateLocation checks literally written provider and account names
// against the runtime's providers, when the runtime has told us of them.
func validateLocation(env *deployEnv, cfg map[string]any, path string, p *stages.Problems) {
	reg := env.providers.Load()
	if reg == nil {
		return
	}
	prov, _ := cfg["cloudProvider"].(string)
	acct, _ := cfg["credentials"].(string)
	if acct == "" {
		acct, _ = cfg["account"].(string)
	}
	if stages.IsExpression(prov) {
		prov = ""
	}
	if stages.IsExpression(acct) {
		acct = ""
	}
	if err := reg.Check(prov, acct); err != nil {
		field := "account"
		if errors.Is(err, providers.ErrUnknownProvider) {
			field = "cloudProvider"
		}
		if _, ok := cfg["credentials"]; ok && field == "account" {
			field = "credentials"
		}
		p.Add(stages.JoinPath(path, field), "%v", err)
	}
}

// stringList reads a list of strings.
func stringList(ctx map[string]any, key string) ([]string, error) {
	var out []string
	_, err := stages.DecodeField(ctx, key, &out)
	return out, err
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
	if ms, ok, _ := stages.Int(run.Stage.Context, "stageTimeoutMs"); ok && ms > 0 && run.Stage.StartTime > 0 && !run.Now.IsZero() {
		// Never look past the stage's own bound.
		window = min(window, time.Duration(ms)*time.Millisecond-run.Now.Sub(time.UnixMilli(run.Stage.StartTime)))
	}
	deadline := time.Now().Add(window)
	if d, ok := ctx.Deadline(); ok && d.Add(-briefPollMargin).Before(deadline) {
		deadline = d.Add(-briefPollMargin)
	}
	for {
		res, err := check()
		if err != nil || res.Status != model.StatusRunning || res.Wake != stages.Poll {
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
