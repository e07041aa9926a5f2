package providers

import (
	"context"
	"errors"
)

// ErrExists: a function of that name exists already.
var ErrExists = errors.New("already exists")

// Functions manages an account's serverless functions (AWS Lambda): their
// code and configuration, the numbered versions published from them, and
// the aliases that route callers to one version or split them between two.
//
// Creating or updating a function starts work the cloud finishes later
// (Lambda reports it in State and LastUpdateStatus); callers poll Get until
// the function is Ready before the next change, and never block waiting.
type Functions interface {
	// Get returns the function with its published versions and aliases, or
	// an error wrapping ErrNotFound.
	Get(ctx context.Context, region, name string) (*Function, error)
	// Create creates a function from spec (code and configuration),
	// publishing its first version when spec.Publish is set. A function of
	// that name that already exists is an error wrapping ErrExists.
	Create(ctx context.Context, region string, spec FunctionSpec) (*Function, error)
	// UpdateCode replaces the code of the function's unpublished version.
	// A missing function is an error wrapping ErrNotFound.
	UpdateCode(ctx context.Context, region, name string, code FunctionCode) (*Function, error)
	// UpdateConfiguration sets the configuration of the function's
	// unpublished version to spec's (spec.Code is not read). Idempotent.
	UpdateConfiguration(ctx context.Context, region string, spec FunctionSpec) (*Function, error)
	// Publish publishes the unpublished version and returns the version
	// number. When the code and configuration are those of the newest
	// published version, the cloud returns that version instead of a new one.
	// A non-empty revisionID makes the call fail unless the function is
	// still at that revision.
	Publish(ctx context.Context, region, name, revisionID, description string) (string, error)
	// SetAlias creates the alias or updates it to route as a says.
	// Idempotent.
	SetAlias(ctx context.Context, region, name string, a FunctionAlias) error
	// Invoke calls the function (a version or alias in qualifier; empty
	// means the unpublished version) with payload and waits for its answer.
	// An error the function itself raised is reported in the Invocation,
	// not as an error.
	Invoke(ctx context.Context, region, name, qualifier string, payload []byte) (*Invocation, error)
	// SetEventSources makes the event sources (SQS queues, DynamoDB and
	// Kinesis streams) that invoke the function, or its alias qualifier,
	// exactly sources: missing ones are added, changed batch sizes updated,
	// and the target's others removed. Idempotent.
	SetEventSources(ctx context.Context, region, name, qualifier string, sources []EventSource) error
	// Delete deletes one published version (qualifier) or, with an empty
	// qualifier, the whole function. Deleting what does not exist does
	// nothing.
	Delete(ctx context.Context, region, name, qualifier string) error
}

// FunctionSpec is a function's code and configuration, with Spinnaker's
// field names where they exist.
type FunctionSpec struct {
	Name        string            `json:"functionName"`
	Description string            `json:"description,omitempty"`
	Runtime     string            `json:"runtime,omitempty"`
	Handler     string            `json:"handler,omitempty"`
	Role        string            `json:"role,omitempty"`
	MemorySize  int               `json:"memorySize,omitempty"`
	Timeout     int               `json:"timeout,omitempty"`
	Environment map[string]string `json:"envVariables,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Layers      []string          `json:"layers,omitempty"`
	// SubnetIDs and SecurityGroupIDs put the function in a VPC.
	SubnetIDs        []string `json:"subnetIds,omitempty"`
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty"`
	// DeadLetterTarget is the ARN of the SQS queue or SNS topic failed
	// asynchronous invocations go to.
	DeadLetterTarget string `json:"deadLetterTarget,omitempty"`
	// TracingMode is X-Ray's Active or PassThrough.
	TracingMode string `json:"tracingMode,omitempty"`
	// KMSKeyARN encrypts the environment.
	KMSKeyARN string `json:"kmsKeyArn,omitempty"`
	// ReservedConcurrency reserves that many concurrent executions for the
	// function; nil reserves none (UpdateConfiguration removes a
	// reservation).
	ReservedConcurrency *int         `json:"reservedConcurrentExecutions,omitempty"`
	Publish             bool         `json:"publish,omitempty"`
	Code                FunctionCode `json:"code"`
}

// FunctionCode is where a function's code comes from: an object in S3, or
// a zip archive sent with the call.
type FunctionCode struct {
	S3Bucket        string `json:"s3bucket,omitempty"`
	S3Key           string `json:"s3key,omitempty"`
	S3ObjectVersion string `json:"s3ObjectVersion,omitempty"`
	ZipFile         []byte `json:"-"`
}

// Function is a function as it is now.
type Function struct {
	Name string `json:"functionName"`
	ARN  string `json:"functionArn"`
	// State is Lambda's Pending, Active, Inactive or Failed, and
	// LastUpdateStatus its InProgress, Successful or Failed.
	State            string `json:"state,omitempty"`
	StateReason      string `json:"stateReason,omitempty"`
	LastUpdateStatus string `json:"lastUpdateStatus,omitempty"`
	LastUpdateReason string `json:"lastUpdateStatusReason,omitempty"`
	// RevisionID changes with every change of code or configuration.
	RevisionID string `json:"revisionId"`
	CodeSHA256 string `json:"codeSha256,omitempty"`
	// Versions are the published version numbers, oldest first.
	Versions []string        `json:"versions"`
	Aliases  []FunctionAlias `json:"aliases"`
}

// Ready reports whether the function takes the next change: it is Active
// and no update is in progress.
func (f *Function) Ready() bool {
	return (f.State == "" || f.State == "Active") && f.LastUpdateStatus != "InProgress"
}

// Failed reports whether the last creation or update failed, with why.
func (f *Function) Failed() (string, bool) {
	if f.State == "Failed" {
		return f.StateReason, true
	}
	if f.LastUpdateStatus == "Failed" {
		return f.LastUpdateReason, true
	}
	return "", false
}

// Alias returns the named alias, or nil.
func (f *Function) Alias(name string) *FunctionAlias {
	for i := range f.Aliases {
		if f.Aliases[i].Name == name {
			return &f.Aliases[i]
		}
	}
	return nil
}

// FunctionAlias is a name that routes callers to a version, and optionally
// a share of them to a second version.
type FunctionAlias struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Version is the version that takes the traffic Weights leave.
	Version string `json:"functionVersion"`
	// Weights gives other versions a share of the traffic, from 0 to 1.
	Weights map[string]float64 `json:"routingConfig,omitempty"`
}

// EventSource is a queue or stream whose records invoke a function.
type EventSource struct {
	ARN       string `json:"eventSourceArn"`
	BatchSize int    `json:"batchsize,omitempty"`
	// MaxBatchingWindowSecs is how long records are gathered before an
	// invocation.
	MaxBatchingWindowSecs int `json:"maxBatchingWindowSecs,omitempty"`
	// StartingPosition is where a stream is read from (LATEST,
	// TRIM_HORIZON); queues have none.
	StartingPosition string `json:"startingPosition,omitempty"`
}

// Invocation is a function's answer to one call.
type Invocation struct {
	// StatusCode is the HTTP status of the invocation itself (200).
	StatusCode int `json:"statusCode"`
	// FunctionError is set (Unhandled, Handled) when the function raised an
	// error; Payload then holds it.
	FunctionError   string `json:"functionError,omitempty"`
	Payload         []byte `json:"-"`
	ExecutedVersion string `json:"executedVersion,omitempty"`
	// LogResult is the tail of the invocation's log, base64-encoded.
	LogResult string `json:"logResult,omitempty"`
}
