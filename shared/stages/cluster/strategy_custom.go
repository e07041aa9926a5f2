package cluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/flow"

	"github.com/gennaker/gennaker/shared/model"
)

// customStrategy runs a strategy pipeline (the cluster's strategyPipeline
// of strategyApplication) instead of deploying itself, and takes on its
// outcome, as orca's custom strategy does. The strategy pipeline gets the
// parameters orca passes — application, credentials, cluster, moniker,
// region, cloudProvider, strategy: true, clone, parentPipelineId,
// parentStageId — plus the cluster's pipelineParameters. A deploy stage in
// it with an empty clusters list deploys this cluster with strategy none;
// its other stages act on ${parameters.cluster} as they please.
func customStrategy(map[string]any) ([]string, error) {
	return []string{StartStrategyPipelineTask{}.Name(), MonitorStrategyPipelineTask{}.Name()}, nil
}

// validateCustom checks what a custom strategy needs.
func validateCustom(c map[string]any, path string, p *stages.Problems) {
	if strat, _ := c["strategy"].(string); strat != "custom" {
		return
	}
	if v, _ := c["strategyPipeline"].(string); v == "" && !stages.IsExpression(c["strategyPipeline"]) {
		p.Add(stages.JoinPath(path, "strategyPipeline"), "is required with the custom strategy: the id of the strategy pipeline to run")
	}
	if v, ok := c["pipelineParameters"]; ok && v != nil && !stages.IsExpression(v) {
		if _, isMap := v.(map[string]any); !isMap {
			p.Add(stages.JoinPath(path, "pipelineParameters"), "must be an object of parameter names to values, not %s", stages.Describe(v))
		}
	}
}

// StartStrategyPipelineTask starts the custom strategy's pipeline once.
type StartStrategyPipelineTask struct{}

// Name implements Task.
func (StartStrategyPipelineTask) Name() string { return "StartStrategyPipeline" }

// Execute implements Task.
func (StartStrategyPipelineTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployClusterOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	app, _, _ := stages.String(d.raw, "strategyApplication")
	if app == "" {
		app = d.cluster.App
	}
	pipeline, _, _ := stages.String(d.raw, "strategyPipeline")
	if pipeline == "" {
		return stages.Failed("strategyPipeline is required with the custom strategy: the id of the strategy pipeline to run"), nil
	}
	c, err := cloudAt(run, d.location)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	params := map[string]any{
		"application": d.cluster.App,
		"credentials": d.location.Account,
		"cluster":     d.cluster.String(),
		"moniker": map[string]any{
			"app": d.cluster.App, "stack": d.cluster.Stack, "detail": d.cluster.Detail, "cluster": d.cluster.String(),
		},
		"region":           d.location.Region,
		"cloudProvider":    c.Account.Provider,
		"strategy":         true,
		"clone":            run.Stage.Type == "cloneServerGroup",
		"parentPipelineId": string(run.Execution.ID),
		"parentStageId":    string(run.Stage.ID),
	}
	extra := map[string]any{}
	if _, err := stages.DecodeField(d.raw, "pipelineParameters", &extra); err != nil {
		return stages.Failed("%v", err), nil
	}
	maps.Copy(params, extra)
	id, name, err := startChildPipeline(ctx, run, childPipeline{Application: app, PipelineID: pipeline, Parameters: params, Key: "strategy"})
	if err != nil {
		return stages.Failed("custom strategy: %v", err), nil
	}
	out := map[string]any{"executionId": string(id)}
	if name != "" {
		out["executionName"] = name
	}
	return stages.Result{Status: model.StatusSucceeded, Context: out}, nil
}

// MonitorStrategyPipelineTask waits for the strategy pipeline; the deploy
// then takes on its outcome, and its outputs (the server group its deploy
// stage created) become the deploy's.
type MonitorStrategyPipelineTask struct{}

// Name implements Task.
func (MonitorStrategyPipelineTask) Name() string { return "MonitorStrategyPipeline" }

// Timeout implements TimeoutTask: the stage's stageTimeoutMs, else a day.
func (MonitorStrategyPipelineTask) Timeout(s *model.StageExecution) time.Duration {
	return stages.OverridableTimeout(s, 24*time.Hour)
}

// Execute implements Task.
func (MonitorStrategyPipelineTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	id, _, _ := stages.String(run.Stage.Context, "executionId")
	if id == "" {
		return stages.Failed("no strategy pipeline run to wait for (executionId is not set)"), nil
	}
	res, err := watchChildPipeline(ctx, run, id)
	if err != nil || res.Status == model.StatusRunning || res.Status == model.StatusSucceeded {
		return res, err
	}
	msgs := resultErrors(res)
	if len(msgs) > 0 {
		msgs[0] = "custom strategy: " + msgs[0]
		flow.SetErrors(res.Context, msgs)
	}
	return res, nil
}

// Cancel implements Canceler: canceling the deploy cancels its strategy.
func (MonitorStrategyPipelineTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	id, _, _ := stages.String(run.Stage.Context, "executionId")
	return nil, cancelChildPipeline(ctx, run, id)
}

// A deploy stage of a strategy pipeline with an empty clusters list deploys
// the cluster of the deploy stage that started the pipeline, with strategy
// none, as orca's deploy stage does for a strategy trigger.

// strategyDeploysParent reports whether a deploy stage's clusters is an
// empty list: the cluster comes from the custom strategy that runs it.
func strategyDeploysParent(ctx map[string]any) bool {
	list, ok := ctx["clusters"].([]any)
	return ok && len(list) == 0
}

// parentClusterSkip are the parent stage's fields that are not the
// cluster's, or that the strategy pipeline's deploy must not repeat.
var parentClusterSkip = []string{
	"refId", "requisiteStageRefIds", "type", "name", "stageEnabled", "clusters", "source", "cloneSource",
	"strategyApplication", "strategyPipeline", "pipelineParameters", "executionId", "executionName",
	"exception", "restrictExecutionDuringTimeWindow", "restrictedExecutionWindow", "stageTimeoutMs",
	"failPipeline", "continuePipeline", "completeOtherBranchesThenFail", "expressionEvaluationSummary",
	"notifications", "sendNotifications", "comments", "status",
}

// ResolveStrategyClusterTask copies the parent deploy's cluster into the
// stage, once the parent stage has started.
type ResolveStrategyClusterTask struct{}

// Name implements Task.
func (ResolveStrategyClusterTask) Name() string { return "ResolveStrategyCluster" }

// Execute implements Task.
func (ResolveStrategyClusterTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	if !strategyDeploysParent(run.Stage.Context) {
		return stages.Succeeded(), nil
	}
	tr := run.Execution.Trigger
	parentID, _ := tr.Parameters["parentPipelineId"].(string)
	if parentID == "" {
		parentID = string(tr.ParentExecutionID)
	}
	parentStageID, _ := tr.Parameters["parentStageId"].(string)
	if tr.Parameters["strategy"] != true || parentID == "" || parentStageID == "" {
		return stages.Failed("clusters is empty: a deploy stage without clusters deploys the cluster of the deploy stage whose custom strategy runs this pipeline, and no custom strategy started this run (its trigger has no parameters strategy, parentPipelineId and parentStageId)"), nil
	}
	pipelines, err := flow.PipelinesOf(run)
	if err != nil {
		return stages.Result{}, err
	}
	var parent *model.Execution
	var ps *model.StageExecution
	r, err := pollBriefly(ctx, run, func() (stages.Result, error) {
		if parent, err = pipelines.Get(ctx, model.ExecutionID(parentID)); err != nil {
			return stages.Failed("the run of the deploy stage whose strategy this is, %s: %v", parentID, err), nil
		}
		if ps = parent.StageByID(model.StageID(parentStageID)); ps == nil {
			return stages.Failed("run %s has no stage %s, whose strategy this is", parentID, parentStageID), nil
		}
		// The parent stage is stored with its evaluated cluster once its
		// first tasks ran, which may be just after it started this run.
		if len(ps.Tasks) == 0 || (ps.Type == "cloneServerGroup" && ps.Context["cloneSource"] == nil) {
			return stages.Result{Status: model.StatusRunning, Backoff: deployPollBackoff, Context: map[string]any{"waitingFor": "the parent deploy stage " + parentStageID}}, nil
		}
		return stages.Succeeded(), nil
	})
	if err != nil || r.Status != model.StatusSucceeded {
		return r, err
	}
	var p stages.Problems
	c, _, ok := clusterConfig(ps.Context, &p, false)
	if !ok {
		return stages.Failed("the parent deploy stage %q: %s", ps.Name, problemsText(p)), nil
	}
	cluster := maps.Clone(c)
	for _, k := range parentClusterSkip {
		delete(cluster, k)
	}
	cluster["strategy"] = "none"
	if _, ok := cluster["artifact"]; !ok {
		region, _, _ := stages.String(cluster, "region")
		if a := artifactFor(&stages.Run{Execution: parent, Stage: ps}, cluster, region); a != nil {
			cluster["artifact"] = a
		}
	}
	traffic, _, _ := stages.String(run.Stage.Context, "trafficOptions")
	if err := applyTrafficOptions(cluster, traffic); err != nil {
		return stages.Failed("%v", err), nil
	}
	return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{
		"clusters":        []any{cluster},
		"strategyParent":  parentID + "/" + parentStageID,
		"waitingFor":      nil,
		"parentStageName": ps.Name,
	}}, nil
}

// suspendedAddToLoadBalancer is the AWS process whose suspension creates a
// server group out of its load balancers' rotation.
const suspendedAddToLoadBalancer = "AddToLoadBalancer"

// applyTrafficOptions is orca's trafficOptions of a strategy pipeline's
// deploy: inherit the parent's traffic settings, or create the server
// group in rotation (enable) or out of it (disable).
func applyTrafficOptions(cluster map[string]any, opt string) error {
	var suspended []string
	if _, err := stages.DecodeField(cluster, "suspendedProcesses", &suspended); err != nil {
		return err
	}
	switch opt {
	case "", "inherit":
		return nil
	case "enable":
		suspended = slices.DeleteFunc(suspended, func(s string) bool { return s == suspendedAddToLoadBalancer })
	case "disable":
		if !slices.Contains(suspended, suspendedAddToLoadBalancer) {
			suspended = append(suspended, suspendedAddToLoadBalancer)
		}
	default:
		return fmt.Errorf("trafficOptions %q is not inherit, enable or disable", opt)
	}
	list := make([]any, len(suspended))
	for i, s := range suspended {
		list[i] = s
	}
	cluster["suspendedProcesses"] = list
	return nil
}

// validateTrafficOptions checks a strategy pipeline deploy's trafficOptions.
func validateTrafficOptions(cfg map[string]any, p *stages.Problems) {
	opt, _ := cfg["trafficOptions"].(string)
	if opt == "" || stages.IsExpression(opt) {
		return
	}
	if err := applyTrafficOptions(map[string]any{}, opt); err != nil {
		p.Add("trafficOptions", "%q is not inherit, enable or disable", opt)
	}
}
