package cluster

import (
	"context"
	"fmt"
	"strings"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
)

// FindImageFromClusterStage is Spinnaker's "findImageFromCluster": find
// what a cluster's server groups run, so a later deploy can deploy it again.
// For the local provider the image is the server group's local/command
// artifact. selectionStrategy picks among server groups (NEWEST, OLDEST,
// LARGEST, or FAIL when they run different images); onlyEnabled (default
// true) considers only enabled ones.
//
// Spinnaker's pipelines name it findImage (findAmi in older ones); it acts
// in every region of regions, and a deploy in a region takes the image
// found there.
type FindImageFromClusterStage struct {
	env *deployEnv
	typ string
}

// findImageConfig is a findImageFromCluster stage's configuration.
type findImageConfig struct {
	clusterFields
	// OnlyEnabled considers only enabled server groups; unset means true.
	OnlyEnabled       *bool  `json:"onlyEnabled"`
	SelectionStrategy string `json:"selectionStrategy"`
}

// Type implements Definition.
func (s *FindImageFromClusterStage) Type() string { return s.typ }

// Validate implements Definition.
func (s *FindImageFromClusterStage) Validate(st *model.Stage) []model.Problem {
	var cfg findImageConfig
	_, p := stages.DecodeConfig(st, &cfg)
	cfg.validate(s.env, &p)
	if sel := cfg.SelectionStrategy; sel != "" && !stages.IsExpression(sel) {
		switch strings.ToUpper(sel) {
		case "NEWEST", "OLDEST", "LARGEST", "FAIL":
		default:
			p.Add("selectionStrategy", "%q is not NEWEST, OLDEST, LARGEST or FAIL", sel)
		}
	}
	return p
}

// Config implements Configurer.
func (s *FindImageFromClusterStage) Config(e *model.StageExecution) (any, error) {
	var c findImageConfig
	return &c, decodeStage(e, &c)
}

// Plan implements Definition.
func (s *FindImageFromClusterStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{FindImageFromClusterTask{}.Name()}, nil
}

// FindImageFromClusterTask finds the image and offers it to later stages as
// deploymentDetails, artifacts and artifact.
type FindImageFromClusterTask struct{}

// Name implements Task.
func (FindImageFromClusterTask) Name() string { return "FindImageFromCluster" }

// Execute implements Task.
func (FindImageFromClusterTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*findImageConfig](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	regions := []string{""}
	if len(cfg.Regions) > 1 {
		regions = cfg.Regions
	}
	var found foundImage
	for _, region := range regions {
		at := cfg.clusterFields
		if region != "" {
			at.Regions = []string{region}
		}
		d, err := findImageIn(ctx, run, cfg, &at)
		if r, ok := throttled(err); ok {
			return r, nil
		}
		if err != nil {
			return stages.Failed("%v", err), nil
		}
		found.DeploymentDetails = append(found.DeploymentDetails, d)
		found.Artifacts = append(found.Artifacts, d.Artifact)
		found.Artifact = d.Artifact
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: stages.Record(found)}, nil
}

// findImageIn finds the image of the cluster at one location.
func findImageIn(ctx context.Context, run *stages.Run, cfg *findImageConfig, at *clusterFields) (deploymentDetail, error) {
	l, err := at.location()
	if err != nil {
		return deploymentDetail{}, err
	}
	c, err := cloudAt(run, l)
	if err != nil {
		return deploymentDetail{}, err
	}
	cluster := at.clusterName()
	all, err := clusterGroups(ctx, c, l.Region, cluster)
	if err != nil {
		return deploymentDetail{}, err
	}
	onlyEnabled := cfg.OnlyEnabled == nil || *cfg.OnlyEnabled
	var groups []providers.ServerGroup
	for _, g := range all {
		if !onlyEnabled || !g.Disabled {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		return deploymentDetail{}, fmt.Errorf("cluster %s in %s has no %sserver group to find an image in", cluster, l, map[bool]string{true: "enabled ", false: ""}[onlyEnabled])
	}
	sel := cfg.SelectionStrategy
	var pick *providers.ServerGroup
	switch strings.ToUpper(sel) {
	case "", "NEWEST":
		pick, _ = selectTarget(groups, targetCurrent)
	case "OLDEST":
		pick, _ = selectTarget(groups, targetOldest)
	case "LARGEST":
		pick, _ = selectTarget(groups, targetLargest)
	case "FAIL":
		first := imageName(groups[0].Artifact)
		for _, g := range groups[1:] {
			if imageName(g.Artifact) != first {
				return deploymentDetail{}, fmt.Errorf("cluster %s in %s runs more than one image (%s and %s) and selectionStrategy is FAIL", cluster, l, first, imageName(g.Artifact))
			}
		}
		pick = &groups[len(groups)-1]
	default:
		return deploymentDetail{}, fmt.Errorf("selectionStrategy %q is not NEWEST, OLDEST, LARGEST or FAIL", sel)
	}
	d := deploymentDetail{
		Region: l.Region, CloudProvider: c.Account.Provider, ServerGroup: pick.Name,
		ImageName: imageName(pick.Artifact), ImageID: imageName(pick.Artifact), Artifact: pick.Artifact,
	}
	if id, _ := pick.Artifact["reference"].(string); strings.HasPrefix(id, "ami-") {
		d.ImageID, d.AMI = id, id
		d.ImageName, _ = pick.Artifact["name"].(string)
	}
	return d, nil
}

// foundImage is what findImageFromCluster offers later stages, in
// Spinnaker's shape; a deploy reads deploymentDetails (artifactFor).
type foundImage struct {
	DeploymentDetails []deploymentDetail `json:"deploymentDetails"`
	Artifacts         []map[string]any   `json:"artifacts"`
	Artifact          map[string]any     `json:"artifact"`
}

// deploymentDetail is an image found in a region.
type deploymentDetail struct {
	// Region is where the image was found; a detail without one serves
	// every region.
	Region        string `json:"region,omitempty"`
	CloudProvider string `json:"cloudProvider,omitempty"`
	ServerGroup   string `json:"serverGroup,omitempty"`
	ImageName     string `json:"imageName,omitempty"`
	ImageID       string `json:"imageId,omitempty"`
	// AMI is an AWS image's id, as bake and findImage record it.
	AMI      string         `json:"ami,omitempty"`
	Artifact map[string]any `json:"artifact"`
}

func imageName(artifact map[string]any) string {
	name, _ := artifact["name"].(string)
	if name == "" {
		name, _ = artifact["command"].(string)
	}
	if name == "" {
		name, _ = artifact["reference"].(string)
	}
	if v, _ := artifact["version"].(string); v != "" {
		name += ":" + v
	}
	if env, ok := artifact["env"].(map[string]any); ok && name != "" {
		if v, _ := env["VERSION"].(string); v != "" && !strings.Contains(name, ":") {
			name += ":" + v
		}
	}
	return name
}
