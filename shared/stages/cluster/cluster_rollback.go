package cluster

import (
	"context"
	"fmt"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/naming"
)

// RollbackStage is Spinnaker's "rollbackServerGroup" (roll back the server
// group in serverGroupName, or rollbackContext.rollbackServerGroupName, to
// rollbackContext.restoreServerGroupName or the one before it) and
// "rollbackCluster" (roll back the cluster's newest server group to the one
// before it). The steps are those of Spinnaker's rollback dialog: enable the
// server group to restore, resize it to the current one's capacity with min
// pinned, wait until it is up, disable the current one, restore its min.
type RollbackStage struct {
	env *deployEnv
	typ string
}

// Type implements Definition.
func (s *RollbackStage) Type() string { return s.typ }

// rollbackConfig is the configuration of the rollback stages, with the
// targets ResolveRollbackTargets recorded.
type rollbackConfig struct {
	stageFields
	locationFields
	clusterRef
	ServerGroupName string `json:"serverGroupName"`
	// RollbackContext is Deck's rollback dialog's choice.
	RollbackContext *struct {
		RollbackServerGroupName string `json:"rollbackServerGroupName"`
		RestoreServerGroupName  string `json:"restoreServerGroupName"`
	} `json:"rollbackContext"`
	// Rolled back, restored, and the restored one's capacities, once
	// resolved.
	Rollback        string              `json:"rollbackServerGroupName"`
	Restore         string              `json:"restoreServerGroupName"`
	RestoreOriginal *providers.Capacity `json:"restoreOriginalCapacity"`
	RestorePinned   *providers.Capacity `json:"restorePinnedCapacity"`
}

// Validate implements Definition.
func (s *RollbackStage) Validate(st *model.Stage) []model.Problem {
	var cfg rollbackConfig
	_, p := stages.DecodeConfig(st, &cfg)
	cfg.validate(s.env, "", &p)
	if s.typ == "rollbackCluster" {
		if cfg.clusterName() == "" {
			p.Add("cluster", "is required: the cluster to roll back")
		}
		return p
	}
	if name := cfg.ServerGroupName; name == "" && (cfg.RollbackContext == nil || cfg.RollbackContext.RollbackServerGroupName == "") {
		p.Add("rollbackContext.rollbackServerGroupName", "is required: the server group to roll back")
	}
	return p
}

// Config implements Configurer.
func (s *RollbackStage) Config(e *model.StageExecution) (any, error) {
	var c rollbackConfig
	return &c, decodeStage(e, &c)
}

// Plan implements Definition.
func (s *RollbackStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{
		ResolveRollbackTargetsTask{}.Name(),
		EnableRestoreServerGroupTask{}.Name(),
		ResizeRestoreServerGroupTask{}.Name(),
		WaitForRestoreUpInstancesTask{}.Name(),
		DisableRolledBackServerGroupTask{}.Name(),
		RestoreMinCapacityTask{}.Name(),
	}, nil
}

// ResolveRollbackTargetsTask decides once which server group is rolled back
// and which is restored, and the capacities involved.
type ResolveRollbackTargetsTask struct{}

// Name implements Task.
func (ResolveRollbackTargetsTask) Name() string { return "ResolveRollbackTargets" }

// Execute implements Task.
func (ResolveRollbackTargetsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*rollbackConfig](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if cfg.RestorePinned != nil {
		return stages.Succeeded(), nil
	}
	l, err := cfg.location()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	c, err := cloudAt(run, l)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	current, restore := "", ""
	if rc := cfg.RollbackContext; rc != nil {
		current, restore = rc.RollbackServerGroupName, rc.RestoreServerGroupName
	}
	if current == "" {
		current = cfg.ServerGroupName
	}
	cluster := cfg.clusterName()
	if cluster == "" {
		cluster = naming.ClusterOf(current)
	}
	groups, err := clusterGroups(ctx, c, l.Region, cluster)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if current == "" {
		if len(groups) == 0 {
			return stages.Failed("cluster %s in %s has no server group to roll back", cluster, l), nil
		}
		current = groups[len(groups)-1].Name
	}
	var cur, prev *providers.ServerGroup
	for i := range groups {
		if groups[i].Name == current {
			cur = &groups[i]
			if restore == "" && i > 0 {
				prev = &groups[i-1]
			}
		}
		if restore != "" && groups[i].Name == restore {
			prev = &groups[i]
		}
	}
	switch {
	case cur == nil:
		return stages.Failed("server group %s is not in cluster %s in %s", current, cluster, l), nil
	case prev == nil && restore != "":
		return stages.Failed("server group %s to restore is not in cluster %s in %s", restore, cluster, l), nil
	case prev == nil:
		return stages.Failed("cluster %s in %s has no server group older than %s to roll back to", cluster, l, current), nil
	}
	desired := max(cur.Capacity.Desired, prev.Capacity.Desired, 1)
	pinned := providers.Capacity{Min: desired, Max: max(prev.Capacity.Max, desired), Desired: desired}
	targets := rollbackTargetNames{Rollback: cur.Name, Restore: prev.Name}
	return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(resolvedRollback{
		Region: l.Region, Credentials: l.Account, CloudProvider: c.Account.Provider,
		rollbackTargetNames: targets, RestoreOriginal: prev.Capacity, RestorePinned: pinned,
	}), Outputs: stages.Record(targets)}, nil
}

// rollbackTargetNames are the server groups a rollback rolls back and
// restores, as Spinnaker names them in its context and outputs.
type rollbackTargetNames struct {
	Rollback string `json:"rollbackServerGroupName"`
	Restore  string `json:"restoreServerGroupName"`
}

// resolvedRollback is what ResolveRollbackTargets records, read back by
// rollbackConfig.
type resolvedRollback struct {
	Region        string `json:"region"`
	Credentials   string `json:"credentials"`
	CloudProvider string `json:"cloudProvider"`
	rollbackTargetNames
	RestoreOriginal providers.Capacity `json:"restoreOriginalCapacity"`
	RestorePinned   providers.Capacity `json:"restorePinnedCapacity"`
}

// rollbackTargets reads what ResolveRollbackTargets recorded.
func rollbackTargets(run *stages.Run) (*rollbackConfig, Location, *providers.Cloud, error) {
	cfg, err := stages.ConfigOf[*rollbackConfig](run)
	if err != nil {
		return nil, Location{}, nil, err
	}
	l, err := cfg.location()
	if err != nil {
		return nil, l, nil, err
	}
	c, err := cloudAt(run, l)
	if err != nil {
		return nil, l, nil, err
	}
	if cfg.Rollback == "" || cfg.Restore == "" || cfg.RestorePinned == nil {
		return nil, l, nil, fmt.Errorf("the rollback targets were not resolved")
	}
	return cfg, l, c, nil
}

// EnableRestoreServerGroupTask puts the server group being restored back
// into rotation.
type EnableRestoreServerGroupTask struct{}

// Name implements Task.
func (EnableRestoreServerGroupTask) Name() string { return "EnableRestoreServerGroup" }

// Execute implements Task.
func (EnableRestoreServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, l, c, err := rollbackTargets(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if err := c.ServerGroups.SetEnabled(ctx, l.Region, cfg.Restore, true); err != nil {
		return stages.Failed("enable %s: %v", cfg.Restore, err), nil
	}
	return stages.Succeeded(), nil
}

// ResizeRestoreServerGroupTask gives the restored server group the current
// one's capacity, with min pinned to it so nothing scales it in meanwhile.
type ResizeRestoreServerGroupTask struct{}

// Name implements Task.
func (ResizeRestoreServerGroupTask) Name() string { return "ResizeRestoreServerGroup" }

// Execute implements Task.
func (ResizeRestoreServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, l, c, err := rollbackTargets(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	pinned, err := checkCapacity(*cfg.RestorePinned)
	if err != nil {
		return stages.Failed("restorePinnedCapacity: %v", err), nil
	}
	if err := c.ServerGroups.Resize(ctx, l.Region, cfg.Restore, pinned); err != nil {
		return stages.Failed("resize %s: %v", cfg.Restore, err), nil
	}
	return stages.Succeeded(), nil
}

// WaitForRestoreUpInstancesTask waits until the restored server group's
// instances are up and in rotation.
type WaitForRestoreUpInstancesTask struct{}

// Name implements Task.
func (WaitForRestoreUpInstancesTask) Name() string { return "WaitForRestoreUpInstances" }

// Execute implements Task.
func (WaitForRestoreUpInstancesTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*rollbackConfig](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	l, err := cfg.location()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	return waitForUp(ctx, run, nil, l, cfg.Restore, false)
}

// DisableRolledBackServerGroupTask takes the rolled-back server group out
// of rotation, now that the restored one serves.
type DisableRolledBackServerGroupTask struct{}

// Name implements Task.
func (DisableRolledBackServerGroupTask) Name() string { return "DisableRolledBackServerGroup" }

// Execute implements Task.
func (DisableRolledBackServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, l, c, err := rollbackTargets(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	cur := cfg.Rollback
	if err := guardCheck(ctx, run, c, l, naming.ClusterOf(cur), "disable "+cur, Disabling(cur)); err != nil {
		return stages.Failed("%v", err), nil
	}
	if err := c.ServerGroups.SetEnabled(ctx, l.Region, cur, false); err != nil {
		return stages.Failed("disable %s: %v", cur, err), nil
	}
	return stages.Succeeded(), nil
}

// RestoreMinCapacityTask unpins the restored server group's min.
type RestoreMinCapacityTask struct{}

// Name implements Task.
func (RestoreMinCapacityTask) Name() string { return "RestoreMinCapacity" }

// Execute implements Task.
func (RestoreMinCapacityTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, l, c, err := rollbackTargets(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	pinned, _ := checkCapacity(*cfg.RestorePinned)
	var orig providers.Capacity
	if cfg.RestoreOriginal != nil {
		orig, _ = checkCapacity(*cfg.RestoreOriginal)
	}
	restored := providers.Capacity{Min: min(orig.Min, pinned.Desired), Max: pinned.Max, Desired: pinned.Desired}
	if err := c.ServerGroups.Resize(ctx, l.Region, cfg.Restore, restored); err != nil {
		return stages.Failed("resize %s: %v", cfg.Restore, err), nil
	}
	return stages.Succeeded(), nil
}
