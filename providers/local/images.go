package local

import (
	"context"
	"encoding/json"
	"fmt"
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

var _ providers.ImageTags = images{}

// imageTagsPrefix keys the tags of an image: account/region/name.
const imageTagsPrefix = "imagetags/"

// tags returns the tags recorded for an image.
func (i images) tags(ctx context.Context, region, name string) (map[string]string, error) {
	v, found, err := i.c.p.opts.Records.Get(ctx, recordKey(imageTagsPrefix, i.c.acct.Name, region, name))
	if err != nil || !found {
		return map[string]string{}, err
	}
	tags := map[string]string{}
	if err := json.Unmarshal(v, &tags); err != nil {
		return nil, fmt.Errorf("local provider: tags of image %s: %w", name, err)
	}
	return tags, nil
}

// FindTagged implements providers.ImageTags: the images server groups
// of region run whose name starts with prefix and that carry every tag.
// A local image's id is its name.
func (i images) FindTagged(ctx context.Context, region, prefix string, want map[string]string) ([]providers.Image, error) {
	all, err := i.Find(ctx, "")
	if err != nil {
		return nil, err
	}
	out := []providers.Image{}
	for _, im := range all {
		if im.Region != region || !strings.HasPrefix(im.Name, prefix) {
			continue
		}
		tags, err := i.tags(ctx, region, im.Name)
		if err != nil {
			return nil, err
		}
		matches := true
		for k, v := range want {
			matches = matches && tags[k] == v
		}
		if matches {
			im.ID, im.Tags = im.Name, tags
			out = append(out, im)
		}
	}
	return out, nil
}

// TagImages implements providers.ImageTags; ids are image names.
func (i images) TagImages(ctx context.Context, region string, ids []string, tags map[string]string) error {
	all, err := i.Find(ctx, "")
	if err != nil {
		return err
	}
	for _, id := range ids {
		known := false
		for _, im := range all {
			known = known || (im.Region == region && im.Name == id)
		}
		if !known {
			return fmt.Errorf("image %s in %s/%s: %w", id, i.c.acct.Name, region, providers.ErrNotFound)
		}
		cur, err := i.tags(ctx, region, id)
		if err != nil {
			return err
		}
		for k, v := range tags {
			cur[k] = v
		}
		if err := i.c.p.put(ctx, recordKey(imageTagsPrefix, i.c.acct.Name, region, id), cur); err != nil {
			return err
		}
	}
	return nil
}
