// Package notifications is the CDK construct that delivers gennaker's
// notifications in the cloud: a rule on gennaker's event bus hands every
// gennaker event to the notifier function, a schedule has it send events
// whose publication was lost, and it may send email from the stack's SES
// identity and publish to the SNS topics the stack names, nothing else.
package notifications

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Source is the EventBridge source of gennaker's events.
const Source = "gennaker"

// NotificationsProps configures Notifications.
type NotificationsProps struct {
	// Bus is gennaker's event bus.
	Bus awsevents.IEventBus
	// Notifier is the notifier function.
	Notifier awslambda.Function
	// SESIdentity, when set, is an email address or a domain the stack
	// creates as an SES identity; the notifier may send from it.
	SESIdentity string
	// Topics are the SNS topic ARNs notifications may publish to.
	Topics []string
}

// Notifications routes the bus to the notifier.
type Notifications struct {
	constructs.Construct
	// Rule sends gennaker's events to the notifier.
	Rule awsevents.Rule
	// Identity is the SES identity, if any.
	Identity awsses.EmailIdentity
	// DeadLetters keeps events the notifier could not take after retries.
	DeadLetters awssqs.Queue
}

// NewNotifications defines the rule, the sweep schedule, the SES identity
// and the notifier's grants.
func NewNotifications(scope constructs.Construct, id string, props *NotificationsProps) *Notifications {
	this := constructs.NewConstruct(scope, jsii.String(id))
	n := &Notifications{Construct: this}
	n.DeadLetters = awssqs.NewQueue(this, jsii.String("DeadLetters"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(n.DeadLetters, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue of the rule's Lambda target; " +
			"a dead-letter queue has no dead-letter queue of its own."),
	}}, jsii.Bool(true))
	n.Rule = awsevents.NewRule(this, jsii.String("ToNotifier"), &awsevents.RuleProps{
		Description:  jsii.String("gennaker: every lifecycle and configuration event to the notifier"),
		EventBus:     props.Bus,
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings(Source)},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(props.Notifier, &awseventstargets.LambdaFunctionProps{
			RetryAttempts:   jsii.Number(8),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(2)),
			DeadLetterQueue: n.DeadLetters,
		})},
	})
	awsevents.NewRule(this, jsii.String("Sweep"), &awsevents.RuleProps{
		Description: jsii.String("gennaker: send the events whose publication was lost"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(10))),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(props.Notifier, nil)},
	})
	stack := awscdk.Stack_Of(this)
	if props.SESIdentity != "" {
		var identity awsses.Identity
		if strings.Contains(props.SESIdentity, "@") {
			identity = awsses.Identity_Email(jsii.String(props.SESIdentity))
		} else {
			identity = awsses.Identity_Domain(jsii.String(props.SESIdentity))
		}
		n.Identity = awsses.NewEmailIdentity(this, jsii.String("Identity"), &awsses.EmailIdentityProps{Identity: identity})
		props.Notifier.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("ses:SendEmail"),
			Resources: jsii.Strings(*stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: n.Identity.EmailIdentityName(),
			})),
		}))
	}
	if len(props.Topics) > 0 {
		props.Notifier.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("sns:Publish"),
			Resources: jsii.Strings(props.Topics...),
		}))
	}
	return n
}

// EmailFrom is the sender address of the identity: the address itself, or
// gennaker@ the domain.
func EmailFrom(identity string) string {
	if identity == "" || strings.Contains(identity, "@") {
		return identity
	}
	return "gennaker@" + identity
}
