package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// TimeToLiveAttribute is the Runtime table's time-to-live attribute: a
// number of Unix seconds after which DynamoDB may delete the item.
const TimeToLiveAttribute = attrTTL

// TableAPI is the part of the DynamoDB client CreateTables uses.
// *dynamodb.Client implements it.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

var _ TableAPI = (*dynamodb.Client)(nil)

// TableInputs describes the store's tables as CreateTable requests: key
// schema, attribute definitions, global secondary indexes, on-demand
// billing. The CDK app defines the same tables; a test there can compare its
// templates with these.
func TableInputs(tables Tables) []*dynamodb.CreateTableInput {
	keyed := func(name string) *dynamodb.CreateTableInput {
		return &dynamodb.CreateTableInput{
			TableName:   ptr(name),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: ptr(attrPK), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: ptr(attrSK), AttributeType: types.ScalarAttributeTypeS},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: ptr(attrPK), KeyType: types.KeyTypeHash},
				{AttributeName: ptr(attrSK), KeyType: types.KeyTypeRange},
			},
		}
	}
	index := func(name, hash, rangeKey string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName: ptr(name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: ptr(hash), KeyType: types.KeyTypeHash},
				{AttributeName: ptr(rangeKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}
	}
	config := keyed(tables.Config)
	executions := keyed(tables.Executions)
	executions.AttributeDefinitions = append(executions.AttributeDefinitions,
		types.AttributeDefinition{AttributeName: ptr(attrApplication), AttributeType: types.ScalarAttributeTypeS},
		types.AttributeDefinition{AttributeName: ptr(attrPipelineConfigID), AttributeType: types.ScalarAttributeTypeS},
		types.AttributeDefinition{AttributeName: ptr(attrListKey), AttributeType: types.ScalarAttributeTypeS},
	)
	executions.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{
		index(indexByApplication, attrApplication, attrListKey),
		index(indexByPipeline, attrPipelineConfigID, attrListKey),
	}
	runtime := keyed(tables.Runtime)
	return []*dynamodb.CreateTableInput{config, executions, runtime}
}

// CreateTables creates the store's tables if they do not exist, waits until
// they are active, and turns on time to live for the Runtime table. It is for
// tests and local setups; on AWS the CDK app owns the tables. A server that
// does not implement UpdateTimeToLive (dynalite) keeps expired leases until
// they are taken over, which the store handles anyway.
func CreateTables(ctx context.Context, client TableAPI, tables Tables) error {
	if err := tables.Validate(); err != nil {
		return err
	}
	for _, in := range TableInputs(tables) {
		_, err := client.CreateTable(ctx, in)
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", *in.TableName, err)
		}
	}
	for _, in := range TableInputs(tables) {
		if err := waitActive(ctx, client, *in.TableName); err != nil {
			return err
		}
	}
	_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: &tables.Runtime,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: ptr(TimeToLiveAttribute),
			Enabled:       ptr(true),
		},
	})
	if err != nil && !ttlUnsupportedOrSet(err) {
		return fmt.Errorf("enable time to live on table %s: %w", tables.Runtime, err)
	}
	return nil
}

// ttlUnsupportedOrSet reports an UpdateTimeToLive that failed only because
// the server has no such operation or time to live is already on.
func ttlUnsupportedOrSet(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "UnknownOperationException":
		return true
	case "ValidationException":
		return api.ErrorMessage() == "TimeToLive is already enabled"
	}
	return false
}

// waitActive polls until the table and its indexes are active.
func waitActive(ctx context.Context, client TableAPI, table string) error {
	delay := 20 * time.Millisecond
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
		if err != nil {
			return fmt.Errorf("describe table %s: %w", table, err)
		}
		active := out.Table.TableStatus == types.TableStatusActive
		for _, gsi := range out.Table.GlobalSecondaryIndexes {
			active = active && gsi.IndexStatus == types.IndexStatusActive
		}
		if active {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for table %s: %w", table, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, 2*time.Second)
	}
}
