package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/naming"
)

// Create implements providers.ServerGroupCreator: a launch template named
// as the server group, with one version, and the Auto Scaling group
// launched from it with the cluster's settings. A group that exists is
// returned as it is.
func (c *cloud) Create(ctx context.Context, spec providers.ServerGroupSpec) (*providers.ServerGroup, error) {
	fail := func(err error) (*providers.ServerGroup, error) {
		return nil, fmt.Errorf("create server group %s in %s/%s: %w", spec.Name, c.acct.Name, spec.Region, err)
	}
	n, err := naming.ParseServerGroup(spec.Name)
	if err != nil {
		return fail(err)
	}
	cl, err := c.client(ctx, spec.Region)
	if err != nil {
		return fail(err)
	}
	if g, err := c.Get(ctx, spec.Region, spec.Name); err == nil {
		return g, nil
	} else if !errors.Is(err, providers.ErrNotFound) {
		return nil, err
	}
	s, err := readSettings(spec.Settings)
	if err != nil {
		return fail(err)
	}
	lt, imageName, err := c.launchTemplate(ctx, cl, spec, s)
	imageID := ""
	if lt != nil {
		imageID = aws.ToString(lt.LaunchTemplateData.ImageId)
	}
	if err != nil {
		return fail(err)
	}
	in, err := c.groupInput(ctx, cl, spec, s, n, imageName, imageID)
	if err != nil {
		return fail(err)
	}
	if err := do(ctx, c.retry, "CreateLaunchTemplate", func() error { return cl.CreateLaunchTemplate(ctx, lt) }); err != nil &&
		!strings.Contains(errorCode(err), "AlreadyExists") {
		return fail(fmt.Errorf("launch template: %w", err))
	}
	off := spec.Disabled || slices.Contains(s.SuspendedProcesses, addToLoadBalancer)
	if off {
		// Out of rotation from the start: no instance before
		// AddToLoadBalancer is suspended.
		in.MinSize, in.DesiredCapacity = aws.Int32(0), aws.Int32(0)
	}
	if err := do(ctx, c.retry, "CreateAutoScalingGroup", func() error { return cl.CreateAutoScalingGroup(ctx, in) }); err != nil &&
		errorCode(err) != "AlreadyExists" {
		return fail(err)
	}
	suspend := slices.DeleteFunc(slices.Clone(s.SuspendedProcesses), func(p string) bool { return p == addToLoadBalancer })
	if off {
		suspend = append(suspend, addToLoadBalancer)
	}
	if len(suspend) > 0 {
		if err := do(ctx, c.retry, "SuspendProcesses", func() error {
			return cl.SuspendProcesses(ctx, &autoscaling.SuspendProcessesInput{AutoScalingGroupName: aws.String(spec.Name), ScalingProcesses: suspend})
		}); err != nil {
			return fail(err)
		}
	}
	if len(s.EnabledMetrics) > 0 {
		if err := do(ctx, c.retry, "EnableMetricsCollection", func() error {
			return cl.EnableMetricsCollection(ctx, &autoscaling.EnableMetricsCollectionInput{
				AutoScalingGroupName: aws.String(spec.Name), Granularity: aws.String("1Minute"), Metrics: s.EnabledMetrics,
			})
		}); err != nil {
			return fail(err)
		}
	}
	if off && spec.Capacity.Desired > 0 {
		if err := c.Resize(ctx, spec.Region, spec.Name, spec.Capacity); err != nil {
			return nil, err
		}
	}
	return c.Get(ctx, spec.Region, spec.Name)
}

// launchTemplate is the launch template of a new group, and the name of its
// image when known.
func (c *cloud) launchTemplate(ctx context.Context, cl Client, spec providers.ServerGroupSpec, s settings) (*ec2.CreateLaunchTemplateInput, string, error) {
	imageID, imageName, err := c.image(ctx, cl, spec, s)
	if err != nil {
		return nil, "", err
	}
	if s.InstanceType == "" {
		return nil, "", errors.New("instanceType is required, such as m5.large")
	}
	d := &ec2types.RequestLaunchTemplateData{
		ImageId:      aws.String(imageID),
		InstanceType: ec2types.InstanceType(s.InstanceType),
		EbsOptimized: s.EBSOptimized,
	}
	if s.KeyPair != "" {
		d.KeyName = aws.String(s.KeyPair)
	}
	if s.IAMRole != "" {
		d.IamInstanceProfile = &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: aws.String(s.IAMRole)}
	}
	if s.UserData != "" {
		d.UserData = aws.String(s.UserData)
	}
	if s.InstanceMonitoring != nil {
		d.Monitoring = &ec2types.LaunchTemplatesMonitoringRequest{Enabled: s.InstanceMonitoring}
	}
	if s.SpotPrice != "" {
		d.InstanceMarketOptions = &ec2types.LaunchTemplateInstanceMarketOptionsRequest{
			MarketType:  ec2types.MarketTypeSpot,
			SpotOptions: &ec2types.LaunchTemplateSpotMarketOptionsRequest{MaxPrice: aws.String(s.SpotPrice)},
		}
	}
	if len(s.SecurityGroups) > 0 {
		if d.SecurityGroupIds, err = c.securityGroups(ctx, cl, s.SecurityGroups); err != nil {
			return nil, "", err
		}
	}
	if s.CopyBlockDevices && spec.Source != "" {
		if d.BlockDeviceMappings, err = c.sourceBlockDevices(ctx, cl, spec.Region, spec.Source); err != nil {
			return nil, "", err
		}
	}
	return &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(spec.Name), LaunchTemplateData: d}, imageName, nil
}

// image is the AMI a new group launches: the cluster's imageId, else the
// artifact's (an aws/image artifact, or the image a bake or findImage stage
// chose), else the newest image named amiName.
func (c *cloud) image(ctx context.Context, cl Client, spec providers.ServerGroupSpec, s settings) (string, string, error) {
	id, name := s.ImageID, s.AMIName
	if a := spec.Artifact; a != nil {
		for _, k := range []string{"imageId", "ami", "reference"} {
			if v, _ := a[k].(string); id == "" && strings.HasPrefix(v, "ami-") {
				id = v
			}
		}
		for _, k := range []string{"imageName", "amiName", "name"} {
			if v, _ := a[k].(string); name == "" && v != "" && !strings.HasPrefix(v, "ami-") {
				name = v
			}
		}
	}
	if id != "" {
		return id, name, nil
	}
	if name == "" {
		return "", "", errors.New("no image to launch: set imageId or amiName, or put a bake or findImage stage before the deploy")
	}
	out, err := call(ctx, c.retry, "DescribeImages", func() (*ec2.DescribeImagesOutput, error) {
		return cl.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{name}}}})
	})
	if err != nil {
		return "", "", fmt.Errorf("image %s: %w", name, err)
	}
	if len(out.Images) == 0 {
		return "", "", fmt.Errorf("no image is named %s in %s", name, spec.Region)
	}
	imgs := out.Images
	sort.Slice(imgs, func(i, j int) bool { return aws.ToString(imgs[i].CreationDate) > aws.ToString(imgs[j].CreationDate) })
	return aws.ToString(imgs[0].ImageId), name, nil
}

// securityGroups resolves security group names to ids; ids pass through.
func (c *cloud) securityGroups(ctx context.Context, cl Client, groups []string) ([]string, error) {
	var ids, names []string
	for _, g := range groups {
		if strings.HasPrefix(g, "sg-") {
			ids = append(ids, g)
		} else {
			names = append(names, g)
		}
	}
	if len(names) == 0 {
		return ids, nil
	}
	out, err := call(ctx, c.retry, "DescribeSecurityGroups", func() (*ec2.DescribeSecurityGroupsOutput, error) {
		return cl.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: names}}})
	})
	if err != nil {
		return nil, fmt.Errorf("securityGroups: %w", err)
	}
	found := map[string]string{}
	for _, g := range out.SecurityGroups {
		found[aws.ToString(g.GroupName)] = aws.ToString(g.GroupId)
	}
	for _, n := range names {
		id, ok := found[n]
		if !ok {
			return nil, fmt.Errorf("securityGroups: no security group is named %q", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// sourceBlockDevices copies the block device mappings of the source
// group's launch template.
func (c *cloud) sourceBlockDevices(ctx context.Context, cl Client, region, source string) ([]ec2types.LaunchTemplateBlockDeviceMappingRequest, error) {
	_, g, err := c.group(ctx, region, source)
	if err != nil || g.LaunchTemplate == nil {
		return nil, err
	}
	out, err := call(ctx, c.retry, "DescribeLaunchTemplateVersions", func() (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
		return cl.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
			LaunchTemplateName: g.LaunchTemplate.LaunchTemplateName, Versions: []string{aws.ToString(g.LaunchTemplate.Version)},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("block devices of %s: %w", source, err)
	}
	var req []ec2types.LaunchTemplateBlockDeviceMappingRequest
	for _, v := range out.LaunchTemplateVersions {
		if v.LaunchTemplateData == nil {
			continue
		}
		for _, m := range v.LaunchTemplateData.BlockDeviceMappings {
			r := ec2types.LaunchTemplateBlockDeviceMappingRequest{DeviceName: m.DeviceName, NoDevice: m.NoDevice, VirtualName: m.VirtualName}
			if e := m.Ebs; e != nil {
				r.Ebs = &ec2types.LaunchTemplateEbsBlockDeviceRequest{
					DeleteOnTermination: e.DeleteOnTermination, Encrypted: e.Encrypted, Iops: e.Iops, KmsKeyId: e.KmsKeyId,
					SnapshotId: e.SnapshotId, Throughput: e.Throughput, VolumeSize: e.VolumeSize, VolumeType: e.VolumeType,
				}
			}
			req = append(req, r)
		}
	}
	return req, nil
}

// groupInput is the Auto Scaling group of a new server group.
func (c *cloud) groupInput(ctx context.Context, cl Client, spec providers.ServerGroupSpec, s settings, n naming.ServerGroup, imageName, imageID string) (*autoscaling.CreateAutoScalingGroupInput, error) {
	in := &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName:   aws.String(spec.Name),
		LaunchTemplate:         &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String(spec.Name), Version: aws.String("1")},
		MinSize:                aws.Int32(int32(spec.Capacity.Min)),
		MaxSize:                aws.Int32(int32(spec.Capacity.Max)),
		DesiredCapacity:        aws.Int32(int32(spec.Capacity.Desired)),
		DefaultCooldown:        s.Cooldown,
		HealthCheckGracePeriod: s.HealthCheckGrace,
		TerminationPolicies:    s.TerminationPolicies,
	}
	if s.HealthCheckType != "" {
		in.HealthCheckType = aws.String(s.HealthCheckType)
	}
	subnets, zones, err := c.placement(ctx, cl, spec.Region, s)
	if err != nil {
		return nil, err
	}
	if len(subnets) > 0 {
		in.VPCZoneIdentifier = aws.String(strings.Join(subnets, ","))
	} else {
		in.AvailabilityZones = zones
	}
	// Spinnaker's loadBalancers are classic load balancers; target groups
	// of application and network load balancers are in targetGroups.
	// A server group lists both (its load balancers as Gate shows them),
	// so a name that is one of the target groups is not a classic one.
	for _, lb := range slices.Concat(s.LoadBalancers, spec.LoadBalancers) {
		if !slices.Contains(in.LoadBalancerNames, lb) && !slices.Contains(s.TargetGroups, lb) {
			in.LoadBalancerNames = append(in.LoadBalancerNames, lb)
		}
	}
	for _, name := range in.LoadBalancerNames {
		if _, err := call(ctx, c.retry, "DescribeInstanceHealth", func() (*elb.DescribeInstanceHealthOutput, error) {
			return cl.DescribeInstanceHealth(ctx, &elb.DescribeInstanceHealthInput{LoadBalancerName: aws.String(name)})
		}); err != nil {
			if errorCode(err) == "LoadBalancerNotFound" {
				return nil, fmt.Errorf("loadBalancers: no classic load balancer is named %q in %s (target groups of application and network load balancers go in targetGroups)", name, spec.Region)
			}
			return nil, fmt.Errorf("loadBalancers %s: %w", name, err)
		}
	}
	if len(s.TargetGroups) > 0 {
		out, err := call(ctx, c.retry, "DescribeTargetGroups", func() (*elbv2.DescribeTargetGroupsOutput, error) {
			return cl.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: s.TargetGroups})
		})
		if err != nil {
			return nil, fmt.Errorf("targetGroups %v: %w", s.TargetGroups, err)
		}
		for _, tg := range out.TargetGroups {
			in.TargetGroupARNs = append(in.TargetGroupARNs, aws.ToString(tg.TargetGroupArn))
		}
	}
	tag := func(k, v string, propagate bool) {
		if v != "" {
			in.Tags = append(in.Tags, astypes.Tag{Key: aws.String(k), Value: aws.String(truncate(v, 256)), PropagateAtLaunch: aws.Bool(propagate)})
		}
	}
	user := make([]string, 0, len(s.Tags))
	for k := range s.Tags {
		user = append(user, k)
	}
	sort.Strings(user)
	for _, k := range user {
		tag(k, s.Tags[k], true)
	}
	p := spec.Provenance
	tag(tagApplication, n.App, true)
	tag(tagStack, n.Stack, true)
	tag(tagDetail, n.Detail, true)
	tag(tagExecution, string(p.ExecutionID), false)
	tag(tagPipelineID, string(p.PipelineID), false)
	tag(tagPipeline, p.Pipeline, false)
	tag(tagStageID, string(p.StageID), false)
	tag(tagStage, p.Stage, false)
	tag(tagUser, p.User, false)
	tag(tagImageName, imageName, false)
	tag(tagImageID, imageID, false)
	tag(tagSubnetType, s.SubnetType, false)
	return in, nil
}

// placement is where a new group's instances run: the subnets of the
// cluster's subnetType (tagged immutable_metadata {"purpose": …}) or, with
// none, the default subnets, in the cluster's zones of the region.
func (c *cloud) placement(ctx context.Context, cl Client, region string, s settings) ([]string, []string, error) {
	zones := s.Zones[region]
	in := &ec2.DescribeSubnetsInput{}
	if s.SubnetType != "" {
		in.Filters = []ec2types.Filter{{Name: aws.String("tag-key"), Values: []string{"immutable_metadata"}}}
	} else {
		in.Filters = []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}
	}
	out, err := call(ctx, c.retry, "DescribeSubnets", func() (*ec2.DescribeSubnetsOutput, error) { return cl.DescribeSubnets(ctx, in) })
	if err != nil {
		return nil, nil, fmt.Errorf("subnets: %w", err)
	}
	var ids []string
	for _, sn := range out.Subnets {
		if len(zones) > 0 && !slices.Contains(zones, aws.ToString(sn.AvailabilityZone)) {
			continue
		}
		if s.SubnetType != "" && subnetPurpose(sn) != s.SubnetType {
			continue
		}
		ids = append(ids, aws.ToString(sn.SubnetId))
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		if s.SubnetType != "" {
			return nil, nil, fmt.Errorf("subnetType %q: no subnet in %s %v is tagged immutable_metadata {\"purpose\": %q}", s.SubnetType, region, zones, s.SubnetType)
		}
		if len(zones) == 0 {
			return nil, nil, fmt.Errorf("availabilityZones: name the zones of %s, or a subnetType", region)
		}
	}
	return ids, zones, nil
}

// subnetPurpose is the purpose in a subnet's immutable_metadata tag, as
// Spinnaker tags the subnets a subnetType names.
func subnetPurpose(sn ec2types.Subnet) string {
	for _, t := range sn.Tags {
		if aws.ToString(t.Key) != "immutable_metadata" {
			continue
		}
		var md struct {
			Purpose string `json:"purpose"`
		}
		if json.Unmarshal([]byte(aws.ToString(t.Value)), &md) == nil {
			return md.Purpose
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
