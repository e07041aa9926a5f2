package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gennaker/gennaker/providers"
)

// images are an account's AMIs: those it owns, in each of its regions.
type images struct{ c *cloud }

var (
	_ providers.Images    = images{}
	_ providers.ImageTags = images{}
)

// Find implements providers.Images: the account's own AMIs whose name
// contains query, in every region, newest first.
func (im images) Find(ctx context.Context, query string) ([]providers.Image, error) {
	var out []providers.Image
	for _, region := range im.c.acct.Regions {
		found, err := im.describe(ctx, region, "*"+query+"*", nil)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	sortNewestFirst(out)
	return out, nil
}

// FindTagged implements providers.ImageTags. Public images are searched
// too: a bakery's AMIs are often shared from another account.
func (im images) FindTagged(ctx context.Context, region, prefix string, tags map[string]string) ([]providers.Image, error) {
	out, err := im.describe(ctx, region, prefix+"*", tags)
	if err != nil {
		return nil, err
	}
	sortNewestFirst(out)
	return out, nil
}

func (im images) describe(ctx context.Context, region, pattern string, tags map[string]string) ([]providers.Image, error) {
	cl, err := im.c.client(ctx, region)
	if err != nil {
		return nil, err
	}
	in := &ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{pattern}}}}
	if tags == nil {
		in.Owners = []string{"self"}
	}
	for k, v := range tags {
		in.Filters = append(in.Filters, ec2types.Filter{Name: aws.String("tag:" + k), Values: []string{v}})
	}
	resp, err := call(ctx, im.c.retry, "DescribeImages", func() (*ec2.DescribeImagesOutput, error) { return cl.DescribeImages(ctx, in) })
	if err != nil {
		return nil, fmt.Errorf("images %s in %s/%s: %w", pattern, im.c.acct.Name, region, err)
	}
	out := []providers.Image{}
	for _, img := range resp.Images {
		i := providers.Image{
			Name: aws.ToString(img.Name), ID: aws.ToString(img.ImageId), Region: region, Tags: map[string]string{},
			Artifact: map[string]any{"type": ArtifactType, "name": aws.ToString(img.Name), "reference": aws.ToString(img.ImageId), "location": region},
		}
		for _, t := range img.Tags {
			i.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if ts, err := time.Parse(time.RFC3339, aws.ToString(img.CreationDate)); err == nil {
			i.CreatedTime = ts.UnixMilli()
		}
		out = append(out, i)
	}
	return out, nil
}

// TagImages implements providers.ImageTags.
func (im images) TagImages(ctx context.Context, region string, ids []string, tags map[string]string) error {
	cl, err := im.c.client(ctx, region)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	in := &ec2.CreateTagsInput{Resources: ids}
	for _, k := range keys {
		in.Tags = append(in.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	err = do(ctx, im.c.retry, "CreateTags", func() error { return cl.CreateTags(ctx, in) })
	if err != nil {
		if strings.HasPrefix(errorCode(err), "InvalidAMIID") {
			return fmt.Errorf("tag images %v in %s/%s: %w", ids, im.c.acct.Name, region, providers.ErrNotFound)
		}
		return fmt.Errorf("tag images %v in %s/%s: %w", ids, im.c.acct.Name, region, err)
	}
	return nil
}

func sortNewestFirst(list []providers.Image) {
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].CreatedTime != list[j].CreatedTime {
			return list[i].CreatedTime > list[j].CreatedTime
		}
		return list[i].Name > list[j].Name
	})
}
