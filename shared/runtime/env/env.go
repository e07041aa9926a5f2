// Package env names the environment variables gennaker reads: those the CDK
// app gives every Lambda function, those the CLI honours, and those of the
// Lambda service the functions look at. It imports only the standard
// library, so the CDK app in infra/ can name the variables it sets without
// depending on the code that reads them.
package env

// The functions' configuration. The CDK app sets every one of them on every
// function; shared/runtime/lambda reads them once per cold start.
const (
	// ConfigTable is the DynamoDB table of applications and pipeline
	// configurations.
	ConfigTable = "GENNAKER_CONFIG_TABLE"
	// ExecutionsTable is the DynamoDB table of execution headers and stages.
	ExecutionsTable = "GENNAKER_EXECUTIONS_TABLE"
	// RuntimeTable is the DynamoDB table of leases and records (TTL "ttl").
	RuntimeTable = "GENNAKER_RUNTIME_TABLE"
	// PipelineMachineArn is the pipeline state machine's ARN.
	PipelineMachineArn = "GENNAKER_PIPELINE_STATE_MACHINE_ARN"
	// StageMachineArn is the stage state machine's ARN.
	StageMachineArn = "GENNAKER_STAGE_STATE_MACHINE_ARN"
	// StageFamilyMachineArnPrefix and …Suffix frame the variable of each
	// provider family's stage machine ARN (StageFamilyMachineArn).
	StageFamilyMachineArnPrefix = "GENNAKER_STAGE_"
	StageFamilyMachineArnSuffix = "_STATE_MACHINE_ARN"
	// EventBusName is gennaker's EventBridge bus.
	EventBusName = "GENNAKER_EVENT_BUS_NAME"
	// Accounts optionally holds the deployment accounts, as the YAML or
	// JSON of an accounts file: `accounts: [{name, provider, …}]`. In the
	// cloud, Kubernetes accounts name EKS clusters. Set only when the
	// stack is given accounts.
	Accounts = "GENNAKER_ACCOUNTS"
	// Auth optionally holds the identity configuration, the YAML or JSON
	// of the file of `gennaker up --auth` without tokens: admins, service
	// accounts, which JWT claims name the user and their roles, and the
	// roles of IAM principals. The API always authenticates in the cloud.
	Auth = "GENNAKER_AUTH"
	// EmailFrom is the stack's SES identity: when set, email
	// notifications go through Amazon SES v2 from this address.
	EmailFrom = "GENNAKER_EMAIL_FROM"
	// Prices optionally overrides the list prices runs are priced at: a
	// JSON object from region to prices (see shared/cost.ParsePrices).
	Prices = "GENNAKER_PRICES"
)

// The CLI's variables.
const (
	// API is the gennaker API URL the CLI talks to; --api overrides it.
	API = "GENNAKER_API"
	// User is who the CLI says it is to a gennaker without authentication.
	User = "GENNAKER_USER"
	// Token is the token the CLI authenticates with (Authorization:
	// Bearer) to a gennaker started with --auth.
	Token = "GENNAKER_TOKEN"
)

// Dynalite is the dynalite executable the DynamoDB tests run, if set.
const Dynalite = "GENNAKER_DYNALITE"

// Variables the Lambda service sets.
const (
	// LambdaFunctionName is set in every Lambda function; its presence
	// means the process runs in Lambda.
	LambdaFunctionName = "AWS_LAMBDA_FUNCTION_NAME"
	// TraceHeader is the X-Ray trace header of the current invocation.
	TraceHeader = "_X_AMZN_TRACE_ID"
	// Region is the function's AWS region; runs are priced at its prices.
	Region = "AWS_REGION"
	// LambdaMemory is the function's memory in MB, what its compute is
	// billed by.
	LambdaMemory = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
)

// StageFamilyMachineArn names the variable holding the ARN of the stage
// machine whose tasks run in a provider family's own function:
// "kubernetes" → GENNAKER_STAGE_KUBERNETES_STATE_MACHINE_ARN.
func StageFamilyMachineArn(family string) string {
	b := []byte(family)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c == '-':
			b[i] = '_'
		}
	}
	return StageFamilyMachineArnPrefix + string(b) + StageFamilyMachineArnSuffix
}
