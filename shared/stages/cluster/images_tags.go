package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// FindImageFromTagsStage is Spinnaker's "findImageFromTags": in each
// region, the newest image whose name starts with packageName and that
// carries every tag of tags, offered to later deploys as deploymentDetails.
// An image not there yet (a bake still being tagged) is waited for.
type FindImageFromTagsStage struct{ env *deployEnv }

// imageTagsConfig is the configuration of findImageFromTags and
// upsertImageTags.
type imageTagsConfig struct {
	stageFields
	CloudProvider     string            `json:"cloudProvider"`
	CloudProviderType string            `json:"cloudProviderType"`
	Credentials       string            `json:"credentials"`
	Account           string            `json:"account"`
	Regions           []string          `json:"regions"`
	Region            string            `json:"region"`
	PackageName       string            `json:"packageName"`
	Tags              map[string]string `json:"tags"`
	// ImageNames name the images upsertImageTags tags; by default, those
	// earlier stages found or baked.
	ImageNames []string `json:"imageNames"`
}

func (c *imageTagsConfig) provider() string {
	return cmp.Or(c.CloudProvider, cmp.Or(c.CloudProviderType, "aws"))
}

func (c *imageTagsConfig) regions() []string {
	if len(c.Regions) > 0 {
		return c.Regions
	}
	if c.Region != "" {
		return []string{c.Region}
	}
	return nil
}

// imageTagsAt returns what finds and tags images of provider in region: the
// named account's, else the first account of the provider in the region.
func imageTagsAt(run *stages.Run, provider, account, region string) (providers.ImageTags, string, error) {
	reg, err := registryOf(run)
	if err != nil {
		return nil, "", err
	}
	if account == "" {
		for _, a := range reg.Accounts() {
			if a.Provider == provider && slices.Contains(a.Regions, region) {
				account = a.Name
				break
			}
		}
		if account == "" {
			return nil, "", fmt.Errorf("no %s account has region %s: name one in credentials", provider, region)
		}
	}
	images, err := reg.Images(account, provider)
	if err != nil {
		return nil, "", err
	}
	it, ok := images.(providers.ImageTags)
	if !ok {
		return nil, "", fmt.Errorf("account %q (%s): images by tags %w", account, provider, providers.ErrUnsupported)
	}
	return it, account, nil
}

// Type implements Definition.
func (*FindImageFromTagsStage) Type() string { return "findImageFromTags" }

// Validate implements Definition.
func (s *FindImageFromTagsStage) Validate(st *model.Stage) []model.Problem {
	var cfg imageTagsConfig
	_, p := stages.DecodeConfig(st, &cfg)
	if cfg.PackageName == "" && !hasProblem(p, "packageName") {
		p.Add("packageName", "is required: the start of the image's name")
	}
	if len(cfg.regions()) == 0 && !hasProblem(p, "regions") {
		p.Add("regions", "is required: the regions to find the image in")
	}
	if reg := s.env.providers.Load(); reg != nil && !stages.IsExpression(cfg.provider()) {
		if err := reg.Check(cfg.provider(), cmp.Or(cfg.Credentials, cfg.Account)); err != nil {
			p.Add("cloudProvider", "%v", err)
		}
	}
	return p
}

// Config implements Configurer.
func (*FindImageFromTagsStage) Config(e *model.StageExecution) (any, error) {
	var c imageTagsConfig
	return &c, decodeStage(e, &c)
}

// Plan implements Definition.
func (*FindImageFromTagsStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{FindImageFromTagsTask{}.Name()}, nil
}

// FindImageFromTagsTask finds the tagged image in every region.
type FindImageFromTagsTask struct{}

// Name implements Task.
func (FindImageFromTagsTask) Name() string { return "FindImageFromTags" }

// Timeout implements TimeoutTask: how long an image is waited for.
func (FindImageFromTagsTask) Timeout(s *model.StageExecution) time.Duration {
	return stages.OverridableTimeout(s, 5*time.Minute)
}

// Execute implements Task.
func (FindImageFromTagsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*imageTagsConfig](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	var found foundImage
	var missing []string
	for _, region := range cfg.regions() {
		it, _, err := imageTagsAt(run, cfg.provider(), cmp.Or(cfg.Credentials, cfg.Account), region)
		if err != nil {
			return stages.Failed("%v", err), nil
		}
		list, err := it.FindTagged(ctx, region, cfg.PackageName, cfg.Tags)
		if r, ok := throttled(err); ok {
			return r, nil
		}
		if err != nil {
			return stages.Failed("%v", err), nil
		}
		if len(list) == 0 {
			missing = append(missing, region)
			continue
		}
		im := list[0]
		d := deploymentDetail{Region: region, CloudProvider: cfg.provider(), ImageName: im.Name, ImageID: im.ID, AMI: im.ID, Artifact: im.Artifact}
		found.DeploymentDetails = append(found.DeploymentDetails, d)
		found.Artifacts = append(found.Artifacts, im.Artifact)
		found.Artifact = im.Artifact
	}
	if len(missing) > 0 {
		return stages.Result{Status: model.StatusRunning, Backoff: 10 * time.Second, Context: stages.Record(waitingFor{
			fmt.Sprintf("an image named %s* tagged %v in %v", cfg.PackageName, cfg.Tags, missing)})}, nil
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: stages.Record(found)}, nil
}

// UpsertImageTagsStage is Spinnaker's "upsertImageTags": set tags on the
// images earlier stages baked or found (or those imageNames names), in
// each of their regions.
type UpsertImageTagsStage struct{ env *deployEnv }

// Type implements Definition.
func (*UpsertImageTagsStage) Type() string { return "upsertImageTags" }

// Validate implements Definition.
func (s *UpsertImageTagsStage) Validate(st *model.Stage) []model.Problem {
	var cfg imageTagsConfig
	_, p := stages.DecodeConfig(st, &cfg)
	if len(cfg.Tags) == 0 && !hasProblem(p, "tags") {
		p.Add("tags", "is required: the tags to set")
	}
	return p
}

// Config implements Configurer.
func (*UpsertImageTagsStage) Config(e *model.StageExecution) (any, error) {
	var c imageTagsConfig
	return &c, decodeStage(e, &c)
}

// Plan implements Definition.
func (*UpsertImageTagsStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{UpsertImageTagsTask{}.Name()}, nil
}

// UpsertImageTagsTask tags the images. Tagging is idempotent, so a retry
// tags them again.
type UpsertImageTagsTask struct{}

// Name implements Task.
func (UpsertImageTagsTask) Name() string { return "UpsertImageTags" }

// Execute implements Task.
func (UpsertImageTagsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*imageTagsConfig](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	// region → image ids
	targets := map[string][]string{}
	var names []string
	if len(cfg.ImageNames) > 0 {
		for _, region := range cfg.regions() {
			it, _, err := imageTagsAt(run, cfg.provider(), cmp.Or(cfg.Credentials, cfg.Account), region)
			if err != nil {
				return stages.Failed("%v", err), nil
			}
			for _, n := range cfg.ImageNames {
				list, err := it.FindTagged(ctx, region, n, nil)
				if r, ok := throttled(err); ok {
					return r, nil
				}
				if err != nil {
					return stages.Failed("%v", err), nil
				}
				for _, im := range list {
					if im.Name == n {
						targets[region] = append(targets[region], im.ID)
						names = append(names, n)
					}
				}
			}
		}
	} else if run.Execution != nil {
		for i := range run.Execution.Stages {
			var found foundImage
			_ = stages.Decode(run.Execution.Stages[i].Outputs, &found) // another stage's outputs: take what fits
			for _, d := range found.DeploymentDetails {
				id := cmp.Or(d.AMI, d.ImageID)
				if d.Region == "" || id == "" || (len(cfg.regions()) > 0 && !slices.Contains(cfg.regions(), d.Region)) {
					continue
				}
				if !slices.Contains(targets[d.Region], id) {
					targets[d.Region] = append(targets[d.Region], id)
					names = append(names, d.ImageName)
				}
			}
		}
	}
	if len(targets) == 0 {
		return stages.Failed("no image to tag: name them in imageNames, or put a bake or findImage stage before this one"), nil
	}
	for _, region := range slicesSortedKeys(targets) {
		it, _, err := imageTagsAt(run, cfg.provider(), cmp.Or(cfg.Credentials, cfg.Account), region)
		if err != nil {
			return stages.Failed("%v", err), nil
		}
		err = it.TagImages(ctx, region, targets[region], cfg.Tags)
		if r, ok := throttled(err); ok {
			return r, nil
		}
		if errors.Is(err, providers.ErrNotFound) || err != nil {
			return stages.Failed("%v", err), nil
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: stages.Record(struct {
		Images map[string][]string `json:"taggedImages"`
		Names  []string            `json:"imageNames"`
	}{targets, sortedNames(names)})}, nil
}

func slicesSortedKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
