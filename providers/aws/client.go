package aws

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"github.com/gennaker/gennaker/providers"
)

// Client is every AWS call the provider makes in one account and region:
// Auto Scaling, EC2 and ELBv2, each returning what the SDK returns. It is
// exported only so that tests of what an AWS-protocol server cannot model
// (a target that never turns healthy, throttling) can stand in for part of
// it (WithClient).
type Client interface {
	// Auto Scaling.
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	CreateAutoScalingGroup(ctx context.Context, in *autoscaling.CreateAutoScalingGroupInput) error
	UpdateAutoScalingGroup(ctx context.Context, in *autoscaling.UpdateAutoScalingGroupInput) error
	DeleteAutoScalingGroup(ctx context.Context, in *autoscaling.DeleteAutoScalingGroupInput) error
	SuspendProcesses(ctx context.Context, in *autoscaling.SuspendProcessesInput) error
	ResumeProcesses(ctx context.Context, in *autoscaling.ResumeProcessesInput) error
	EnableMetricsCollection(ctx context.Context, in *autoscaling.EnableMetricsCollectionInput) error

	// EC2.
	CreateLaunchTemplate(ctx context.Context, in *ec2.CreateLaunchTemplateInput) error
	DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	DeleteLaunchTemplate(ctx context.Context, in *ec2.DeleteLaunchTemplateInput) error
	DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput) (*ec2.DescribeSubnetsOutput, error)
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput) (*ec2.DescribeSecurityGroupsOutput, error)
	DescribeInstanceStatus(ctx context.Context, in *ec2.DescribeInstanceStatusInput) (*ec2.DescribeInstanceStatusOutput, error)
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error)
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput) error

	// ELBv2.
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error)
	RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput) error
	DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput) error
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput) (*elbv2.DescribeLoadBalancersOutput, error)
	CreateLoadBalancer(ctx context.Context, in *elbv2.CreateLoadBalancerInput) (*elbv2.CreateLoadBalancerOutput, error)
	DeleteLoadBalancer(ctx context.Context, in *elbv2.DeleteLoadBalancerInput) error
	SetSecurityGroups(ctx context.Context, in *elbv2.SetSecurityGroupsInput) error
	CreateTargetGroup(ctx context.Context, in *elbv2.CreateTargetGroupInput) (*elbv2.CreateTargetGroupOutput, error)
	ModifyTargetGroup(ctx context.Context, in *elbv2.ModifyTargetGroupInput) error
	DeleteTargetGroup(ctx context.Context, in *elbv2.DeleteTargetGroupInput) error
	DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput) (*elbv2.DescribeListenersOutput, error)
	CreateListener(ctx context.Context, in *elbv2.CreateListenerInput) error
	ModifyListener(ctx context.Context, in *elbv2.ModifyListenerInput) error
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput) (*elbv2.DescribeTagsOutput, error)
	AddTags(ctx context.Context, in *elbv2.AddTagsInput) error

	// Classic load balancers.
	DescribeInstanceHealth(ctx context.Context, in *elb.DescribeInstanceHealthInput) (*elb.DescribeInstanceHealthOutput, error)
	RegisterInstancesWithLoadBalancer(ctx context.Context, in *elb.RegisterInstancesWithLoadBalancerInput) error
	DeregisterInstancesFromLoadBalancer(ctx context.Context, in *elb.DeregisterInstancesFromLoadBalancerInput) error
}

// sdkClient is client over the SDK's service clients of one region.
type sdkClient struct {
	asg     *autoscaling.Client
	ec2     *ec2.Client
	elb     *elbv2.Client
	classic *elb.Client
}

// NewClient is Client over the SDK's clients built from cfg.
func NewClient(cfg aws.Config) Client {
	return &sdkClient{asg: autoscaling.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg), elb: elbv2.NewFromConfig(cfg), classic: elb.NewFromConfig(cfg)}
}

var _ Client = (*sdkClient)(nil)

func (c *sdkClient) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	return c.asg.DescribeAutoScalingGroups(ctx, in)
}

func (c *sdkClient) CreateAutoScalingGroup(ctx context.Context, in *autoscaling.CreateAutoScalingGroupInput) error {
	_, err := c.asg.CreateAutoScalingGroup(ctx, in)
	return err
}

func (c *sdkClient) UpdateAutoScalingGroup(ctx context.Context, in *autoscaling.UpdateAutoScalingGroupInput) error {
	_, err := c.asg.UpdateAutoScalingGroup(ctx, in)
	return err
}

func (c *sdkClient) DeleteAutoScalingGroup(ctx context.Context, in *autoscaling.DeleteAutoScalingGroupInput) error {
	_, err := c.asg.DeleteAutoScalingGroup(ctx, in)
	return err
}

func (c *sdkClient) SuspendProcesses(ctx context.Context, in *autoscaling.SuspendProcessesInput) error {
	_, err := c.asg.SuspendProcesses(ctx, in)
	return err
}

func (c *sdkClient) ResumeProcesses(ctx context.Context, in *autoscaling.ResumeProcessesInput) error {
	_, err := c.asg.ResumeProcesses(ctx, in)
	return err
}

func (c *sdkClient) EnableMetricsCollection(ctx context.Context, in *autoscaling.EnableMetricsCollectionInput) error {
	_, err := c.asg.EnableMetricsCollection(ctx, in)
	return err
}

func (c *sdkClient) CreateLaunchTemplate(ctx context.Context, in *ec2.CreateLaunchTemplateInput) error {
	_, err := c.ec2.CreateLaunchTemplate(ctx, in)
	return err
}

func (c *sdkClient) DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	return c.ec2.DescribeLaunchTemplateVersions(ctx, in)
}

func (c *sdkClient) DeleteLaunchTemplate(ctx context.Context, in *ec2.DeleteLaunchTemplateInput) error {
	_, err := c.ec2.DeleteLaunchTemplate(ctx, in)
	return err
}

func (c *sdkClient) DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput) (*ec2.DescribeSubnetsOutput, error) {
	return c.ec2.DescribeSubnets(ctx, in)
}

func (c *sdkClient) DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput) (*ec2.DescribeSecurityGroupsOutput, error) {
	return c.ec2.DescribeSecurityGroups(ctx, in)
}

func (c *sdkClient) DescribeInstanceStatus(ctx context.Context, in *ec2.DescribeInstanceStatusInput) (*ec2.DescribeInstanceStatusOutput, error) {
	return c.ec2.DescribeInstanceStatus(ctx, in)
}

func (c *sdkClient) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
	return c.ec2.DescribeImages(ctx, in)
}

func (c *sdkClient) CreateTags(ctx context.Context, in *ec2.CreateTagsInput) error {
	_, err := c.ec2.CreateTags(ctx, in)
	return err
}

func (c *sdkClient) DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput) (*elbv2.DescribeTargetGroupsOutput, error) {
	return c.elb.DescribeTargetGroups(ctx, in)
}

func (c *sdkClient) DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error) {
	return c.elb.DescribeTargetHealth(ctx, in)
}

func (c *sdkClient) RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput) error {
	_, err := c.elb.RegisterTargets(ctx, in)
	return err
}

func (c *sdkClient) DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput) error {
	_, err := c.elb.DeregisterTargets(ctx, in)
	return err
}

func (c *sdkClient) DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput) (*elbv2.DescribeLoadBalancersOutput, error) {
	return c.elb.DescribeLoadBalancers(ctx, in)
}

func (c *sdkClient) CreateLoadBalancer(ctx context.Context, in *elbv2.CreateLoadBalancerInput) (*elbv2.CreateLoadBalancerOutput, error) {
	return c.elb.CreateLoadBalancer(ctx, in)
}

func (c *sdkClient) DeleteLoadBalancer(ctx context.Context, in *elbv2.DeleteLoadBalancerInput) error {
	_, err := c.elb.DeleteLoadBalancer(ctx, in)
	return err
}

func (c *sdkClient) SetSecurityGroups(ctx context.Context, in *elbv2.SetSecurityGroupsInput) error {
	_, err := c.elb.SetSecurityGroups(ctx, in)
	return err
}

func (c *sdkClient) CreateTargetGroup(ctx context.Context, in *elbv2.CreateTargetGroupInput) (*elbv2.CreateTargetGroupOutput, error) {
	return c.elb.CreateTargetGroup(ctx, in)
}

func (c *sdkClient) ModifyTargetGroup(ctx context.Context, in *elbv2.ModifyTargetGroupInput) error {
	_, err := c.elb.ModifyTargetGroup(ctx, in)
	return err
}

func (c *sdkClient) DeleteTargetGroup(ctx context.Context, in *elbv2.DeleteTargetGroupInput) error {
	_, err := c.elb.DeleteTargetGroup(ctx, in)
	return err
}

func (c *sdkClient) DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput) (*elbv2.DescribeListenersOutput, error) {
	return c.elb.DescribeListeners(ctx, in)
}

func (c *sdkClient) CreateListener(ctx context.Context, in *elbv2.CreateListenerInput) error {
	_, err := c.elb.CreateListener(ctx, in)
	return err
}

func (c *sdkClient) ModifyListener(ctx context.Context, in *elbv2.ModifyListenerInput) error {
	_, err := c.elb.ModifyListener(ctx, in)
	return err
}

func (c *sdkClient) DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput) (*elbv2.DescribeTagsOutput, error) {
	return c.elb.DescribeTags(ctx, in)
}

func (c *sdkClient) AddTags(ctx context.Context, in *elbv2.AddTagsInput) error {
	_, err := c.elb.AddTags(ctx, in)
	return err
}

func (c *sdkClient) DescribeInstanceHealth(ctx context.Context, in *elb.DescribeInstanceHealthInput) (*elb.DescribeInstanceHealthOutput, error) {
	return c.classic.DescribeInstanceHealth(ctx, in)
}

func (c *sdkClient) RegisterInstancesWithLoadBalancer(ctx context.Context, in *elb.RegisterInstancesWithLoadBalancerInput) error {
	_, err := c.classic.RegisterInstancesWithLoadBalancer(ctx, in)
	return err
}

func (c *sdkClient) DeregisterInstancesFromLoadBalancer(ctx context.Context, in *elb.DeregisterInstancesFromLoadBalancerInput) error {
	_, err := c.classic.DeregisterInstancesFromLoadBalancer(ctx, in)
	return err
}

// throttleCodes are the error codes AWS answers a call with when the
// caller exceeds its rate.
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestLimitExceeded": true, "RequestThrottled": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "SlowDown": true, "PriorRequestNotComplete": true,
	"Rate exceeded": true,
}

// isThrottle reports whether err is AWS refusing a call for its rate.
func isThrottle(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && throttleCodes[ae.ErrorCode()]
}

// retryPolicy is how often and how long a throttled call is tried again
// before the provider gives up with providers.ErrThrottled, which a stage
// turns into trying again after a backoff.
type retryPolicy struct {
	attempts int
	base     time.Duration
	max      time.Duration
}

var defaultRetry = retryPolicy{attempts: 4, base: 200 * time.Millisecond, max: 2 * time.Second}

// call runs one AWS call, retrying it with jittered exponential backoff
// while AWS throttles it. A call still throttled after the last attempt is
// an error wrapping providers.ErrThrottled; any other error is returned as
// it is.
func call[T any](ctx context.Context, p retryPolicy, op string, f func() (T, error)) (T, error) {
	delay := p.base
	for attempt := 1; ; attempt++ {
		v, err := f()
		if err == nil || !isThrottle(err) {
			return v, err
		}
		if attempt >= p.attempts {
			return v, fmt.Errorf("%s: %w after %d attempts: %w", op, providers.ErrThrottled, attempt, err)
		}
		wait := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, fmt.Errorf("%s: %w", op, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, p.max)
	}
}

// do is call for a call that returns only an error.
func do(ctx context.Context, p retryPolicy, op string, f func() error) error {
	_, err := call(ctx, p, op, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// errorCode is the AWS error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
