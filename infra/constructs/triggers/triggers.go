// Package triggers is the CDK construct for what starts pipelines without
// anyone asking: EventBridge rules on the account's default bus for Amazon
// ECR image pushes, CodeCommit branch changes and finished CodeBuild
// builds, routed to the triggers
// function; and the EventBridge Scheduler group that holds one schedule
// per cron trigger, with the role the schedules invoke the function as.
// The schedules themselves are created by the code that saves pipelines
// (GrantSchedules lets a function do so), not by the stack.
package triggers

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// TriggersProps configures Triggers.
type TriggersProps struct {
	// Function is the triggers function (functions/triggers).
	Function awslambda.IFunction
}

// Triggers is the event rules, the schedule group and the schedules' role.
type Triggers struct {
	constructs.Construct
	// ECR, CodeCommit and CodeBuild are the rules of the event sources.
	// S3 "Object Created" events are handled too, but no rule sends them:
	// a busy bucket would invoke the function for every object, so a rule
	// for the buckets that matter is left to the installation.
	ECR, CodeCommit, CodeBuild awsevents.Rule
	// Group holds the cron triggers' schedules.
	Group awsscheduler.CfnScheduleGroup
	// ScheduleRole is what the schedules invoke the function as.
	ScheduleRole awsiam.Role
	fn           awslambda.IFunction
}

// NewTriggers defines the rules, the schedule group and the role.
func NewTriggers(scope constructs.Construct, id string, props *TriggersProps) *Triggers {
	if props == nil || props.Function == nil {
		panic("triggers: no function to route events to")
	}
	this := constructs.NewConstruct(scope, jsii.String(id))
	t := &Triggers{Construct: this, fn: props.Function}
	target := func() *[]awsevents.IRuleTarget {
		return &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(props.Function, &awseventstargets.LambdaFunctionProps{
			RetryAttempts: jsii.Number(8),
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(2)),
		})}
	}
	// Only what starts a pipeline reaches the function: pushes, not
	// deletions; branches, not tags.
	t.ECR = awsevents.NewRule(this, jsii.String("EcrPush"), &awsevents.RuleProps{
		Description: jsii.String("gennaker: images pushed to Amazon ECR start docker triggers"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.ecr"),
			DetailType: jsii.Strings("ECR Image Action"),
			Detail:     &map[string]interface{}{"action-type": []string{"PUSH"}, "result": []string{"SUCCESS"}},
		},
		Targets: target(),
	})
	t.CodeCommit = awsevents.NewRule(this, jsii.String("CodeCommitPush"), &awsevents.RuleProps{
		Description: jsii.String("gennaker: branches created or updated in CodeCommit start git triggers"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.codecommit"),
			DetailType: jsii.Strings("CodeCommit Repository State Change"),
			Detail: &map[string]interface{}{
				"event":         []string{"referenceCreated", "referenceUpdated"},
				"referenceType": []string{"branch"},
			},
		},
		Targets: target(),
	})

	t.CodeBuild = awsevents.NewRule(this, jsii.String("CodeBuildState"), &awsevents.RuleProps{
		Description: jsii.String("gennaker: finished CodeBuild builds start webhook triggers of source codebuild"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.codebuild"),
			DetailType: jsii.Strings("CodeBuild Build State Change"),
			Detail:     &map[string]interface{}{"build-status": []string{"SUCCEEDED", "FAILED", "STOPPED"}},
		},
		Targets: target(),
	})

	t.Group = awsscheduler.NewCfnScheduleGroup(this, jsii.String("Schedules"), &awsscheduler.CfnScheduleGroupProps{})
	account := awscdk.Stack_Of(this).Account()
	t.ScheduleRole = awsiam.NewRole(this, jsii.String("ScheduleRole"), &awsiam.RoleProps{
		Description: jsii.String("gennaker: the cron triggers' schedules invoke the triggers function"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"aws:SourceAccount": account},
			},
		}),
	})
	// The schedules invoke the function's unqualified ARN, and nothing else.
	t.ScheduleRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &[]*string{props.Function.FunctionArn()},
	}))
	return t
}

// GrantSchedules lets fn create, change and delete the schedules of the
// group (and hand them the role), and tells it where they go through the
// given environment variable names.
func (t *Triggers) GrantSchedules(fn awslambda.Function, groupVar, roleVar, targetVar string) {
	stack := awscdk.Stack_Of(t.Construct)
	schedules := stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("scheduler"),
		Resource:     jsii.String("schedule"),
		ResourceName: jsii.String(*t.Group.Ref() + "/*"),
	})
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"),
		Resources: &[]*string{schedules},
	}))
	t.ScheduleRole.GrantPassRole(fn.Role())
	fn.AddEnvironment(jsii.String(groupVar), t.Group.Ref(), nil)
	fn.AddEnvironment(jsii.String(roleVar), t.ScheduleRole.RoleArn(), nil)
	fn.AddEnvironment(jsii.String(targetVar), t.fn.FunctionArn(), nil)
	cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Schedules are created as pipelines with cron triggers are saved, so their names are not " +
			"known in advance: the wildcard covers the schedules of gennaker's own schedule group only."),
		AppliesTo: &[]interface{}{map[string]interface{}{"regex": "/^Resource::arn:<AWS::Partition>:scheduler:.*:schedule/.*$/g"}},
	}}, jsii.Bool(true))
}
