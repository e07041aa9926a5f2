// Package events is the CDK construct for gennaker's own EventBridge bus: the
// events gennaker publishes about itself (a pipeline started, a stage
// finished, a pipeline saved), for rules in this stack and for anyone in the
// account who wants to react to them.
//
// The bus has no physical name and no resource policy: only principals this
// account grants (functions through GrantPut) may put events on it.
package events

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// EventsProps configures Events. The zero value is a good default.
type EventsProps struct {
	// Description of the bus.
	Description string
}

// Events is gennaker's event bus.
type Events struct {
	constructs.Construct
	Bus awsevents.EventBus
}

// NewEvents defines the bus.
func NewEvents(scope constructs.Construct, id string, props *EventsProps) *Events {
	if props == nil {
		props = &EventsProps{}
	}
	this := constructs.NewConstruct(scope, jsii.String(id))
	desc := props.Description
	if desc == "" {
		desc = "gennaker's own events: pipeline and stage lifecycle, configuration changes"
	}
	bus := awsevents.NewEventBus(this, jsii.String("Bus"), &awsevents.EventBusProps{
		Description: jsii.String(desc),
	})
	return &Events{Construct: this, Bus: bus}
}

// GrantPut lets grantee put events on this bus only.
func (e *Events) GrantPut(grantee awsiam.IGrantable) {
	e.Bus.GrantPutEventsTo(grantee, nil)
}

// Schedule invokes fn with input every period, from a rule on the account's
// default bus (scheduled rules live there).
func (e *Events) Schedule(id string, every awscdk.Duration, fn awslambda.IFunction, input map[string]any) awsevents.Rule {
	return awsevents.NewRule(e.Construct, jsii.String(id), &awsevents.RuleProps{
		Description: jsii.String("gennaker: " + id),
		Schedule:    awsevents.Schedule_Rate(every),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			Event: awsevents.RuleTargetInput_FromObject(input),
		})},
	})
}
