package cluster

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// What the deploy stages do for clouds whose calls are rated and slow
// (AWS): a throttled call waits and tries again, reads keep to the
// provider's pace, and the fields of a cluster the provider would not
// apply are named when the pipeline is saved.

// throttledBackoff is how long a task waits after the cloud kept refusing
// its calls for their rate.
const throttledBackoff = 15 * time.Second

// throttled returns a RUNNING result when err (or an error among args) is
// the cloud throttling its calls: the task is tried again after a backoff
// rather than failing its stage.
func throttled(args ...any) (stages.Result, bool) {
	for _, a := range args {
		if err, ok := a.(error); ok && errors.Is(err, providers.ErrThrottled) {
			return stages.Result{Status: model.StatusRunning, Backoff: throttledBackoff,
				Context: stages.Record(waitingFor{fmt.Sprintf("the cloud provider to accept calls again (%v)", err)})}, true
		}
	}
	return stages.Result{}, false
}

// pollBackoff is how long a task waits between reads of c's server
// groups: the provider's own pace, else deployPollBackoff.
func pollBackoff(c *providers.Cloud) time.Duration {
	if c != nil && c.PollInterval > 0 {
		return c.PollInterval
	}
	return deployPollBackoff
}

// deployedCluster is the cluster a running deploy stage creates a server
// group from, as the stage holds it: clusters[0], or the stage itself.
func deployedCluster(ctx map[string]any) map[string]any {
	if list, ok := ctx["clusters"].([]any); ok && len(list) == 1 {
		if m, ok := list[0].(map[string]any); ok {
			return m
		}
	}
	return ctx
}

// checkAppliedFields warns, at path, of each field of cluster the
// provider would not apply.
func checkAppliedFields(env *deployEnv, provider string, cluster map[string]any, path string, p *stages.Problems) {
	reg := env.providers.Load()
	if reg == nil || provider == "" || stages.IsExpression(provider) {
		return
	}
	prov, err := reg.Provider(provider)
	if err != nil {
		return // validate names the provider
	}
	fc, ok := prov.(providers.FieldChecker)
	if !ok {
		return
	}
	if path == "" {
		// The cluster is the stage: its stage fields are no cluster's.
		cluster = maps.Clone(cluster)
		for _, k := range stageKeys {
			delete(cluster, k)
		}
	}
	for _, k := range fc.UnappliedFields(cluster) {
		p.Add(stages.Path(path, k), "is not applied by the %s provider yet; remove it to deploy with this installation", provider)
	}
}

// stageKeys are the fields every stage may have, besides its type's own.
var stageKeys = []string{
	"refId", "type", "name", "requisiteStageRefIds", "stageEnabled", "failPipeline", "continuePipeline",
	"completeOtherBranchesThenFail", "failOnFailedExpressions", "restrictExecutionDuringTimeWindow",
	"restrictedExecutionWindow", "skipWindowText", "stageTimeoutMs", "notifications", "sendNotifications",
	"comments", "isNew", "group", "clusters", "cluster",
}
