package aws_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gennaker/gennaker/shared/model"
)

// findImage finds the AMI a cluster runs in each region, and the deploy
// after it launches that AMI in the same region.
func TestFindImageThenDeploy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	east := []string{"us-east-1"}
	west := []string{"us-west-2"}
	assertStatus(t, e.run(deployStage(amiV1, "redblack", 1, east, "")), model.StatusSucceeded)
	assertStatus(t, e.run(deployStage(amiV2, "redblack", 1, west, "")), model.StatusSucceeded)

	find := `{"refId": "find", "type": "findImage", "name": "Find image", "cloudProvider": "aws", "credentials": "prod",
	  "regions": ["us-east-1", "us-west-2"], "cluster": "shop-web", "selectionStrategy": "NEWEST", "onlyEnabled": true}`
	deploy := strings.Replace(deployStage("", "redblack", 1, regions, ""), `"stack": "web"`, `"stack": "api"`, 1)
	deploy = strings.Replace(deploy, `"refId": "deploy",`, `"refId": "deploy", "requisiteStageRefIds": ["find"],`, 1)
	ex := e.run(find, deploy)
	assertStatus(t, ex, model.StatusSucceeded)
	if got := e.launchedFrom("us-east-1", "shop-api-v000"); got != amiV1 {
		t.Fatalf("shop-api-v000 in us-east-1 launches %s, want %s, which shop-web runs there", got, amiV1)
	}
	if got := e.launchedFrom("us-west-2", "shop-api-v000"); got != amiV2 {
		t.Fatalf("shop-api-v000 in us-west-2 launches %s, want %s, which shop-web runs there", got, amiV2)
	}
}

// findImageFromTags finds a bakery's newest tagged AMI in each region, the
// deploy launches it, and upsertImageTags marks it released.
func TestFindImageFromTagsDeployAndTag(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ids := map[string]string{}
	for _, r := range regions {
		e.registerImage(r, "shop-1.0.0-h1", map[string]string{"stage": "candidate"})
	}
	time.Sleep(1100 * time.Millisecond) // AWS records creation to the second
	for _, r := range regions {
		ids[r] = e.registerImage(r, "shop-1.0.1-h2", map[string]string{"stage": "candidate"})
	}
	find := `{"refId": "find", "type": "findImageFromTags", "name": "Find baked image", "cloudProvider": "aws",
	  "packageName": "shop-", "tags": {"stage": "candidate"}, "regions": ["us-east-1", "us-west-2"]}`
	deploy := strings.Replace(deployStage("", "redblack", 1, regions, ""), `"refId": "deploy",`, `"refId": "deploy", "requisiteStageRefIds": ["find"],`, 1)
	tag := `{"refId": "tag", "type": "upsertImageTags", "name": "Mark released", "cloudProvider": "aws",
	  "requisiteStageRefIds": ["deploy"], "tags": {"stage": "released"}}`
	ex := e.run(find, deploy, tag)
	assertStatus(t, ex, model.StatusSucceeded)
	for _, r := range regions {
		if got := e.launchedFrom(r, "shop-web-v000"); got != ids[r] {
			t.Fatalf("shop-web-v000 in %s launches %s, want the newest candidate %s", r, got, ids[r])
		}
		if got := e.imageTags(r, ids[r]); got["stage"] != "released" {
			t.Fatalf("tags of %s in %s = %v, want stage released", ids[r], r, got)
		}
	}
}

// registerImage registers an AMI named name in region with tags and
// returns its id.
func (e *env) registerImage(region, name string, tags map[string]string) string {
	e.t.Helper()
	ctx := context.Background()
	c := ec2.NewFromConfig(e.config(region))
	out, err := c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(name), RootDeviceName: aws.String("/dev/xvda"), Architecture: ec2types.ArchitectureValuesX8664})
	if err != nil {
		e.t.Fatal(err)
	}
	var ts []ec2types.Tag
	for k, v := range tags {
		ts = append(ts, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{aws.ToString(out.ImageId)}, Tags: ts}); err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.ImageId)
}

// imageTags returns the tags AWS reports on an image.
func (e *env) imageTags(region, id string) map[string]string {
	e.t.Helper()
	out, err := ec2.NewFromConfig(e.config(region)).DescribeImages(context.Background(), &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil || len(out.Images) != 1 {
		e.t.Fatalf("image %s in %s: %v", id, region, err)
	}
	tags := map[string]string{}
	for _, t := range out.Images[0].Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags
}
