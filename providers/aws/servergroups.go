package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbclassic "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/naming"
)

// A server group is an Auto Scaling group named as Spinnaker names it
// (app-stack-detail-v003), launched from a launch template of the same
// name with one version. It is disabled, as Spinnaker disables one, when
// its AddToLoadBalancer process is suspended and its instances are out of
// its target groups.

// addToLoadBalancer is the Auto Scaling process whose suspension marks a
// disabled server group.
const addToLoadBalancer = "AddToLoadBalancer"

// Tags the provider puts on the groups it creates.
const (
	tagApplication = "spinnaker:application"
	tagStack       = "spinnaker:stack"
	tagDetail      = "spinnaker:details"
	tagExecution   = "gennaker:executionId"
	tagPipelineID  = "gennaker:pipelineConfigId"
	tagPipeline    = "gennaker:pipeline"
	tagStageID     = "gennaker:stageId"
	tagStage       = "gennaker:stage"
	tagUser        = "gennaker:user"
	tagImageName   = "gennaker:imageName"
	tagImageID     = "gennaker:imageId"
	tagSubnetType  = "gennaker:subnetType"
)

// ArtifactType is Spinnaker's type of an AMI artifact.
const ArtifactType = "aws/image"

// cloud is one account's view: its server groups, created and read through
// one client per region.
type cloud struct {
	acct      providers.Account
	sessions  *Sessions
	newClient func(aws.Config) Client
	retry     retryPolicy

	mu      sync.Mutex
	clients map[string]Client
}

var (
	_ providers.ServerGroups       = (*cloud)(nil)
	_ providers.ServerGroupCreator = (*cloud)(nil)
)

// client returns the region's client, built once.
func (c *cloud) client(ctx context.Context, region string) (Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[region]; ok {
		return cl, nil
	}
	cfg, err := c.sessions.Config(ctx, region)
	if err != nil {
		return nil, err
	}
	cl := c.newClient(cfg)
	c.clients[region] = cl
	return cl, nil
}

// describe returns the named groups that exist in region.
func (c *cloud) describe(ctx context.Context, cl Client, names ...string) ([]astypes.AutoScalingGroup, error) {
	var out []astypes.AutoScalingGroup
	in := &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: names}
	for {
		page, err := call(ctx, c.retry, "DescribeAutoScalingGroups", func() (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
			return cl.DescribeAutoScalingGroups(ctx, in)
		})
		if err != nil {
			return nil, err
		}
		out = append(out, page.AutoScalingGroups...)
		if page.NextToken == nil || *page.NextToken == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// Get implements providers.ServerGroups.
func (c *cloud) Get(ctx context.Context, region, name string) (*providers.ServerGroup, error) {
	cl, err := c.client(ctx, region)
	if err != nil {
		return nil, err
	}
	groups, err := c.describe(ctx, cl, name)
	if err != nil {
		return nil, fmt.Errorf("server group %s in %s/%s: %w", name, c.acct.Name, region, err)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("server group %s in %s/%s: %w", name, c.acct.Name, region, providers.ErrNotFound)
	}
	views, err := c.views(ctx, cl, region, groups)
	if err != nil {
		return nil, fmt.Errorf("server group %s in %s/%s: %w", name, c.acct.Name, region, err)
	}
	g := &views[0]
	if err := c.readLaunchTemplate(ctx, cl, groups[0], g); err != nil {
		return nil, fmt.Errorf("server group %s in %s/%s: %w", name, c.acct.Name, region, err)
	}
	return g, nil
}

// List implements providers.ServerGroups: the groups whose names parse to
// the application's, in every region of the account, with their health read
// in one batch per region.
func (c *cloud) List(ctx context.Context, app string) ([]providers.ServerGroup, error) {
	var out []providers.ServerGroup
	for _, region := range c.acct.Regions {
		cl, err := c.client(ctx, region)
		if err != nil {
			return nil, err
		}
		all, err := c.describe(ctx, cl)
		if err != nil {
			return nil, fmt.Errorf("server groups of %s in %s/%s: %w", app, c.acct.Name, region, err)
		}
		var mine []astypes.AutoScalingGroup
		for _, g := range all {
			if n, err := naming.ParseServerGroup(aws.ToString(g.AutoScalingGroupName)); err == nil && n.App == app {
				mine = append(mine, g)
			}
		}
		views, err := c.views(ctx, cl, region, mine)
		if err != nil {
			return nil, fmt.Errorf("server groups of %s in %s/%s: %w", app, c.acct.Name, region, err)
		}
		out = append(out, views...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].CreatedTime != out[j].CreatedTime {
			return out[i].CreatedTime < out[j].CreatedTime
		}
		return out[i].Name < out[j].Name
	})
	if out == nil {
		out = []providers.ServerGroup{}
	}
	return out, nil
}

// health is what the load balancers and EC2 report of instances: target
// group ARN → instance id → state, and instance id → EC2 status.
type health struct {
	targets map[string]map[string]elbtypes.TargetHealthStateEnum
	ec2     map[string]ec2types.SummaryStatus
	// classic is classic load balancer name → instance id → its state
	// (InService, OutOfService, Unknown); registered instances only.
	classic map[string]map[string]string
}

// readHealth reads, in one call per target group and one per hundred
// instances, the health of every instance of groups.
func (c *cloud) readHealth(ctx context.Context, cl Client, groups []astypes.AutoScalingGroup) (health, error) {
	h := health{targets: map[string]map[string]elbtypes.TargetHealthStateEnum{}, ec2: map[string]ec2types.SummaryStatus{}, classic: map[string]map[string]string{}}
	var ec2IDs []string
	for _, g := range groups {
		for _, name := range g.LoadBalancerNames {
			if _, read := h.classic[name]; read {
				continue
			}
			out, err := call(ctx, c.retry, "DescribeInstanceHealth", func() (*elb.DescribeInstanceHealthOutput, error) {
				return cl.DescribeInstanceHealth(ctx, &elb.DescribeInstanceHealthInput{LoadBalancerName: aws.String(name)})
			})
			if err != nil {
				if errorCode(err) == "LoadBalancerNotFound" {
					h.classic[name] = map[string]string{}
					continue
				}
				return h, err
			}
			states := map[string]string{}
			for _, s := range out.InstanceStates {
				states[aws.ToString(s.InstanceId)] = aws.ToString(s.State)
			}
			h.classic[name] = states
		}
		for _, arn := range g.TargetGroupARNs {
			if _, read := h.targets[arn]; read {
				continue
			}
			out, err := call(ctx, c.retry, "DescribeTargetHealth", func() (*elbv2.DescribeTargetHealthOutput, error) {
				return cl.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
			})
			if err != nil {
				if errorCode(err) == "TargetGroupNotFound" {
					h.targets[arn] = map[string]elbtypes.TargetHealthStateEnum{}
					continue
				}
				return h, err
			}
			states := map[string]elbtypes.TargetHealthStateEnum{}
			for _, d := range out.TargetHealthDescriptions {
				if d.Target != nil && d.TargetHealth != nil {
					states[aws.ToString(d.Target.Id)] = d.TargetHealth.State
				}
			}
			h.targets[arn] = states
		}
		if aws.ToString(g.HealthCheckType) == "EC2" {
			for _, in := range g.Instances {
				ec2IDs = append(ec2IDs, aws.ToString(in.InstanceId))
			}
		}
	}
	for chunk := range slices.Chunk(ec2IDs, 100) {
		out, err := call(ctx, c.retry, "DescribeInstanceStatus", func() (*ec2.DescribeInstanceStatusOutput, error) {
			return cl.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: chunk, IncludeAllInstances: aws.Bool(true)})
		})
		if err != nil {
			return h, err
		}
		for _, s := range out.InstanceStatuses {
			if s.InstanceStatus != nil {
				h.ec2[aws.ToString(s.InstanceId)] = s.InstanceStatus.Status
			}
		}
	}
	return h, nil
}

// views describes groups as gennaker sees them, reading their health in
// one batch.
func (c *cloud) views(ctx context.Context, cl Client, region string, groups []astypes.AutoScalingGroup) ([]providers.ServerGroup, error) {
	h, err := c.readHealth(ctx, cl, groups)
	if err != nil {
		return nil, err
	}
	out := make([]providers.ServerGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, c.view(region, g, h))
	}
	return out, nil
}

// disabled reports whether the group is out of its load balancers'
// rotation: its AddToLoadBalancer process is suspended.
func disabled(g astypes.AutoScalingGroup) bool {
	for _, p := range g.SuspendedProcesses {
		if aws.ToString(p.ProcessName) == addToLoadBalancer {
			return true
		}
	}
	return false
}

// instanceHealth is one instance's health: Starting while it launches or
// any check has not passed yet, Down when a check failed, and Up when it is
// in service, healthy in every target group (and EC2 status OK under the
// EC2 health check); OutOfService when the group is disabled or the instance
// is on standby. ok is false for instances on their way out, which are not
// listed.
func instanceHealth(g astypes.AutoScalingGroup, in astypes.Instance, h health, off bool) (providers.Health, bool) {
	id := aws.ToString(in.InstanceId)
	switch s := string(in.LifecycleState); {
	case strings.HasPrefix(s, "Pending"):
		return providers.HealthStarting, true
	case strings.HasPrefix(s, "Standby") || strings.HasPrefix(s, "EnteringStandby"):
		return providers.HealthOutOfService, true
	case s != string(astypes.LifecycleStateInService):
		return "", false
	}
	if strings.EqualFold(aws.ToString(in.HealthStatus), "Unhealthy") {
		return providers.HealthDown, true
	}
	if aws.ToString(g.HealthCheckType) == "EC2" {
		switch h.ec2[id] {
		case ec2types.SummaryStatusOk:
		case ec2types.SummaryStatusImpaired:
			return providers.HealthDown, true
		default:
			return providers.HealthStarting, true
		}
	}
	if off {
		return providers.HealthOutOfService, true
	}
	state := providers.HealthUp
	for _, name := range g.LoadBalancerNames {
		if h.classic[name][id] != "InService" {
			state = providers.HealthStarting // registering, or failing its first checks
		}
	}
	for _, arn := range g.TargetGroupARNs {
		switch h.targets[arn][id] {
		case elbtypes.TargetHealthStateEnumHealthy:
		case elbtypes.TargetHealthStateEnumUnhealthy:
			return providers.HealthDown, true
		default: // initial, draining, unused, or not registered yet
			state = providers.HealthStarting
		}
	}
	return state, true
}

// view is one group as gennaker sees it.
func (c *cloud) view(region string, g astypes.AutoScalingGroup, h health) providers.ServerGroup {
	name := aws.ToString(g.AutoScalingGroupName)
	tags := map[string]string{}
	for _, t := range g.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	off := disabled(g)
	sg := providers.ServerGroup{
		Name:          name,
		Cluster:       naming.ClusterOf(name),
		Account:       c.acct.Name,
		Region:        region,
		CloudProvider: Name,
		Disabled:      off,
		Capacity: providers.Capacity{
			Min: int(aws.ToInt32(g.MinSize)), Max: int(aws.ToInt32(g.MaxSize)), Desired: int(aws.ToInt32(g.DesiredCapacity)),
		},
		Instances:     []providers.Instance{},
		LoadBalancers: []string{},
		Provenance: providers.Provenance{
			Application: model.ApplicationName(tags[tagApplication]),
			ExecutionID: model.ExecutionID(tags[tagExecution]),
			PipelineID:  model.PipelineID(tags[tagPipelineID]),
			Pipeline:    tags[tagPipeline],
			StageID:     model.StageID(tags[tagStageID]),
			Stage:       tags[tagStage],
			User:        tags[tagUser],
		},
		Settings: map[string]any{},
	}
	if n, err := naming.ParseServerGroup(name); err == nil {
		sg.Application = n.App
	}
	if g.CreatedTime != nil {
		sg.CreatedTime = g.CreatedTime.UnixMilli()
	}
	sg.LoadBalancers = append(sg.LoadBalancers, g.LoadBalancerNames...)
	for _, arn := range g.TargetGroupARNs {
		sg.LoadBalancers = append(sg.LoadBalancers, targetGroupName(arn))
	}
	for _, in := range g.Instances {
		state, ok := instanceHealth(g, in, h, off)
		if !ok {
			continue
		}
		sg.Instances = append(sg.Instances, providers.Instance{ID: aws.ToString(in.InstanceId), Health: state})
		sg.Counts.Total++
		switch state {
		case providers.HealthUp:
			sg.Counts.Up++
		case providers.HealthDown:
			sg.Counts.Down++
		case providers.HealthStarting:
			sg.Counts.Starting++
		case providers.HealthOutOfService:
			sg.Counts.OutOfService++
		}
	}
	if g.LaunchTemplate != nil {
		sg.Artifact = map[string]any{"type": ArtifactType, "location": region}
		if img := tags[tagImageName]; img != "" {
			sg.Artifact["name"] = img
		}
		if id := tags[tagImageID]; id != "" {
			sg.Artifact["reference"] = id
			sg.Settings["imageId"] = id
		}
	}
	s := sg.Settings
	zones := append([]string{}, g.AvailabilityZones...)
	sort.Strings(zones)
	s["availabilityZones"] = map[string]any{region: toAny(zones)}
	if st := tags[tagSubnetType]; st != "" {
		s["subnetType"] = st
	}
	s["healthCheckType"] = aws.ToString(g.HealthCheckType)
	if g.HealthCheckGracePeriod != nil {
		s["healthCheckGracePeriod"] = float64(*g.HealthCheckGracePeriod)
	}
	if g.DefaultCooldown != nil {
		s["cooldown"] = float64(*g.DefaultCooldown)
	}
	s["terminationPolicies"] = toAny(g.TerminationPolicies)
	var suspended []string
	for _, p := range g.SuspendedProcesses {
		if n := aws.ToString(p.ProcessName); n != addToLoadBalancer {
			suspended = append(suspended, n)
		}
	}
	s["suspendedProcesses"] = toAny(suspended)
	var metrics []string
	for _, m := range g.EnabledMetrics {
		metrics = append(metrics, aws.ToString(m.Metric))
	}
	s["enabledMetrics"] = toAny(metrics)
	s["loadBalancers"] = toAny(g.LoadBalancerNames)
	var tgs []string
	for _, arn := range g.TargetGroupARNs {
		tgs = append(tgs, targetGroupName(arn))
	}
	s["targetGroups"] = toAny(tgs)
	own := map[string]any{}
	for k, v := range tags {
		if !strings.HasPrefix(k, "spinnaker:") && !strings.HasPrefix(k, "gennaker:") && !strings.HasPrefix(k, "aws:") {
			own[k] = v
		}
	}
	s["tags"] = own
	return sg
}

// readLaunchTemplate adds what the group's launch template says: its image
// and instance settings.
func (c *cloud) readLaunchTemplate(ctx context.Context, cl Client, g astypes.AutoScalingGroup, sg *providers.ServerGroup) error {
	lt := g.LaunchTemplate
	if lt == nil {
		return nil
	}
	in := &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: lt.LaunchTemplateId, Versions: []string{aws.ToString(lt.Version)}}
	if in.LaunchTemplateId == nil {
		in.LaunchTemplateName = lt.LaunchTemplateName
	}
	out, err := call(ctx, c.retry, "DescribeLaunchTemplateVersions", func() (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
		return cl.DescribeLaunchTemplateVersions(ctx, in)
	})
	if err != nil {
		if strings.HasPrefix(errorCode(err), "InvalidLaunchTemplate") {
			return nil // deleted under the group: nothing more to say
		}
		return err
	}
	if len(out.LaunchTemplateVersions) == 0 || out.LaunchTemplateVersions[0].LaunchTemplateData == nil {
		return nil
	}
	d := out.LaunchTemplateVersions[0].LaunchTemplateData
	s := sg.Settings
	if d.ImageId != nil {
		sg.Artifact["reference"] = *d.ImageId
		s["imageId"] = *d.ImageId
	}
	s["instanceType"] = string(d.InstanceType)
	if d.KeyName != nil {
		s["keyPair"] = *d.KeyName
	}
	if d.IamInstanceProfile != nil && d.IamInstanceProfile.Name != nil {
		s["iamRole"] = *d.IamInstanceProfile.Name
	}
	if d.UserData != nil {
		s["base64UserData"] = *d.UserData
	}
	s["securityGroups"] = toAny(d.SecurityGroupIds)
	if d.EbsOptimized != nil {
		s["ebsOptimized"] = *d.EbsOptimized
	}
	if d.Monitoring != nil && d.Monitoring.Enabled != nil {
		s["instanceMonitoring"] = *d.Monitoring.Enabled
	}
	if m := d.InstanceMarketOptions; m != nil && m.SpotOptions != nil && m.SpotOptions.MaxPrice != nil {
		s["spotPrice"] = *m.SpotOptions.MaxPrice
	}
	return nil
}

// targetGroupName is the name in a target group's ARN
// (arn:aws:elasticloadbalancing:…:targetgroup/NAME/ID).
func targetGroupName(arn string) string {
	_, rest, ok := strings.Cut(arn, ":targetgroup/")
	if !ok {
		return arn
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

func toAny(list []string) []any {
	out := make([]any, 0, len(list))
	for _, s := range list {
		out = append(out, s)
	}
	return out
}

// group returns the named group, or an error wrapping ErrNotFound.
func (c *cloud) group(ctx context.Context, region, name string) (Client, astypes.AutoScalingGroup, error) {
	cl, err := c.client(ctx, region)
	if err != nil {
		return nil, astypes.AutoScalingGroup{}, err
	}
	groups, err := c.describe(ctx, cl, name)
	if err != nil {
		return nil, astypes.AutoScalingGroup{}, fmt.Errorf("server group %s in %s/%s: %w", name, c.acct.Name, region, err)
	}
	if len(groups) == 0 {
		return cl, astypes.AutoScalingGroup{}, fmt.Errorf("server group %s in %s/%s: %w", name, c.acct.Name, region, providers.ErrNotFound)
	}
	return cl, groups[0], nil
}

// SetEnabled implements providers.ServerGroups as Spinnaker does on AWS:
// disabling suspends AddToLoadBalancer and deregisters the instances from
// the group's target groups; enabling resumes it and registers them.
func (c *cloud) SetEnabled(ctx context.Context, region, name string, enabled bool) error {
	cl, g, err := c.group(ctx, region, name)
	if err != nil {
		return err
	}
	if enabled {
		if disabled(g) {
			if err := do(ctx, c.retry, "ResumeProcesses", func() error {
				return cl.ResumeProcesses(ctx, &autoscaling.ResumeProcessesInput{AutoScalingGroupName: aws.String(name), ScalingProcesses: []string{addToLoadBalancer}})
			}); err != nil {
				return fmt.Errorf("enable %s in %s/%s: %w", name, c.acct.Name, region, err)
			}
		}
		if err := c.register(ctx, cl, g); err != nil {
			return fmt.Errorf("enable %s in %s/%s: %w", name, c.acct.Name, region, err)
		}
		return nil
	}
	if !disabled(g) {
		if err := do(ctx, c.retry, "SuspendProcesses", func() error {
			return cl.SuspendProcesses(ctx, &autoscaling.SuspendProcessesInput{AutoScalingGroupName: aws.String(name), ScalingProcesses: []string{addToLoadBalancer}})
		}); err != nil {
			return fmt.Errorf("disable %s in %s/%s: %w", name, c.acct.Name, region, err)
		}
	}
	if err := c.deregister(ctx, cl, g); err != nil {
		return fmt.Errorf("disable %s in %s/%s: %w", name, c.acct.Name, region, err)
	}
	return nil
}

// inService lists the group's instances that are in service.
func inService(g astypes.AutoScalingGroup) []string {
	var ids []string
	for _, in := range g.Instances {
		if in.LifecycleState == astypes.LifecycleStateInService {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	return ids
}

// register puts the group's instances in service into each of its target
// groups that lacks them.
func (c *cloud) register(ctx context.Context, cl Client, g astypes.AutoScalingGroup) error {
	ids := inService(g)
	if len(ids) == 0 || len(g.TargetGroupARNs)+len(g.LoadBalancerNames) == 0 {
		return nil
	}
	h, err := c.readHealth(ctx, cl, []astypes.AutoScalingGroup{{TargetGroupARNs: g.TargetGroupARNs, LoadBalancerNames: g.LoadBalancerNames}})
	if err != nil {
		return err
	}
	for _, name := range g.LoadBalancerNames {
		var missing []elbclassic.Instance
		for _, id := range ids {
			if _, in := h.classic[name][id]; !in {
				missing = append(missing, elbclassic.Instance{InstanceId: aws.String(id)})
			}
		}
		if len(missing) == 0 {
			continue
		}
		if err := do(ctx, c.retry, "RegisterInstancesWithLoadBalancer", func() error {
			return cl.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{LoadBalancerName: aws.String(name), Instances: missing})
		}); err != nil {
			return fmt.Errorf("load balancer %s: %w", name, err)
		}
	}
	for _, arn := range g.TargetGroupARNs {
		var missing []elbtypes.TargetDescription
		for _, id := range ids {
			if _, in := h.targets[arn][id]; !in {
				missing = append(missing, elbtypes.TargetDescription{Id: aws.String(id)})
			}
		}
		if len(missing) == 0 {
			continue
		}
		if err := do(ctx, c.retry, "RegisterTargets", func() error {
			return cl.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: missing})
		}); err != nil {
			return fmt.Errorf("target group %s: %w", targetGroupName(arn), err)
		}
	}
	return nil
}

// deregister takes the group's instances out of each of its target groups
// that has them.
func (c *cloud) deregister(ctx context.Context, cl Client, g astypes.AutoScalingGroup) error {
	if len(g.TargetGroupARNs)+len(g.LoadBalancerNames) == 0 {
		return nil
	}
	h, err := c.readHealth(ctx, cl, []astypes.AutoScalingGroup{{TargetGroupARNs: g.TargetGroupARNs, LoadBalancerNames: g.LoadBalancerNames}})
	if err != nil {
		return err
	}
	for _, name := range g.LoadBalancerNames {
		var present []elbclassic.Instance
		for _, in := range g.Instances {
			if _, ok := h.classic[name][aws.ToString(in.InstanceId)]; ok {
				present = append(present, elbclassic.Instance{InstanceId: in.InstanceId})
			}
		}
		if len(present) == 0 {
			continue
		}
		if err := do(ctx, c.retry, "DeregisterInstancesFromLoadBalancer", func() error {
			return cl.DeregisterInstancesFromLoadBalancer(ctx, &elb.DeregisterInstancesFromLoadBalancerInput{LoadBalancerName: aws.String(name), Instances: present})
		}); err != nil && errorCode(err) != "InvalidInstance" {
			return fmt.Errorf("load balancer %s: %w", name, err)
		}
	}
	for _, arn := range g.TargetGroupARNs {
		var present []elbtypes.TargetDescription
		for _, in := range g.Instances {
			id := aws.ToString(in.InstanceId)
			if s, ok := h.targets[arn][id]; ok && s != elbtypes.TargetHealthStateEnumDraining {
				present = append(present, elbtypes.TargetDescription{Id: aws.String(id)})
			}
		}
		if len(present) == 0 {
			continue
		}
		if err := do(ctx, c.retry, "DeregisterTargets", func() error {
			return cl.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: present})
		}); err != nil && errorCode(err) != "InvalidTarget" {
			return fmt.Errorf("target group %s: %w", targetGroupName(arn), err)
		}
	}
	return nil
}

// Resize implements providers.ServerGroups. A disabled group stays out of
// rotation: instances registered by the scaling are taken out again.
func (c *cloud) Resize(ctx context.Context, region, name string, capacity providers.Capacity) error {
	cl, g, err := c.group(ctx, region, name)
	if err != nil {
		return err
	}
	if err := do(ctx, c.retry, "UpdateAutoScalingGroup", func() error {
		return cl.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(name),
			MinSize:              aws.Int32(int32(capacity.Min)),
			MaxSize:              aws.Int32(int32(capacity.Max)),
			DesiredCapacity:      aws.Int32(int32(capacity.Desired)),
		})
	}); err != nil {
		return fmt.Errorf("resize %s in %s/%s: %w", name, c.acct.Name, region, err)
	}
	if disabled(g) && len(g.TargetGroupARNs)+len(g.LoadBalancerNames) > 0 {
		if _, g, err = c.group(ctx, region, name); err != nil {
			return err
		}
		if err := c.deregister(ctx, cl, g); err != nil {
			return fmt.Errorf("resize %s in %s/%s: %w", name, c.acct.Name, region, err)
		}
	}
	return nil
}

// Destroy implements providers.ServerGroups: the group's instances leave
// its target groups, the group is deleted with them (forced), and so is its
// launch template.
func (c *cloud) Destroy(ctx context.Context, region, name string) error {
	cl, g, err := c.group(ctx, region, name)
	if errors.Is(err, providers.ErrNotFound) {
		return c.deleteLaunchTemplate(ctx, cl, region, name)
	}
	if err != nil {
		return err
	}
	if err := c.deregister(ctx, cl, g); err != nil {
		return fmt.Errorf("destroy %s in %s/%s: %w", name, c.acct.Name, region, err)
	}
	if err := do(ctx, c.retry, "DeleteAutoScalingGroup", func() error {
		return cl.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String(name), ForceDelete: aws.Bool(true)})
	}); err != nil && !notFound(err) {
		return fmt.Errorf("destroy %s in %s/%s: %w", name, c.acct.Name, region, err)
	}
	return c.deleteLaunchTemplate(ctx, cl, region, name)
}

func (c *cloud) deleteLaunchTemplate(ctx context.Context, cl Client, region, name string) error {
	if cl == nil {
		return nil
	}
	err := do(ctx, c.retry, "DeleteLaunchTemplate", func() error {
		return cl.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String(name)})
	})
	// moto answers MissingParameter for a name it does not know.
	if code := errorCode(err); err != nil && !strings.HasPrefix(code, "InvalidLaunchTemplate") && code != "MissingParameter" {
		return fmt.Errorf("delete launch template %s in %s/%s: %w", name, c.acct.Name, region, err)
	}
	return nil
}

// notFound reports whether AWS answered that the thing does not exist.
func notFound(err error) bool {
	code := errorCode(err)
	return strings.Contains(code, "NotFound") || (code == "ValidationError" && strings.Contains(err.Error(), "not found"))
}
