// Package orchestration is the CDK construct for gennaker's Step Functions
// state machines: one Standard state machine per definition in
// statemachines/ (pipeline, stage), the same files the local runtime
// interprets, with X-Ray tracing and every execution logged with its data.
//
// A definition names the functions it invokes with substitutions:
// ${OrchestratorFunctionArn} becomes the ARN of functions/orchestrator. Each
// machine's role may invoke exactly the functions its Task states invoke and,
// when the definition starts new runs of itself ($$.StateMachine.Id, as the
// stage machine does to continue a long wait in a fresh history), start
// executions of itself. A definition that uses a service integration
// infra/internal/definition does not know fails the synth.
//
// # Why state machines have fixed names
//
// The machines reference the functions (substitutions, invoke grants), and
// the functions need the machines' ARNs (environment variables, grants to
// start, stop and describe runs), and the stage machine's role needs the
// stage machine's own ARN. Referencing the machine resources from those
// places would make CloudFormation dependency cycles: machine → role policy
// → machine, and function → role policy → machine → function. So each
// machine gets a physical name from the stack (MachineProps.Name) and every
// ARN this construct hands out is built from that name with Stack.formatArn,
// which references no resource. The price is that two stacks in one account
// and region need different names; the stack derives them from its own name.
package orchestration

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/gennaker/gennaker/infra/internal/definition"
)

// MachineProps is one state machine.
type MachineProps struct {
	// Name is the machine's physical name, at most 80 characters (see the
	// package documentation for why it is fixed).
	Name string
	// Definition is the Amazon States Language, substitutions in place.
	Definition []byte
}

// OrchestrationProps configures Orchestration.
type OrchestrationProps struct {
	// Machines by short name: "pipeline" for statemachines/pipeline.asl.json.
	Machines map[string]MachineProps
	// Functions by directory name under functions/, for substitutions.
	Functions map[string]awslambda.IFunction
	// LogRetention of the execution logs. Default one month.
	LogRetention awslogs.RetentionDays
}

// Orchestration is the set of state machines.
type Orchestration struct {
	constructs.Construct
	names    []string
	machines map[string]awsstepfunctions.StateMachine
	physical map[string]string
	arns     map[string]*string
}

// NewOrchestration defines the state machines.
func NewOrchestration(scope constructs.Construct, id string, props *OrchestrationProps) *Orchestration {
	if props == nil || len(props.Machines) == 0 {
		panic("orchestration: no state machines")
	}
	retention := props.LogRetention
	if retention == "" {
		retention = awslogs.RetentionDays_ONE_MONTH
	}
	this := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(this)
	o := &Orchestration{
		Construct: this,
		machines:  map[string]awsstepfunctions.StateMachine{},
		physical:  map[string]string{},
		arns:      map[string]*string{},
	}
	for name := range props.Machines {
		o.names = append(o.names, name)
	}
	sort.Strings(o.names)
	bySubstitution := map[string]awslambda.IFunction{}
	for name, fn := range props.Functions {
		bySubstitution[definition.Substitution(name)] = fn
	}

	for _, name := range o.names {
		m := props.Machines[name]
		file := fmt.Sprintf("statemachines/%s.asl.json", name)
		if m.Name == "" || len(m.Name) > 80 {
			panic(fmt.Sprintf("orchestration: state machine %s needs a name of 1 to 80 characters, got %q", name, m.Name))
		}
		needs, err := definition.Analyze(m.Definition)
		if err != nil {
			panic(fmt.Sprintf("orchestration: %s: %v", file, err))
		}
		substitutions := map[string]*string{}
		for _, sub := range needs.Substitutions {
			fn, ok := bySubstitution[sub]
			if !ok {
				fnName, isFn := definition.FunctionName(sub)
				if !isFn {
					panic(fmt.Sprintf("orchestration: %s uses ${%s}, which names no function (substitutions are ${<Name>%s})", file, sub, definition.FunctionArnSuffix))
				}
				panic(fmt.Sprintf("orchestration: %s uses ${%s}, but there is no function %s (functions/%s/main.go)", file, sub, fnName, fnName))
			}
			substitutions[sub] = fn.FunctionArn()
		}
		arn := stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("states"),
			Resource:     jsii.String("stateMachine"),
			ResourceName: jsii.String(m.Name),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})
		o.arns[name] = arn
		o.physical[name] = m.Name

		unit := constructs.NewConstruct(this, jsii.String(pascal(name)))
		logs := awslogs.NewLogGroup(unit, jsii.String("Logs"), &awslogs.LogGroupProps{Retention: retention})
		sm := awsstepfunctions.NewStateMachine(unit, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
			StateMachineName:        jsii.String(m.Name),
			StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
			DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(m.Definition))),
			DefinitionSubstitutions: &substitutions,
			TracingEnabled:          jsii.Bool(true),
			Logs: &awsstepfunctions.LogOptions{
				Destination:          logs,
				Level:                awsstepfunctions.LogLevel_ALL,
				IncludeExecutionData: jsii.Bool(true),
			},
		})
		for _, sub := range needs.Invokes {
			// The unqualified ARN, exactly what the definition invokes: no
			// "<arn>:*" for versions and aliases the definitions never use.
			sm.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("lambda:InvokeFunction"),
				Resources: jsii.Strings(*bySubstitution[sub].FunctionArn()),
			}))
		}
		if needs.StartsItself {
			// The ARN built from the name, not sm.StateMachineArn(): the
			// machine depends on its role's policy, so the policy cannot
			// reference the machine.
			sm.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("states:StartExecution"),
				Resources: &[]*string{arn},
			}))
		}
		cdknag.NagSuppressions_AddResourceSuppressions(sm, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Resource '*' only for actions without resource-level permissions: " +
				"CloudWatch Logs vended delivery (logs:CreateLogDelivery and friends), which Step Functions " +
				"needs to log executions, and X-Ray's PutTraceSegments/PutTelemetryRecords/GetSampling*, for tracing."),
			AppliesTo: &[]interface{}{"Resource::*"},
		}}, jsii.Bool(true))
		o.machines[name] = sm
	}
	return o
}

// Names returns the machines' short names, sorted.
func (o *Orchestration) Names() []string { return append([]string(nil), o.names...) }

// StateMachine returns the machine defined by statemachines/<name>.asl.json.
func (o *Orchestration) StateMachine(name string) (awsstepfunctions.StateMachine, bool) {
	sm, ok := o.machines[name]
	return sm, ok
}

// Arn returns a machine's ARN, built from its name (see the package
// documentation); use it wherever a reference would make a cycle.
func (o *Orchestration) Arn(name string) *string { return o.arns[name] }

// GrantControl lets role do what the orchestration engine does with the
// machines: start runs, describe and stop them, and answer task tokens.
func (o *Orchestration) GrantControl(role awsiam.IRole) {
	var machines, executions []*string
	for _, name := range o.names {
		machines = append(machines, o.arns[name])
		executions = append(executions, awscdk.Stack_Of(o.Construct).FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("states"),
			Resource:     jsii.String("execution"),
			ResourceName: jsii.String(o.physical[name] + ":*"),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		}))
	}
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:StartExecution"),
		Resources: &machines,
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:DescribeExecution", "states:StopExecution"),
		Resources: &executions,
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"),
		Resources: jsii.Strings("*"),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{
		{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Execution names are chosen at run time (the execution id, deterministic stage " +
				"run names), so DescribeExecution and StopExecution are granted on every execution of " +
				"gennaker's own state machines, and on nothing else."),
			AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{
				Regex: jsii.String(`/^Resource::arn:[^*]+:states:[^*]+:execution:[^:*]+:\*$/`),
			}},
		},
		{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("states:SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat support no " +
				"resource-level permissions (the task token identifies the task), so they need Resource '*'."),
			AppliesTo: &[]interface{}{"Resource::*"},
		},
	}, jsii.Bool(true))
}

func pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
