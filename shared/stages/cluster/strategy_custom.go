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
type customStrategy struct {
	// StrategyApplication owns the strategy pipeline; default the
	// cluster's application.
	StrategyApplication string         `json:"strategyApplication"`
	StrategyPipeline    string         `json:"strategyPipeline"`
	PipelineParameters  map[string]any `json:"pipelineParameters"`
}

func (s *customStrategy) decode(d fieldDecoder) stages.Problems {
	p := decodeFields(d, s)
	at := "pipelineParameters"
	if d.inClusters {
		at = stages.Path("clusters", 0, at)
	}
	nameKind(p, at, "must be an object of parameter names to values")
	return p
}

func (s *customStrategy) validate(path string, exprs stages.Expressions, p *stages.Problems) {
	if at := stages.Path(path, "strategyPipeline"); s.StrategyPipeline == "" && !exprs.Has(at) && !hasProblem(*p, at) {
		p.Add(at, "is required with the custom strategy: the id of the strategy pipeline to run")
	}
}

// plan runs the strategy pipeline in place of the deploy's own steps: it
// creates no server group itself, so it takes no cluster lock either.
func (s *customStrategy) plan() ([]string, error) {
	return []string{StartStrategyPipelineTask{}.Name(), MonitorStrategyPipelineTask{}.Name()}, nil
}

// StartStrategyPipelineTask starts the custom strategy's pipeline once.
type StartStrategyPipelineTask struct{}

// Name implements Task.
func (StartStrategyPipelineTask) Name() string { return "StartStrategyPipeline" }

// Execute implements Task.
func (StartStrategyPipelineTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	spec, err := d.resolve(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	custom, ok := spec.strategy.(*customStrategy)
	if !ok {
		return stages.Failed("the cluster's strategy is not custom"), nil
	}
	app := custom.StrategyApplication
	if app == "" {
		app = spec.cluster.App
	}
	if custom.StrategyPipeline == "" {
		return stages.Failed("strategyPipeline is required with the custom strategy: the id of the strategy pipeline to run"), nil
	}
	c, err := cloudAt(run, spec.location)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	params := stages.Record(strategyParameters{
		Application: spec.cluster.App,
		Credentials: spec.location.Account,
		Cluster:     spec.cluster.String(),
		Moniker: strategyMoniker{
			App: spec.cluster.App, Stack: spec.cluster.Stack, Detail: spec.cluster.Detail, Cluster: spec.cluster.String(),
		},
		Region:           spec.location.Region,
		CloudProvider:    c.Account.Provider,
		Strategy:         true,
		Clone:            run.Stage.Type == "cloneServerGroup",
		ParentPipelineID: string(run.Execution.ID),
		ParentStageID:    string(run.Stage.ID),
	})
	maps.Copy(params, custom.PipelineParameters)
	id, name, err := startChildPipeline(ctx, run, childPipeline{Application: app, PipelineID: custom.StrategyPipeline, Parameters: params, Key: "strategy"})
	if err != nil {
		return stages.Failed("custom strategy: %v", err), nil
	}
	return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(struct {
		ExecutionID   string `json:"executionId"`
		ExecutionName string `json:"executionName,omitempty"`
	}{string(id), name})}, nil
}

// strategyParameters are the parameters orca passes a strategy pipeline,
// before the cluster's pipelineParameters.
type strategyParameters struct {
	Application      string          `json:"application"`
	Credentials      string          `json:"credentials"`
	Cluster          string          `json:"cluster"`
	Moniker          strategyMoniker `json:"moniker"`
	Region           string          `json:"region"`
	CloudProvider    string          `json:"cloudProvider"`
	Strategy         bool            `json:"strategy"`
	Clone            bool            `json:"clone"`
	ParentPipelineID string          `json:"parentPipelineId"`
	ParentStageID    string          `json:"parentStageId"`
}

// strategyMoniker is the deployed cluster's moniker.
type strategyMoniker struct {
	App     string `json:"app"`
	Stack   string `json:"stack"`
	Detail  string `json:"detail"`
	Cluster string `json:"cluster"`
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
	d, err := deployConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	id := d.StrategyExecutionID
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
		stages.SetErrors(res.Context, msgs)
	}
	return res, nil
}

// Cancel implements Canceler: canceling the deploy cancels its strategy.
func (MonitorStrategyPipelineTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return nil, err
	}
	return nil, cancelChildPipeline(ctx, run, d.StrategyExecutionID)
}

// A deploy stage of a strategy pipeline with an empty clusters list deploys
// the cluster of the deploy stage that started the pipeline, with strategy
// none, as orca's deploy stage does for a strategy trigger.

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
	d, err := deployConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if !d.deploysParent() {
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
		if len(ps.Tasks) == 0 || (ps.Type == "cloneServerGroup" && !cloneResolved(ps)) {
			return stages.Result{Status: model.StatusRunning, Backoff: deployPollBackoff, Context: stages.Record(waitingFor{"the parent deploy stage " + parentStageID})}, nil
		}
		return stages.Succeeded(), nil
	})
	if err != nil || r.Status != model.StatusSucceeded {
		return r, err
	}
	// The parent's cluster is copied as its JSON is, not from a typed
	// view, so that every field Spinnaker set on it reaches this deploy.
	c, err := rawCluster(ps.Context)
	if err != nil {
		return stages.Failed("the parent deploy stage %q: %v", ps.Name, err), nil
	}
	cluster := maps.Clone(c)
	for _, k := range parentClusterSkip {
		delete(cluster, k)
	}
	cluster["strategy"] = "none"
	if _, ok := cluster["artifact"]; !ok {
		region, _ := cluster["region"].(string)
		if a := artifactFor(parent, nil, region); a != nil {
			cluster["artifact"] = a
		}
	}
	if err := applyTrafficOptions(cluster, d.TrafficOptions); err != nil {
		return stages.Failed("%v", err), nil
	}
	return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(parentCluster{
		Clusters:        []any{cluster},
		StrategyParent:  parentID + "/" + parentStageID,
		ParentStageName: ps.Name,
	})}, nil
}

// parentCluster is what a deploy stage in a strategy pipeline records once
// it has read the cluster of the deploy stage whose strategy it runs.
type parentCluster struct {
	// Clusters holds the parent's cluster as its JSON is.
	Clusters []any `json:"clusters"`
	// StrategyParent is the parent stage, as runID/stageID.
	StrategyParent string `json:"strategyParent"`
	// WaitingFor is always null: it clears what the wait recorded.
	WaitingFor      *string `json:"waitingFor"`
	ParentStageName string  `json:"parentStageName"`
}

// cloneResolved reports whether a clone stage has read its source, which
// fills in its cluster.
func cloneResolved(s *model.StageExecution) bool {
	var state deployState
	_ = stages.Decode(s.Context, &state) // another stage's context: what fits
	return state.CloneSource != ""
}

// rawCluster is a deploy stage's cluster as its context holds it: the one
// entry of clusters, or the stage itself.
func rawCluster(ctx map[string]any) (map[string]any, error) {
	raw, ok := ctx["clusters"]
	if !ok || raw == nil {
		return ctx, nil
	}
	list, _ := raw.([]any)
	if len(list) != 1 {
		return nil, fmt.Errorf("clusters: gennaker deploys one cluster per stage, got %d; add a stage per cluster", len(list))
	}
	m, isMap := list[0].(map[string]any)
	if !isMap {
		return nil, fmt.Errorf("clusters[0]: must be an object, not %s", stages.Describe(list[0]))
	}
	return m, nil
}

// suspendedAddToLoadBalancer is the AWS process whose suspension creates a
// server group out of its load balancers' rotation.
const suspendedAddToLoadBalancer = "AddToLoadBalancer"

// applyTrafficOptions is orca's trafficOptions of a strategy pipeline's
// deploy: inherit the parent's traffic settings, or create the server
// group in rotation (enable) or out of it (disable).
func applyTrafficOptions(cluster map[string]any, opt string) error {
	if err := checkTrafficOptions(opt); err != nil {
		return err
	}
	if opt == "" || opt == "inherit" {
		return nil
	}
	var c struct {
		SuspendedProcesses []string `json:"suspendedProcesses"`
	}
	if err := stages.Decode(cluster, &c).Err(); err != nil {
		return err
	}
	suspended := c.SuspendedProcesses
	if opt == "enable" {
		suspended = slices.DeleteFunc(suspended, func(s string) bool { return s == suspendedAddToLoadBalancer })
	} else if !slices.Contains(suspended, suspendedAddToLoadBalancer) {
		suspended = append(suspended, suspendedAddToLoadBalancer)
	}
	list := make([]any, len(suspended))
	for i, s := range suspended {
		list[i] = s
	}
	cluster["suspendedProcesses"] = list
	return nil
}

// checkTrafficOptions checks a strategy pipeline deploy's trafficOptions.
func checkTrafficOptions(opt string) error {
	switch opt {
	case "", "inherit", "enable", "disable":
		return nil
	}
	return fmt.Errorf("trafficOptions %q is not inherit, enable or disable", opt)
}
