package dynamodb_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	sdk "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/gennaker/gennaker/shared/asl"
	"github.com/gennaker/gennaker/shared/asl/journaltest"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/dynamodb"
	"github.com/gennaker/gennaker/shared/store/dynamodb/dynalitetest"
	"github.com/gennaker/gennaker/shared/store/storetest"
)

// TestContract runs the store contract against dynalite, every subtest on
// tables of its own, and checks that the whole run never scanned a table.
func TestContract(t *testing.T) {
	endpoint := dynalitetest.Start(t)
	var ops operations
	client := dynalitetest.Client(endpoint, ops.count)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store {
		tables := dynamodb.TablesWithPrefix(fmt.Sprintf("contract%d-", n.Add(1)))
		if err := dynamodb.CreateTables(t.Context(), client, tables); err != nil {
			t.Fatalf("create tables: %v", err)
		}
		s := dynamodb.New(client, tables)
		t.Cleanup(func() { s.Close() })
		return s
	})
	t.Logf("DynamoDB operations during the contract run: %s", ops.String())
	if ops.get("Query") == 0 {
		t.Fatal("the operations counter saw no Query: it is not counting")
	}
	if n := ops.get("Scan"); n != 0 {
		t.Fatalf("the store issued %d Scan calls, want none", n)
	}
}

// operations counts the DynamoDB operations a client sends, by name, as
// the SDK sends them: nothing the store does can bypass it.
type operations struct {
	mu sync.Mutex
	n  map[string]int
}

// count is a client option that installs the counter.
func (o *operations) count(opts *sdk.Options) {
	opts.APIOptions = append(opts.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countOperations",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				o.add(awsmiddleware.GetOperationName(ctx))
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

func (o *operations) add(op string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[op]++
}

func (o *operations) get(op string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[op]
}

func (o *operations) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(o.n)) {
		parts = append(parts, fmt.Sprintf("%s=%d", op, o.n[op]))
	}
	return strings.Join(parts, " ")
}

// TestRecordsAreAJournal runs the state-machine runtime's journal
// conformance suite on Records: the Lambda end-to-end suite journals there.
func TestRecordsAreAJournal(t *testing.T) {
	endpoint := dynalitetest.Start(t)
	client := dynalitetest.Client(endpoint)
	var n atomic.Int64
	journaltest.Run(t, func(t *testing.T) asl.Journal {
		tables := dynamodb.TablesWithPrefix(fmt.Sprintf("journal%d-", n.Add(1)))
		if err := dynamodb.CreateTables(t.Context(), client, tables); err != nil {
			t.Fatalf("create tables: %v", err)
		}
		return dynamodb.New(client, tables).Records()
	})
}
