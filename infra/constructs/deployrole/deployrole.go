// Package deployrole is the role gennaker assumes in an AWS account it
// deploys to. Users deploy it into each target account (a stack of its own,
// or docs/aws-accounts.md's CloudFormation) and name it in the account's
// assumeRole; gennaker's functions hold no deployment rights of their own.
//
// Its policy grants the calls the aws provider makes and no more: Auto
// Scaling groups, the launch templates they launch from, load balancers
// with their listeners and target groups, their membership, and AMI tags. Describe calls take no resource-level
// conditions in AWS, so they are granted on every resource of their
// service; every change is limited to what gennaker names or tags.
package deployrole

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Props configure the role.
type Props struct {
	// TrustedRoles are the ARNs of gennaker's function roles (or their
	// account's root, arn:aws:iam::ID:root) allowed to assume the role.
	TrustedRoles []string
	// ExternalID, when set, must be passed to sts:AssumeRole (the
	// account's externalId).
	ExternalID string
	// RoleName is the role's name; empty lets CloudFormation choose.
	RoleName string
	// InstanceRoles are the ARNs of the roles the deployed instances run
	// as (their iamRole's instance profile roles), which launching needs
	// to pass to EC2. None means instances run without a role.
	InstanceRoles []string
}

// ReadActions are the describe calls of the aws provider. AWS offers no
// resource-level permission for them.
var ReadActions = []string{
	"autoscaling:DescribeAutoScalingGroups",
	"ec2:DescribeLaunchTemplateVersions", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
	"ec2:DescribeInstanceStatus", "ec2:DescribeImages",
	"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
	"elasticloadbalancing:DescribeInstanceHealth", "elasticloadbalancing:DescribeLoadBalancers",
	"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTags",
}

// ScalingActions change the Auto Scaling groups the provider creates.
var ScalingActions = []string{
	"autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup", "autoscaling:DeleteAutoScalingGroup",
	"autoscaling:SuspendProcesses", "autoscaling:ResumeProcesses", "autoscaling:EnableMetricsCollection",
	"autoscaling:CreateOrUpdateTags",
}

// LaunchActions create and delete launch templates and launch instances
// from them (an Auto Scaling group launches with its creator's rights).
var LaunchActions = []string{
	"ec2:CreateLaunchTemplate", "ec2:DeleteLaunchTemplate", "ec2:RunInstances", "ec2:CreateTags",
}

// TargetActions move instances in and out of target groups and classic
// load balancers.
var TargetActions = []string{
	"elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets",
	"elasticloadbalancing:RegisterInstancesWithLoadBalancer", "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
}

// LoadBalancerActions create, change and delete load balancers, their
// listeners and target groups (upsertLoadBalancer, deleteLoadBalancer).
var LoadBalancerActions = []string{
	"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer",
	"elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:AddTags",
	"elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:DeleteTargetGroup",
	"elasticloadbalancing:CreateListener", "elasticloadbalancing:ModifyListener",
}

// LambdaActions are the calls of the Lambda stages (Aws.Lambda*): the
// place to list them when those stages land.
var LambdaActions = []string{}

// Role is the deploy role.
type Role struct {
	constructs.Construct
	Role awsiam.Role
}

// NewRole creates the deploy role.
func NewRole(scope constructs.Construct, id string, props *Props) *Role {
	c := constructs.NewConstruct(scope, jsii.String(id))
	var principals []awsiam.IPrincipal
	for _, arn := range props.TrustedRoles {
		principals = append(principals, awsiam.NewArnPrincipal(jsii.String(arn)))
	}
	var trust awsiam.IPrincipal = awsiam.NewCompositePrincipal(principals...)
	if props.ExternalID != "" {
		trust = awsiam.NewCompositePrincipal(principals...).WithConditions(&map[string]any{
			"StringEquals": map[string]any{"sts:ExternalId": props.ExternalID},
		})
	}
	rp := &awsiam.RoleProps{
		AssumedBy:          trust,
		Description:        jsii.String("gennaker deploys Auto Scaling groups behind target groups in this account"),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	}
	if props.RoleName != "" {
		rp.RoleName = jsii.String(props.RoleName)
	}
	role := awsiam.NewRole(c, jsii.String("Role"), rp)
	add := func(actions []string, resources ...string) {
		if len(actions) == 0 {
			return
		}
		role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings(actions...), Resources: jsii.Strings(resources...),
		}))
	}
	stack := awscdk.Stack_Of(c)
	arn := func(service, resource string) string {
		return *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String(service), Resource: jsii.String(resource), Region: jsii.String("*")})
	}
	add(ReadActions, "*")
	add(ScalingActions, arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*"))
	add(LaunchActions,
		arn("ec2", "launch-template/*"), arn("ec2", "instance/*"), arn("ec2", "volume/*"), arn("ec2", "network-interface/*"),
		arn("ec2", "subnet/*"), arn("ec2", "security-group/*"), arn("ec2", "key-pair/*"),
		*stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ec2"), Resource: jsii.String("image/*"), Region: jsii.String("*"), Account: jsii.String("")}))
	add(TargetActions, arn("elasticloadbalancing", "targetgroup/*/*"), arn("elasticloadbalancing", "loadbalancer/*"))
	add(LoadBalancerActions, arn("elasticloadbalancing", "loadbalancer/*"), arn("elasticloadbalancing", "targetgroup/*/*"),
		arn("elasticloadbalancing", "listener/*"))
	if len(props.InstanceRoles) > 0 {
		role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:    jsii.Strings("iam:PassRole"),
			Resources:  jsii.Strings(props.InstanceRoles...),
			Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ec2.amazonaws.com"}},
		}))
	}
	// Launching through Auto Scaling uses its service-linked role.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("iam:CreateServiceLinkedRole"),
		Resources:  jsii.Strings(*stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""), Resource: jsii.String("role/aws-service-role/autoscaling.amazonaws.com/*")})),
		Conditions: &map[string]any{"StringEquals": map[string]any{"iam:AWSServiceName": "autoscaling.amazonaws.com"}},
	}))
	add(LambdaActions, *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("lambda"), Region: jsii.String("*"),
		Resource: jsii.String("function"), ResourceName: jsii.String("*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME}))
	return &Role{Construct: c, Role: role}
}
