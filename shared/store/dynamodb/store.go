package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/gennaker/gennaker/shared/store"
)

// API is the part of the DynamoDB client the store uses. *dynamodb.Client
// implements it; a test may stand in for it. It has no Scan on purpose.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Tables names the store's tables. The package documentation describes
// what each holds and its key schema.
type Tables struct {
	// Config holds applications and pipeline configurations with their
	// versions.
	Config string
	// Executions holds execution headers and stages.
	Executions string
	// Runtime holds leases and records.
	Runtime string
}

// TablesWithPrefix names the three tables prefix+"config",
// prefix+"executions" and prefix+"runtime".
func TablesWithPrefix(prefix string) Tables {
	return Tables{
		Config:     prefix + "config",
		Executions: prefix + "executions",
		Runtime:    prefix + "runtime",
	}
}

// Validate reports a table without a name.
func (t Tables) Validate() error {
	var missing []string
	if t.Config == "" {
		missing = append(missing, "Config")
	}
	if t.Executions == "" {
		missing = append(missing, "Executions")
	}
	if t.Runtime == "" {
		missing = append(missing, "Runtime")
	}
	if len(missing) > 0 {
		return fmt.Errorf("dynamodb store: no table name for %s", strings.Join(missing, ", "))
	}
	return nil
}

// Store is store.Store on DynamoDB. It is safe for concurrent use.
type Store struct {
	client API
	tables Tables
	// now is the clock leases and pipeline versions are stamped with.
	now func() time.Time
	// pageSize, when not 0, limits the items a listing Query reads per page;
	// tests set it to exercise pagination.
	pageSize int32
}

var _ store.Store = (*Store)(nil)

// New returns a store on the given tables, which must exist (see
// CreateTables). The client is the caller's: Close does not touch it.
func New(client API, tables Tables) *Store {
	return &Store{client: client, tables: tables, now: time.Now}
}

// Applications implements store.Store.
func (s *Store) Applications() store.Applications { return applications{s} }

// Pipelines implements store.Store.
func (s *Store) Pipelines() store.Pipelines { return pipelines{s} }

// Executions implements store.Store.
func (s *Store) Executions() store.Executions { return executions{s} }

// Leases implements store.Store.
func (s *Store) Leases() store.Leases { return leases{s} }

// Records implements store.Store.
func (s *Store) Records() store.Records { return records{s} }

// Close implements store.Store. The store holds nothing of its own to
// release.
func (s *Store) Close() error { return nil }

// Attribute names shared by the tables.
const (
	attrPK       = "pk"
	attrSK       = "sk"
	attrDoc      = "doc"
	attrRevision = "revision"
)

// maxItemBytes is DynamoDB's item size limit.
const maxItemBytes = 400 * 1024

type item = map[string]types.AttributeValue

func attrS(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func attrN(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func attrB(v []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }

func key(pk, sk string) item { return item{attrPK: attrS(pk), attrSK: attrS(sk)} }

// stringAttr returns the string attribute name of it, or "".
func stringAttr(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// numberAttr returns the number attribute name of it, or 0 if it is absent.
func numberAttr(it item, name string) (int64, error) {
	v, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return n, nil
}

// itemSize is the size DynamoDB counts against its item limit: the names of
// the attributes plus their values. Numbers are counted at their largest
// possible encoding, so the estimate errs on the side of refusing.
func itemSize(it item) int {
	size := 0
	for name, v := range it {
		size += len(name) + valueSize(v)
	}
	return size
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return 21
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		return 21 * len(v.Value)
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

// checkSize refuses an item DynamoDB would refuse, naming what it holds.
func checkSize(what string, it item) error {
	if size := itemSize(it); size > maxItemBytes {
		return fmt.Errorf("%s is %d bytes, over DynamoDB's item limit of %d bytes: %w", what, size, maxItemBytes, store.ErrTooLarge)
	}
	return nil
}

// conditionFailed reports whether err is a lost conditional write.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// tooLarge reports whether DynamoDB refused an item for its size, should our
// own measurement have let one through.
func tooLarge(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationException" &&
		strings.Contains(api.ErrorMessage(), "size") && strings.Contains(api.ErrorMessage(), "maximum allowed")
}

// writeError maps a failed write to the store's errors: a lost condition to
// store.ErrConflict, a refused size to store.ErrTooLarge.
func writeError(err error) error {
	switch {
	case conditionFailed(err):
		// DynamoDB's message says no more than the caller's wrapping will.
		return store.ErrConflict
	case tooLarge(err):
		return fmt.Errorf("%w: %w", store.ErrTooLarge, err)
	}
	return err
}

// query runs a Query page by page, calling fn for each item until fn returns
// false or the items run out.
func (s *Store) query(ctx context.Context, in *dynamodb.QueryInput, fn func(item) (bool, error)) error {
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			more, err := fn(it)
			if err != nil || !more {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		next := *in
		next.ExclusiveStartKey = out.LastEvaluatedKey
		in = &next
	}
}

// batchGet reads the keys from table with strongly consistent reads, in any
// order, retrying what DynamoDB leaves unprocessed.
func (s *Store) batchGet(ctx context.Context, table string, keys []item) ([]item, error) {
	const maxBatch = 100
	var items []item
	for len(keys) > 0 {
		n := min(len(keys), maxBatch)
		pending := map[string]types.KeysAndAttributes{
			table: {Keys: keys[:n], ConsistentRead: ptr(true)},
		}
		keys = keys[n:]
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
			out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, err
			}
			items = append(items, out.Responses[table]...)
			pending = out.UnprocessedKeys
		}
	}
	return items, nil
}

// batchDelete deletes the keys from table, retrying what DynamoDB leaves
// unprocessed. Deleting a missing item is not an error.
func (s *Store) batchDelete(ctx context.Context, table string, keys []item) error {
	const maxBatch = 25
	for len(keys) > 0 {
		n := min(len(keys), maxBatch)
		reqs := make([]types.WriteRequest, n)
		for i, k := range keys[:n] {
			reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}}
		}
		keys = keys[n:]
		pending := map[string][]types.WriteRequest{table: reqs}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return err
				}
			}
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return err
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}

// backoff waits before retry attempt (1, 2, …) of unprocessed batch items.
func backoff(ctx context.Context, attempt int) error {
	d := min(time.Duration(1<<min(attempt, 10))*25*time.Millisecond, 2*time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func ptr[T any](v T) *T { return &v }
