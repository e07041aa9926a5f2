package cluster

import (
	"sync/atomic"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
)

// RegisterDeployments registers the stage types that act on cloud
// providers: deploying server groups with a strategy, acting on one server
// group or a whole cluster, rollbacks, finding an image, and load balancers.
func RegisterDeployments(r *stages.Registry) {
	env := &deployEnv{}
	r.Register(&DeployStage{env: env, typ: "deploy"})
	r.Register(&DeployStage{env: env, typ: "createServerGroup"})
	r.Register(&CloneServerGroupStage{env: env})
	r.Register(&EnableServerGroupStage{env: env})
	r.Register(&DisableServerGroupStage{env: env})
	r.Register(&ResizeServerGroupStage{env: env})
	r.Register(&DestroyServerGroupStage{env: env})
	r.Register(&DisableClusterStage{env: env})
	r.Register(&ShrinkClusterStage{env: env})
	r.Register(&ScaleDownClusterStage{env: env})
	r.Register(&RollbackStage{env: env, typ: "rollbackServerGroup"})
	r.Register(&RollbackStage{env: env, typ: "rollbackCluster"})
	r.Register(&FindImageFromClusterStage{env: env, typ: "findImageFromCluster"})
	r.Register(&FindImageFromClusterStage{env: env, typ: "findImage"})
	r.Register(&FindImageFromClusterStage{env: env, typ: "findAmi"})
	r.Register(&FindImageFromTagsStage{env: env})
	r.Register(&UpsertImageTagsStage{env: env})
	r.Register(&UpsertLoadBalancerStage{env: env})
	r.Register(&DeleteLoadBalancerStage{env: env})
	for _, t := range deploymentTasks() {
		r.RegisterTask(t)
	}
}

// UseProviders tells the deployment stage types of r which providers and
// accounts exist, so that saving a pipeline that names an unknown one
// literally is refused. A registry without deployment stages is left as it
// is.
func UseProviders(r *stages.Registry, p *providers.Registry) {
	if def, err := r.Definition("deploy"); err == nil {
		d, ok := def.(*DeployStage)
		if !ok {
			return
		}
		d.env.providers.Store(p)
	}
}

// deployEnv is what the deployment stage types share at validation time.
type deployEnv struct {
	providers atomic.Pointer[providers.Registry]
}

// deploymentTasks lists every task the deployment stages plan.
func deploymentTasks() []stages.Task {
	return []stages.Task{
		AcquireClusterLockTask{}, ReleaseClusterLockTask{}, CompleteParallelDeployTask{},
		AllocateServerGroupNameTask{}, CreateServerGroupTask{}, WaitForUpInstancesTask{},
		WaitBeforeTask{name: waitBeforeDisable},
		WaitBeforeTask{name: waitBeforeScaleDown},
		WaitBeforeTask{name: waitBeforeCleanup},
		DisableOldServerGroupsTask{}, ScaleDownOldServerGroupsTask{}, ShrinkOldServerGroupsTask{},
		DestroyOldServerGroupsTask{}, ScaleTargetServerGroupTask{},
		ResolveCloneSourceTask{},
		DetermineTargetServerGroupTask{}, EnableServerGroupTask{}, DisableServerGroupTask{},
		WaitForDisabledServerGroupTask{}, ResizeServerGroupTask{}, WaitForCapacityMatchTask{},
		DestroyServerGroupTask{},
		DisableClusterTask{}, ShrinkClusterTask{}, ScaleDownClusterTask{},
		ResolveRollbackTargetsTask{}, EnableRestoreServerGroupTask{}, ResizeRestoreServerGroupTask{},
		WaitForRestoreUpInstancesTask{}, DisableRolledBackServerGroupTask{}, RestoreMinCapacityTask{},
		FindImageFromClusterTask{}, FindImageFromTagsTask{}, UpsertImageTagsTask{},
		StartStrategyPipelineTask{}, MonitorStrategyPipelineTask{}, ResolveStrategyClusterTask{},
		StartPipelineBeforeCleanupTask{}, MonitorPipelineBeforeCleanupTask{},
		UpsertLoadBalancerTask{}, DeleteLoadBalancerTask{},
	}
}
