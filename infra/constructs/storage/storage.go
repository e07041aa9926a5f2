// Package storage is the CDK construct for gennaker's DynamoDB tables.
//
// The tables mirror, attribute for attribute, what the DynamoDB store
// documents in shared/store/dynamodb (doc.go and TableInputs): three tables
// keyed by pk (S) and sk (S), billed per request; the Executions table has
// the global secondary indexes byApplication and byPipeline (projection
// ALL); the Runtime table has time to live on "ttl". The stack tests compare
// the synthesized tables with dynamodb.TableInputs, so the two cannot drift.
//
// Every table has point-in-time recovery, encryption at rest with the
// AWS-managed KMS key, deletion protection, and is retained when the stack
// is deleted: a table holds pipeline history nobody can rebuild. Tables have
// no physical names; the stack hands their generated names to the functions.
package storage

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Index and attribute names, as shared/store/dynamodb documents them.
const (
	IndexByApplication  = "byApplication"
	IndexByPipeline     = "byPipeline"
	TimeToLiveAttribute = "ttl"
)

// DataActions are the DynamoDB actions the store makes. It never scans,
// never uses transactions and never changes a table, so it gets none of
// those.
var DataActions = []string{
	"dynamodb:GetItem",
	"dynamodb:PutItem",
	"dynamodb:UpdateItem",
	"dynamodb:DeleteItem",
	"dynamodb:Query",
	"dynamodb:BatchGetItem",
	"dynamodb:BatchWriteItem",
}

// StorageProps configures Storage. The zero value is a good default.
type StorageProps struct {
	// RecoveryPeriodInDays is how far back point-in-time recovery reaches,
	// 1 to 35. Default 35.
	RecoveryPeriodInDays float64
}

// Storage is the store's three tables.
type Storage struct {
	constructs.Construct
	// Config holds applications and pipeline configurations with every
	// saved version.
	Config awsdynamodb.Table
	// Executions holds one header item per run and one item per stage.
	Executions awsdynamodb.Table
	// Runtime holds leases and records; its items expire by time to live.
	Runtime awsdynamodb.Table
}

// NewStorage defines the tables.
func NewStorage(scope constructs.Construct, id string, props *StorageProps) *Storage {
	if props == nil {
		props = &StorageProps{}
	}
	days := props.RecoveryPeriodInDays
	if days == 0 {
		days = 35
	}
	this := constructs.NewConstruct(scope, jsii.String(id))
	table := func(id string, ttl *string) awsdynamodb.Table {
		return awsdynamodb.NewTable(this, jsii.String(id), &awsdynamodb.TableProps{
			PartitionKey: &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
			SortKey:      &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
			BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
			Encryption:   awsdynamodb.TableEncryption_AWS_MANAGED,
			PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
				PointInTimeRecoveryEnabled: jsii.Bool(true),
				RecoveryPeriodInDays:       jsii.Number(days),
			},
			DeletionProtection:  jsii.Bool(true),
			RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
			TimeToLiveAttribute: ttl,
		})
	}
	s := &Storage{
		Construct:  this,
		Config:     table("Config", nil),
		Executions: table("Executions", nil),
		Runtime:    table("Runtime", jsii.String(TimeToLiveAttribute)),
	}
	for _, index := range []struct{ name, partition string }{
		{IndexByApplication, "application"},
		{IndexByPipeline, "pipelineConfigId"},
	} {
		s.Executions.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(index.name),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(index.partition), Type: awsdynamodb.AttributeType_STRING},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String("listKey"), Type: awsdynamodb.AttributeType_STRING},
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	return s
}

// GrantData lets grantee read and write items in every table and query the
// Executions table's indexes, named one by one rather than with index/*.
func (s *Storage) GrantData(grantee awsiam.IGrantable) {
	arns := []*string{
		s.Config.TableArn(),
		s.Executions.TableArn(),
		jsii.String(*s.Executions.TableArn() + "/index/" + IndexByApplication),
		jsii.String(*s.Executions.TableArn() + "/index/" + IndexByPipeline),
		s.Runtime.TableArn(),
	}
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      grantee,
		Actions:      jsii.Strings(DataActions...),
		ResourceArns: &arns,
	})
}
