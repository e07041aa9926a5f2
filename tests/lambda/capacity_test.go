package lambda_test

import (
	"context"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	sdk "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/gennaker/gennaker/shared/store/dynamodb"
)

// capacity asks DynamoDB for the capacity each request consumes and adds it
// up: on-demand tables bill exactly these read and write request units.
type capacity struct {
	mu           sync.Mutex
	reads, write float64
	requests     map[string]int
}

func (c *capacity) measure(o *sdk.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("measureCapacity",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				dynamodb.AskCapacity(in.Parameters)
				out, md, err := next.HandleInitialize(ctx, in)
				c.add(awsmiddleware.GetOperationName(ctx), out.Result)
				return out, md, err
			}), middleware.After)
	})
}

func (c *capacity) add(op string, result any) {
	var used []types.ConsumedCapacity
	write := false
	switch r := result.(type) {
	case *sdk.GetItemOutput:
		used = append(used, deref(r.ConsumedCapacity)...)
	case *sdk.QueryOutput:
		used = append(used, deref(r.ConsumedCapacity)...)
	case *sdk.BatchGetItemOutput:
		used = append(used, r.ConsumedCapacity...)
	case *sdk.PutItemOutput:
		used, write = deref(r.ConsumedCapacity), true
	case *sdk.UpdateItemOutput:
		used, write = deref(r.ConsumedCapacity), true
	case *sdk.DeleteItemOutput:
		used, write = deref(r.ConsumedCapacity), true
	case *sdk.BatchWriteItemOutput:
		used, write = r.ConsumedCapacity, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.requests == nil {
		c.requests = map[string]int{}
	}
	c.requests[op]++
	for _, u := range used {
		if u.CapacityUnits == nil {
			continue
		}
		if write {
			c.write += *u.CapacityUnits
		} else {
			c.reads += *u.CapacityUnits
		}
	}
}

func deref(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

func (c *capacity) snapshot() (reads, writes float64, requests map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.requests {
		out[k] = v
	}
	return c.reads, c.write, out
}
