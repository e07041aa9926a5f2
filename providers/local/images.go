package local

import (
	"context"
	"sort"
	"strings"

	"github.com/gennaker/gennaker/providers"
)

// images are the artifacts the account's server groups run: the local
// provider has no image store of its own.
type images struct{ c *cloud }

var _ providers.Images = images{}

// ImageName names a local/command artifact: its name and version when set,
// else its command.
func ImageName(artifact map[string]any) string {
	name, _ := artifact["name"].(string)
	if name == "" {
		name, _ = artifact["command"].(string)
	}
	if v, _ := artifact["version"].(string); v != "" {
		name += ":" + v
	}
	return name
}

// Find implements providers.Images.
func (i images) Find(ctx context.Context, query string) ([]providers.Image, error) {
	groups, err := serverGroups(i).List(ctx, "")
	if err != nil {
		return nil, err
	}
	// Groups come oldest first, so an image run by several is listed from
	// when it was first seen: deploying it again does not make it newer.
	seen := map[string]bool{}
	out := []providers.Image{}
	for _, g := range groups {
		name := ImageName(g.Artifact)
		if seen[g.Region+"/"+name] || !strings.Contains(name, query) {
			continue
		}
		seen[g.Region+"/"+name] = true
		out = append(out, providers.Image{Name: name, Region: g.Region, Artifact: g.Artifact, CreatedTime: g.CreatedTime})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].CreatedTime > out[b].CreatedTime })
	return out, nil
}
