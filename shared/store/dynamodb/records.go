package dynamodb

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gennaker/gennaker/shared/store"
)

// Runtime table items of records (see the package documentation).
const (
	// recordsPK is the partition every record lives in, so that a prefix
	// scan is one ordered Query.
	recordsPK = "record"
	attrValue = "value"
)

type records struct{ s *Store }

var _ store.Records = records{}

func (r records) Put(ctx context.Context, k string, value []byte) error {
	if k == "" {
		return errors.New("put record: empty key")
	}
	it := key(recordsPK, k)
	if len(value) > 0 {
		it[attrValue] = attrB(value)
	}
	if err := checkSize(fmt.Sprintf("record %q", k), it); err != nil {
		return fmt.Errorf("put record %q: %w", k, err)
	}
	// PutItem is acknowledged once durably written (DynamoDB) or applied
	// (dynalite).
	if _, err := r.s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &r.s.tables.Runtime, Item: it}); err != nil {
		return fmt.Errorf("put record %q: %w", k, writeError(err))
	}
	return nil
}

func (r records) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if k == "" {
		return nil, false, nil
	}
	out, err := r.s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &r.s.tables.Runtime,
		Key:            key(recordsPK, k),
		ConsistentRead: ptr(true),
	})
	if err != nil {
		return nil, false, fmt.Errorf("get record %q: %w", k, err)
	}
	if out.Item == nil {
		return nil, false, nil
	}
	return recordValue(out.Item), true, nil
}

func (r records) Delete(ctx context.Context, k string) error {
	if k == "" {
		return nil
	}
	_, err := r.s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &r.s.tables.Runtime,
		Key:       key(recordsPK, k),
	})
	if err != nil {
		return fmt.Errorf("delete record %q: %w", k, err)
	}
	return nil
}

func (r records) Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	in := &dynamodb.QueryInput{
		TableName:                 &r.s.tables.Runtime,
		KeyConditionExpression:    ptr("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: item{":pk": attrS(recordsPK)},
		ConsistentRead:            ptr(true),
	}
	if prefix != "" {
		in.KeyConditionExpression = ptr("#pk = :pk AND begins_with(#sk, :prefix)")
		in.ExpressionAttributeNames["#sk"] = attrSK
		in.ExpressionAttributeValues[":prefix"] = attrS(prefix)
	}
	if r.s.pageSize > 0 {
		in.Limit = &r.s.pageSize
	}
	var fnErr error
	err := r.s.query(ctx, in, func(it item) (bool, error) {
		if fnErr = fn(stringAttr(it, attrSK), recordValue(it)); fnErr != nil {
			return false, nil
		}
		return true, nil
	})
	if fnErr != nil {
		return fnErr // the caller's own error, as it returned it
	}
	if err != nil {
		return fmt.Errorf("scan records %q: %w", prefix, err)
	}
	return nil
}

// recordValue is a record's value; an empty one is stored as no attribute.
func recordValue(it item) []byte {
	if v, ok := it[attrValue].(*types.AttributeValueMemberB); ok && v.Value != nil {
		return v.Value
	}
	return []byte{}
}
