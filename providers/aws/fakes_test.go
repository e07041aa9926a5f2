package aws_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/gennaker/gennaker/providers"
	gaws "github.com/gennaker/gennaker/providers/aws"
	"github.com/gennaker/gennaker/shared/mototest"
)

// moto reports every registered target healthy and never throttles; the
// fakes below stand in for the part of the client that shows what it
// cannot, and pass every other call to moto.

// fakeTargetHealth is a fake: every target of every target group reports
// state, as a target whose health check never passes does.
type fakeTargetHealth struct {
	gaws.Client
	state elbtypes.TargetHealthStateEnum
}

func (f *fakeTargetHealth) DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error) {
	out, err := f.Client.DescribeTargetHealth(ctx, in)
	if err != nil {
		return out, err
	}
	for i := range out.TargetHealthDescriptions {
		out.TargetHealthDescriptions[i].TargetHealth = &elbtypes.TargetHealth{State: f.state}
	}
	return out, nil
}

// fakeInstanceStatus is a fake: every instance's EC2 status is status.
type fakeInstanceStatus struct {
	gaws.Client
	status ec2types.SummaryStatus
}

func (f *fakeInstanceStatus) DescribeInstanceStatus(ctx context.Context, in *ec2.DescribeInstanceStatusInput) (*ec2.DescribeInstanceStatusOutput, error) {
	out, err := f.Client.DescribeInstanceStatus(ctx, in)
	if err != nil {
		return out, err
	}
	for i := range out.InstanceStatuses {
		out.InstanceStatuses[i].InstanceStatus = &ec2types.InstanceStatusSummary{Status: f.status}
	}
	return out, nil
}

// fakeThrottling is a fake: DescribeAutoScalingGroups is refused for its
// rate the first `times` calls (always when times is negative).
type fakeThrottling struct {
	gaws.Client
	times int64
	calls atomic.Int64
}

func (f *fakeThrottling) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	if n := f.calls.Add(1); f.times < 0 || n <= f.times {
		return nil, &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	}
	return f.Client.DescribeAutoScalingGroups(ctx, in)
}

// fakeFixture is a fixture whose provider calls AWS through wrap.
func fakeFixture(t *testing.T, wrap func(gaws.Client) gaws.Client) *fixture {
	t.Helper()
	f := newFixture(t)
	srv := mototest.Shared(t)
	id := f.acct.Fields["accountId"].(string)
	p := gaws.New(
		gaws.WithBaseConfig(func(ctx context.Context, region string) (aws.Config, error) {
			cfg := srv.Config(id)
			cfg.Region = region
			return cfg, nil
		}),
		gaws.WithClient(func(cfg aws.Config) gaws.Client { return wrap(gaws.NewClient(cfg)) }),
	)
	var err error
	if f.cloud, err = p.Cloud(f.acct); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) create(t *testing.T, name string, settings map[string]any) *providers.ServerGroup {
	t.Helper()
	g, err := f.cloud.ServerGroupCreator.Create(context.Background(), providers.ServerGroupSpec{
		Name: name, Region: f.region, Capacity: providers.Capacity{Min: 2, Max: 2, Desired: 2},
		Artifact: map[string]any{"type": gaws.ArtifactType, "reference": f.ami}, Settings: settings,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Up means healthy in every target group: a group whose targets stay in
// their first health checks, or fail them, is not up.
func TestTargetsNotHealthyAreNotUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		state elbtypes.TargetHealthStateEnum
		want  func(providers.InstanceCounts) bool
	}{
		{elbtypes.TargetHealthStateEnumInitial, func(c providers.InstanceCounts) bool { return c.Starting == 2 && c.Up == 0 }},
		{elbtypes.TargetHealthStateEnumUnhealthy, func(c providers.InstanceCounts) bool { return c.Down == 2 && c.Up == 0 }},
		{elbtypes.TargetHealthStateEnumHealthy, func(c providers.InstanceCounts) bool { return c.Up == 2 }},
	} {
		t.Run(string(tc.state), func(t *testing.T) {
			t.Parallel()
			f := fakeFixture(t, func(c gaws.Client) gaws.Client { return &fakeTargetHealth{Client: c, state: tc.state} })
			g := f.create(t, "shop-web-v000", f.settings())
			if !tc.want(g.Counts) || g.Up() != (tc.state == elbtypes.TargetHealthStateEnumHealthy) {
				t.Fatalf("targets %s: counts %+v, up %t", tc.state, g.Counts, g.Up())
			}
		})
	}
}

// Under the EC2 health check, an instance is up once EC2 reports its
// status OK as well.
func TestEC2HealthCheckNeedsStatusOK(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status ec2types.SummaryStatus
		want   func(providers.InstanceCounts) bool
	}{
		{ec2types.SummaryStatusInitializing, func(c providers.InstanceCounts) bool { return c.Starting == 2 }},
		{ec2types.SummaryStatusImpaired, func(c providers.InstanceCounts) bool { return c.Down == 2 }},
		{ec2types.SummaryStatusOk, func(c providers.InstanceCounts) bool { return c.Up == 2 }},
	} {
		t.Run(string(tc.status), func(t *testing.T) {
			t.Parallel()
			f := fakeFixture(t, func(c gaws.Client) gaws.Client { return &fakeInstanceStatus{Client: c, status: tc.status} })
			s := f.settings()
			s["healthCheckType"] = "EC2"
			g := f.create(t, "shop-web-v000", s)
			if !tc.want(g.Counts) {
				t.Fatalf("EC2 status %s: counts %+v", tc.status, g.Counts)
			}
		})
	}
}

// A throttled read is tried again with backoff; one throttled on every
// try is an error wrapping providers.ErrThrottled, which stages wait out.
func TestThrottledReadsAreRetried(t *testing.T) {
	t.Parallel()
	var fake *fakeThrottling
	f := fakeFixture(t, func(c gaws.Client) gaws.Client { fake = &fakeThrottling{Client: c}; return fake })
	ctx := context.Background()
	f.create(t, "shop-web-v000", f.settings())

	fake.calls.Store(0)
	fake.times = 2
	if g, err := f.cloud.ServerGroups.Get(ctx, f.region, "shop-web-v000"); err != nil || g.Counts.Up != 2 {
		t.Fatalf("Get throttled twice = %+v, %v; want the group read on the third try", g, err)
	}
	if n := fake.calls.Load(); n != 3 {
		t.Fatalf("DescribeAutoScalingGroups called %d times, want 3", n)
	}
	fake.times = -1
	_, err := f.cloud.ServerGroups.Get(ctx, f.region, "shop-web-v000")
	if !errors.Is(err, providers.ErrThrottled) {
		t.Fatalf("Get throttled on every try: %v, want ErrThrottled", err)
	}
}
