package cluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// A deploy stage of several clusters deploys each as a createServerGroup
// stage of its own, in parallel, as orca's parallel deploy does; so does a
// deploy in Spinnaker's older shape, whose one cluster is in "cluster" with
// its account on the stage. Each part takes its own cluster lock and runs
// its own strategy; the deploy itself then gathers what they deployed.

// locationKeys are the stage fields a part takes when its cluster lacks
// them (the older shape keeps the account on the stage).
var locationKeys = []string{"account", "credentials", "cloudProvider", "provider", "region", "regions"}

// parallelClusters returns the clusters a deploy stage deploys as stages of
// their own, and the path of each in the stage; none when the stage deploys
// its one cluster itself.
func parallelClusters(cfg map[string]any) ([]map[string]any, []string) {
	var clusters []map[string]any
	var paths []string
	switch list := cfg["clusters"].(type) {
	case []any:
		if len(list) < 2 && !(len(list) == 1 && len(regionsOf(list[0])) > 1) {
			return nil, nil
		}
		for i, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, nil // not a cluster: Validate says so
			}
			for _, c := range perRegion(m) {
				clusters = append(clusters, c)
				paths = append(paths, stages.Path("clusters", i))
			}
		}
	case nil:
		m, ok := cfg["cluster"].(map[string]any)
		if !ok {
			return nil, nil
		}
		for _, c := range perRegion(m) {
			clusters = append(clusters, c)
			paths = append(paths, "cluster")
		}
	default:
		return nil, nil
	}
	return clusters, paths
}

// parts are the createServerGroup stages a deploy stage runs as.
func parts(cfg map[string]any) ([]stages.Synthetic, []string) {
	clusters, paths := parallelClusters(cfg)
	out := make([]stages.Synthetic, 0, len(clusters))
	for _, c := range clusters {
		ctx := maps.Clone(c)
		for _, k := range locationKeys {
			if _, set := ctx[k]; !set && cfg[k] != nil {
				ctx[k] = cfg[k]
			}
		}
		for _, k := range []string{"stageTimeoutMs", "failOnFailedExpressions"} {
			if v, set := cfg[k]; set {
				ctx[k] = v
			}
		}
		out = append(out, stages.Synthetic{Type: "createServerGroup", Name: partName(ctx), Context: ctx})
	}
	return out, paths
}

// partName names a part as Deck shows a deploy's: the cluster and where.
func partName(c map[string]any) string {
	var spec clusterSpec
	_ = stages.Decode(c, &spec)
	name := spec.Application
	for _, s := range []string{spec.Stack, spec.FreeFormDetails} {
		if s != "" {
			name += "-" + s
		}
	}
	if name == "" {
		name = "cluster"
	}
	where := spec.Account
	if where == "" {
		where = spec.Credentials
	}
	if r := spec.Region; r != "" {
		where += "/" + r
	} else if len(spec.Regions) > 0 {
		where += "/" + spec.Regions[0]
	} else if rs := slices.Sorted(maps.Keys(spec.AvailabilityZones)); len(rs) > 0 {
		where += "/" + strings.Join(rs, ",")
	}
	if where == "" {
		return "Deploy " + name
	}
	return fmt.Sprintf("Deploy %s in %s", name, where)
}

// Expand implements stages.Expander.
func (d *DeployStage) Expand(s *model.Stage) []stages.Synthetic {
	if d.typ != "deploy" {
		return nil
	}
	cfg, err := s.Config()
	if err != nil {
		return nil
	}
	out, _ := parts(cfg)
	return out
}

// validateParts checks each cluster of a parallel deploy as the
// createServerGroup stage it runs as, at its path in the deploy.
func (d *DeployStage) validateParts(cfg map[string]any) (stages.Problems, bool) {
	syn, paths := parts(cfg)
	if len(syn) == 0 {
		return nil, false
	}
	part := &DeployStage{env: d.env, typ: "createServerGroup"}
	var p stages.Problems
	for i, sy := range syn {
		stage, err := model.StageFromConfig(sy.Context)
		if err != nil {
			p.Add(paths[i], "%v", err)
			continue
		}
		stage.Type = sy.Type
		for _, pr := range part.Validate(stage) {
			pr.Path = stages.Path(paths[i], pr.Path)
			if !slices.Contains(p, pr) { // a cluster of several regions is several parts
				p = append(p, pr)
			}
		}
	}
	return p, true
}

// parallelDeploy is the configuration of a deploy that runs as parts: it
// reads nothing of its own.
type parallelDeploy struct{}

// CompleteParallelDeployTask ends a deploy that ran as parts, with what the
// parts deployed as its own outputs, so later stages find every new server
// group under the deploy's name.
type CompleteParallelDeployTask struct{}

// Name implements Task.
func (CompleteParallelDeployTask) Name() string { return "CompleteParallelDeploy" }

// Execute implements Task.
func (CompleteParallelDeployTask) Execute(_ context.Context, run *stages.Run) (stages.Result, error) {
	deployed := map[string][]string{}
	for i := range run.Execution.Stages {
		part := &run.Execution.Stages[i]
		if part.ParentStageID != run.Stage.ID {
			continue
		}
		var out deployOutputs
		_ = stages.Decode(part.Outputs, &out) // another stage's outputs: take what fits
		for region, names := range out.Deployed {
			for _, n := range names {
				if !slices.Contains(deployed[region], n) {
					deployed[region] = append(deployed[region], n)
				}
			}
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: stages.Record(parallelOutputs{Deployed: deployed})}, nil
}

// parallelOutputs are a parallel deploy's outputs: Spinnaker's
// deploy.server.groups, region to names, of every part.
type parallelOutputs struct {
	Deployed map[string][]string `json:"deploy.server.groups"`
}

// regionsOf lists, sorted, the regions of a cluster's availabilityZones
// when the cluster names no region of its own.
func regionsOf(cluster any) []string {
	m, ok := cluster.(map[string]any)
	if !ok || m["region"] != nil || m["regions"] != nil {
		return nil
	}
	zones, ok := m["availabilityZones"].(map[string]any)
	if !ok {
		return nil
	}
	return slices.Sorted(maps.Keys(zones))
}

// perRegion is the cluster as one cluster per region of its
// availabilityZones, as Spinnaker deploys one server group per region.
func perRegion(cluster map[string]any) []map[string]any {
	regions := regionsOf(cluster)
	if len(regions) < 2 {
		return []map[string]any{cluster}
	}
	zones := cluster["availabilityZones"].(map[string]any)
	out := make([]map[string]any, 0, len(regions))
	for _, r := range regions {
		c := maps.Clone(cluster)
		c["availabilityZones"] = map[string]any{r: zones[r]}
		out = append(out, c)
	}
	return out
}
