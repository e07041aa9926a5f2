package dynamodb

import (
	"context"

	sdk "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/gennaker/gennaker/shared/cost"
)

// MeterCapacity is a client option that asks DynamoDB for the capacity
// each request consumes and counts it on the meter of the request's
// context (cost.WithMeter): on-demand tables bill exactly these units.
// Requests made without a meter are counted nowhere.
func MeterCapacity(o *sdk.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("gennakerMeterCapacity",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				m := cost.MeterFrom(ctx)
				if m == nil {
					return next.HandleInitialize(ctx, in)
				}
				AskCapacity(in.Parameters)
				out, md, err := next.HandleInitialize(ctx, in)
				reads, writes := consumed(out.Result)
				m.Add(cost.Usage{ReadUnits: reads, WriteUnits: writes})
				return out, md, err
			}), middleware.After)
	})
}

// AskCapacity asks DynamoDB to report the capacity the request consumes,
// for the request kinds the store sends.
func AskCapacity(params any) {
	total := types.ReturnConsumedCapacityTotal
	switch p := params.(type) {
	case *sdk.GetItemInput:
		p.ReturnConsumedCapacity = total
	case *sdk.PutItemInput:
		p.ReturnConsumedCapacity = total
	case *sdk.UpdateItemInput:
		p.ReturnConsumedCapacity = total
	case *sdk.DeleteItemInput:
		p.ReturnConsumedCapacity = total
	case *sdk.QueryInput:
		p.ReturnConsumedCapacity = total
	case *sdk.BatchGetItemInput:
		p.ReturnConsumedCapacity = total
	case *sdk.BatchWriteItemInput:
		p.ReturnConsumedCapacity = total
	}
}

func consumed(result any) (reads, writes float64) {
	sum := func(cs ...types.ConsumedCapacity) float64 {
		t := 0.0
		for _, c := range cs {
			if c.CapacityUnits != nil {
				t += *c.CapacityUnits
			}
		}
		return t
	}
	one := func(c *types.ConsumedCapacity) []types.ConsumedCapacity {
		if c == nil {
			return nil
		}
		return []types.ConsumedCapacity{*c}
	}
	switch r := result.(type) {
	case *sdk.GetItemOutput:
		return sum(one(r.ConsumedCapacity)...), 0
	case *sdk.QueryOutput:
		return sum(one(r.ConsumedCapacity)...), 0
	case *sdk.BatchGetItemOutput:
		return sum(r.ConsumedCapacity...), 0
	case *sdk.PutItemOutput:
		return 0, sum(one(r.ConsumedCapacity)...)
	case *sdk.UpdateItemOutput:
		return 0, sum(one(r.ConsumedCapacity)...)
	case *sdk.DeleteItemOutput:
		return 0, sum(one(r.ConsumedCapacity)...)
	case *sdk.BatchWriteItemOutput:
		return 0, sum(r.ConsumedCapacity...)
	}
	return 0, 0
}
