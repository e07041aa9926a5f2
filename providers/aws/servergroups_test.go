package aws_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbclassic "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/gennaker/gennaker/providers"
	gaws "github.com/gennaker/gennaker/providers/aws"
	"github.com/gennaker/gennaker/providers/providertest"
	"github.com/gennaker/gennaker/shared/mototest"
)

// fixture is an AWS account in moto with what a deploy needs: an
// application load balancer with a target group, and an AMI.
type fixture struct {
	acct   providers.Account
	cfg    aws.Config
	cloud  *providers.Cloud
	ami    string
	tgARN  string
	region string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := mototest.Shared(t)
	id := srv.NewAccount()
	f := &fixture{region: "us-east-1", cfg: srv.Config(id)}
	p := gaws.New(gaws.WithBaseConfig(func(ctx context.Context, region string) (aws.Config, error) {
		cfg := srv.Config(id)
		cfg.Region = region
		return cfg, nil
	}))
	f.acct = providers.Account{Name: "prod", Provider: "aws", Regions: []string{"us-east-1", "us-west-2"}, Fields: map[string]any{"accountId": id}}
	var err error
	if f.cloud, err = p.Cloud(f.acct); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := ec2.NewFromConfig(f.cfg)
	imgs, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"amzn2-ami-*"}}}})
	if err != nil || len(imgs.Images) == 0 {
		t.Fatalf("an AMI to launch: %v (%d images)", err, len(imgs.Images))
	}
	f.ami = aws.ToString(imgs.Images[0].ImageId)
	f.tgARN = createTargetGroup(t, f.cfg, "conf-tg")
	return f
}

// createTargetGroup creates an application load balancer forwarding to a
// new target group named name, and returns the target group's ARN.
func createTargetGroup(t *testing.T, cfg aws.Config, name string) string {
	t.Helper()
	ctx := context.Background()
	e := ec2.NewFromConfig(cfg)
	subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil || len(subnets.Subnets) < 2 {
		t.Fatalf("subnets: %v", err)
	}
	elb := elbv2.NewFromConfig(cfg)
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name:    aws.String(name + "-lb"),
		Subnets: []string{aws.ToString(subnets.Subnets[0].SubnetId), aws.ToString(subnets.Subnets[1].SubnetId)},
	})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String(name), Port: aws.Int32(8080), Protocol: elbtypes.ProtocolEnumHttp,
		VpcId: subnets.Subnets[0].VpcId, HealthCheckPath: aws.String("/health"),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := tg.TargetGroups[0].TargetGroupArn
	if _, err := elb.CreateListener(ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Port: aws.Int32(80), Protocol: elbtypes.ProtocolEnumHttp,
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: arn}},
	}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(arn)
}

// settings are a cluster's AWS fields that put it behind the target group.
func (f *fixture) settings() map[string]any {
	return map[string]any{
		"instanceType":      "t3.micro",
		"targetGroups":      []any{"conf-tg"},
		"availabilityZones": map[string]any{"us-east-1": []any{"us-east-1a", "us-east-1b"}},
		"healthCheckType":   "ELB",
	}
}

// withSettings creates server groups with the fixture's settings, as a
// deploy stage of a cluster that sets them does.
type withSettings struct {
	f *fixture
}

func (w withSettings) Create(ctx context.Context, spec providers.ServerGroupSpec) (*providers.ServerGroup, error) {
	if spec.Settings == nil {
		spec.Settings = w.f.settings()
	}
	return w.f.cloud.ServerGroupCreator.Create(ctx, spec)
}

func (f *fixture) env() providertest.ServerGroupsEnv {
	return providertest.ServerGroupsEnv{
		ServerGroups: f.cloud.ServerGroups,
		Create: func(ctx context.Context, spec providers.ServerGroupSpec) error {
			_, err := withSettings{f}.Create(ctx, spec)
			return err
		},
		Region:    f.region,
		Artifact:  func(string) map[string]any { return map[string]any{"type": gaws.ArtifactType, "reference": f.ami} },
		UpTimeout: 20 * time.Second,
	}
}

func TestAbilities(t *testing.T) {
	f := newFixture(t)
	providertest.Abilities(t, f.cloud, "ServerGroups", "ServerGroupCreator", "Images", "LoadBalancers", "Functions")
}

func TestLoadBalancersConformance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// The suite expects an account whose only load balancers are its own.
	if _, err := elbv2.NewFromConfig(f.cfg).DeleteLoadBalancer(context.Background(), &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lbARN(t, f, "conf-tg-lb"))}); err != nil {
		t.Fatal(err)
	}
	providertest.LoadBalancers(t, providertest.LoadBalancersEnv{LoadBalancers: f.cloud.LoadBalancers, Region: f.region})
}

// An application load balancer with a listener forwarding to a target
// group whose health check is as described; a server group in that target
// group is listed behind it; upserting again updates the health check.
func TestLoadBalancerWithTargetGroup(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	settings := map[string]any{
		"loadBalancerType": "application",
		"targetGroups": []any{map[string]any{"name": "shop-web-tg", "protocol": "HTTP", "port": 8080,
			"healthCheckPath": "/health", "healthCheckInterval": 10, "healthyThreshold": 2}},
		"listeners": []any{map[string]any{"protocol": "HTTP", "port": 80,
			"defaultActions": []any{map[string]any{"type": "forward", "targetGroupName": "shop-web-tg"}}}},
	}
	lb, err := f.cloud.LoadBalancers.Upsert(ctx, providers.LoadBalancerSpec{Name: "shop-web", Region: f.region, Application: "shop", Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	if lb.Type != "application" || lb.Application != "shop" || !slices.Equal(lb.TargetGroups, []string{"shop-web-tg"}) || lb.DNSName == "" {
		t.Fatalf("load balancer = %+v", lb)
	}
	elb := elbv2.NewFromConfig(f.cfg)
	ls, err := elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN(t, f, "shop-web"))})
	if err != nil || len(ls.Listeners) != 1 || aws.ToInt32(ls.Listeners[0].Port) != 80 {
		t.Fatalf("listeners = %+v, %v", ls, err)
	}
	s := f.settings()
	s["targetGroups"] = []any{"shop-web-tg"}
	f.create(t, "shop-web-v000", s)
	lb, err = f.cloud.LoadBalancers.Get(ctx, f.region, "shop-web")
	if err != nil || len(lb.ServerGroups) != 1 || lb.ServerGroups[0].Name != "shop-web-v000" || len(lb.ServerGroups[0].Instances) != 2 {
		t.Fatalf("load balancer with a group behind it = %+v, %v", lb, err)
	}
	settings["targetGroups"].([]any)[0].(map[string]any)["healthCheckPath"] = "/ready"
	if _, err := f.cloud.LoadBalancers.Upsert(ctx, providers.LoadBalancerSpec{Name: "shop-web", Region: f.region, Application: "shop", Settings: settings}); err != nil {
		t.Fatal(err)
	}
	tgs, err := elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"shop-web-tg"}})
	if err != nil || aws.ToString(tgs.TargetGroups[0].HealthCheckPath) != "/ready" {
		t.Fatalf("health check after the update: %+v, %v", tgs, err)
	}
}

func lbARN(t *testing.T, f *fixture, name string) string {
	t.Helper()
	out, err := elbv2.NewFromConfig(f.cfg).DescribeLoadBalancers(context.Background(), &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if err != nil || len(out.LoadBalancers) != 1 {
		t.Fatalf("load balancer %s: %v", name, err)
	}
	return aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
}

func TestImagesConformance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	providertest.Images(t, providertest.ImagesEnv{
		Images: f.cloud.Images,
		Publish: func(t *testing.T, name string) {
			f.registerImage(t, f.region, name, nil)
			// AWS records an image's creation to the second.
			time.Sleep(1100 * time.Millisecond)
		},
	})
}

// registerImage registers an AMI named name in region with tags, unless
// one is named so already; it returns its id.
func (f *fixture) registerImage(t *testing.T, region, name string, tags map[string]string) string {
	t.Helper()
	ctx := context.Background()
	cfg := f.cfg
	cfg.Region = region
	e := ec2.NewFromConfig(cfg)
	have, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{name}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(have.Images) > 0 {
		return aws.ToString(have.Images[0].ImageId)
	}
	out, err := e.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(name), RootDeviceName: aws.String("/dev/xvda"), Architecture: ec2types.ArchitectureValuesX8664})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) > 0 {
		var ts []ec2types.Tag
		for k, v := range tags {
			ts = append(ts, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		if _, err := e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{aws.ToString(out.ImageId)}, Tags: ts}); err != nil {
			t.Fatal(err)
		}
	}
	return aws.ToString(out.ImageId)
}

// Images are found by name prefix and tags, and tagged.
func TestImageTags(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	old := f.registerImage(t, "us-west-2", "shop-1.0.0-h1", map[string]string{"appversion": "shop-1.0.0", "stage": "candidate"})
	time.Sleep(1100 * time.Millisecond)
	newer := f.registerImage(t, "us-west-2", "shop-1.0.1-h2", map[string]string{"appversion": "shop-1.0.1", "stage": "candidate"})
	f.registerImage(t, "us-west-2", "other-1.0.0-h3", map[string]string{"stage": "candidate"})
	it := f.cloud.Images.(providers.ImageTags)
	got, err := it.FindTagged(ctx, "us-west-2", "shop-", map[string]string{"stage": "candidate"})
	if err != nil || len(got) != 2 || got[0].ID != newer || got[1].ID != old {
		t.Fatalf("FindTagged(shop-, stage=candidate) = %+v, %v; want %s then %s", got, err, newer, old)
	}
	if err := it.TagImages(ctx, "us-west-2", []string{old}, map[string]string{"stage": "released"}); err != nil {
		t.Fatal(err)
	}
	got, err = it.FindTagged(ctx, "us-west-2", "shop-", map[string]string{"stage": "released"})
	if err != nil || len(got) != 1 || got[0].ID != old || got[0].Tags["appversion"] != "shop-1.0.0" {
		t.Fatalf("FindTagged(stage=released) after tagging = %+v, %v; want %s with its other tags kept", got, err, old)
	}
}

func TestServerGroupsConformance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	providertest.ServerGroups(t, f.env())
}

func TestServerGroupCreatorConformance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	providertest.ServerGroupCreator(t, withSettings{f}, f.env())
}

// targets lists the instances registered in the fixture's target group.
func (f *fixture) targets(t *testing.T) []string {
	t.Helper()
	out, err := elbv2.NewFromConfig(f.cfg).DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(f.tgARN)})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, d := range out.TargetHealthDescriptions {
		ids = append(ids, aws.ToString(d.Target.Id))
	}
	slices.Sort(ids)
	return ids
}

// What AWS reports after a deploy, a disable and an enable: the Auto
// Scaling group with its launch template and settings, AddToLoadBalancer
// suspended while disabled, and the instances out of the target group.
func TestServerGroupAsAWSReportsIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	settings := f.settings()
	settings["tags"] = map[string]any{"team": "checkout"}
	settings["suspendedProcesses"] = []any{"AZRebalance"}
	settings["enabledMetrics"] = []any{"GroupInServiceInstances"}
	settings["cooldown"] = "30"
	settings["userData"] = "#!/bin/sh\necho hi\n"
	g, err := f.cloud.ServerGroupCreator.Create(ctx, providers.ServerGroupSpec{
		Name: "shop-web-canary-v003", Region: f.region, Capacity: providers.Capacity{Min: 2, Max: 3, Desired: 2},
		Artifact: map[string]any{"type": gaws.ArtifactType, "reference": f.ami}, Settings: settings,
		Provenance: providers.Provenance{Application: "shop", ExecutionID: "e-1", User: "ann"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if g.Cluster != "shop-web-canary" || g.Application != "shop" || g.Counts.Up != 2 || g.Settings["instanceType"] != "t3.micro" || g.Artifact["reference"] != f.ami {
		t.Fatalf("created = %+v", g)
	}
	asg := autoscaling.NewFromConfig(f.cfg)
	out, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"shop-web-canary-v003"}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("describe: %v", err)
	}
	a := out.AutoScalingGroups[0]
	if aws.ToString(a.LaunchTemplate.LaunchTemplateName) != "shop-web-canary-v003" || aws.ToString(a.LaunchTemplate.Version) != "1" ||
		aws.ToInt32(a.DefaultCooldown) != 30 || len(a.TargetGroupARNs) != 1 || a.TargetGroupARNs[0] != f.tgARN ||
		len(a.SuspendedProcesses) != 1 || aws.ToString(a.SuspendedProcesses[0].ProcessName) != "AZRebalance" {
		t.Fatalf("the Auto Scaling group = %+v", a)
	}
	tags := map[string]string{}
	for _, tg := range a.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["team"] != "checkout" || tags["gennaker:executionId"] != "e-1" || tags["spinnaker:application"] != "shop" {
		t.Fatalf("tags = %v", tags)
	}
	lt, err := ec2.NewFromConfig(f.cfg).DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("shop-web-canary-v003")})
	if err != nil || len(lt.LaunchTemplateVersions) != 1 {
		t.Fatalf("launch template: %v", err)
	}
	if d := lt.LaunchTemplateVersions[0].LaunchTemplateData; aws.ToString(d.ImageId) != f.ami || d.InstanceType != "t3.micro" || aws.ToString(d.UserData) != "IyEvYmluL3NoCmVjaG8gaGkK" {
		t.Fatalf("launch template data: image %s, type %s, user data %s", aws.ToString(d.ImageId), d.InstanceType, aws.ToString(d.UserData))
	}
	if got := f.targets(t); len(got) != 2 {
		t.Fatalf("targets registered = %v, want the group's two instances", got)
	}

	if err := f.cloud.ServerGroups.SetEnabled(ctx, f.region, g.Name, false); err != nil {
		t.Fatal(err)
	}
	if got := f.targets(t); len(got) != 0 {
		t.Fatalf("targets after disable = %v, want none", got)
	}
	out, _ = asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{g.Name}})
	var suspended []string
	for _, p := range out.AutoScalingGroups[0].SuspendedProcesses {
		suspended = append(suspended, aws.ToString(p.ProcessName))
	}
	slices.Sort(suspended)
	if !slices.Equal(suspended, []string{"AZRebalance", "AddToLoadBalancer"}) {
		t.Fatalf("suspended after disable = %v", suspended)
	}
	// A disabled group scaled up stays out of rotation.
	if err := f.cloud.ServerGroups.Resize(ctx, f.region, g.Name, providers.Capacity{Min: 3, Max: 3, Desired: 3}); err != nil {
		t.Fatal(err)
	}
	if got := f.targets(t); len(got) != 0 {
		t.Fatalf("targets after resizing the disabled group = %v, want none", got)
	}
	if err := f.cloud.ServerGroups.SetEnabled(ctx, f.region, g.Name, true); err != nil {
		t.Fatal(err)
	}
	if got := f.targets(t); len(got) != 3 {
		t.Fatalf("targets after enable = %v, want the group's three instances", got)
	}

	if err := f.cloud.ServerGroups.Destroy(ctx, f.region, g.Name); err != nil {
		t.Fatal(err)
	}
	if got := f.targets(t); len(got) != 0 {
		t.Fatalf("targets after destroy = %v, want none", got)
	}
	if _, err := ec2.NewFromConfig(f.cfg).DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String(g.Name)}); err == nil {
		t.Fatalf("the launch template outlived its server group")
	}
}

// fakeClassicDeregistration is a fake: moto keeps instances an Auto
// Scaling group registered with a classic load balancer even when they are
// deregistered through the API, which AWS honours. It passes every call to
// moto and hides the instances deregistered since from
// DescribeInstanceHealth, as AWS would report them.
type fakeClassicDeregistration struct {
	gaws.Client
	mu   *sync.Mutex
	gone map[string]bool
}

func (f fakeClassicDeregistration) DescribeInstanceHealth(ctx context.Context, in *elb.DescribeInstanceHealthInput) (*elb.DescribeInstanceHealthOutput, error) {
	out, err := f.Client.DescribeInstanceHealth(ctx, in)
	if err != nil {
		return out, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out.InstanceStates = slices.DeleteFunc(out.InstanceStates, func(s elbclassic.InstanceState) bool { return f.gone[aws.ToString(s.InstanceId)] })
	return out, nil
}

func (f fakeClassicDeregistration) DeregisterInstancesFromLoadBalancer(ctx context.Context, in *elb.DeregisterInstancesFromLoadBalancerInput) error {
	if err := f.Client.DeregisterInstancesFromLoadBalancer(ctx, in); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range in.Instances {
		f.gone[aws.ToString(i.InstanceId)] = true
	}
	return nil
}

func (f fakeClassicDeregistration) RegisterInstancesWithLoadBalancer(ctx context.Context, in *elb.RegisterInstancesWithLoadBalancerInput) error {
	if err := f.Client.RegisterInstancesWithLoadBalancer(ctx, in); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range in.Instances {
		delete(f.gone, aws.ToString(i.InstanceId))
	}
	return nil
}

// A group behind a classic load balancer leaves it when disabled and
// returns when enabled.
func TestClassicLoadBalancer(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	gone := map[string]bool{}
	var fake gaws.Client
	f := fakeFixture(t, func(c gaws.Client) gaws.Client {
		fake = fakeClassicDeregistration{Client: c, mu: &mu, gone: gone}
		return fake
	})
	ctx := context.Background()
	classic := elb.NewFromConfig(f.cfg)
	if _, err := classic.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		LoadBalancerName:  aws.String("shop-classic"),
		AvailabilityZones: []string{"us-east-1a", "us-east-1b"},
		Listeners:         []elbclassic.Listener{{Protocol: aws.String("HTTP"), LoadBalancerPort: 80, InstancePort: aws.Int32(8080)}},
	}); err != nil {
		t.Fatal(err)
	}
	registered := func() int {
		out, err := fake.DescribeInstanceHealth(ctx, &elb.DescribeInstanceHealthInput{LoadBalancerName: aws.String("shop-classic")})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{} // moto lists an instance twice once registered both ways
		for _, s := range out.InstanceStates {
			ids[aws.ToString(s.InstanceId)] = true
		}
		return len(ids)
	}
	s := f.settings()
	delete(s, "targetGroups")
	s["loadBalancers"] = []any{"shop-classic"}
	g := f.create(t, "shop-web-v000", s)
	if g.Counts.Up != 2 || registered() != 2 {
		t.Fatalf("created behind a classic load balancer: counts %+v, %d registered", g.Counts, registered())
	}
	if err := f.cloud.ServerGroups.SetEnabled(ctx, f.region, g.Name, false); err != nil {
		t.Fatal(err)
	}
	if n := registered(); n != 0 {
		t.Fatalf("%d instances registered after disable, want none", n)
	}
	if err := f.cloud.ServerGroups.SetEnabled(ctx, f.region, g.Name, true); err != nil {
		t.Fatal(err)
	}
	if n := registered(); n != 2 {
		t.Fatalf("%d instances registered after enable, want 2", n)
	}
	if g, err := f.cloud.ServerGroups.Get(ctx, f.region, g.Name); err != nil || g.Counts.Up != 2 || g.Disabled {
		t.Fatalf("after enable: %+v, %v", g, err)
	}
}

// A classic load balancer that does not exist is an error that says where
// target groups go, not a group that never comes up.
func TestMissingClassicLoadBalancer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.settings()
	s["loadBalancers"] = []any{"conf-tgx"}
	_, err := f.cloud.ServerGroupCreator.Create(context.Background(), providers.ServerGroupSpec{
		Name: "shop-web-v000", Region: f.region, Capacity: providers.Capacity{Min: 1, Max: 1, Desired: 1},
		Artifact: map[string]any{"type": gaws.ArtifactType, "reference": f.ami}, Settings: s,
	})
	if err == nil || !strings.Contains(err.Error(), `no classic load balancer is named "conf-tgx"`) || !strings.Contains(err.Error(), "targetGroups") {
		t.Fatalf("err = %v", err)
	}
}
