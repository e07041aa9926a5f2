package embedded

import (
	"context"

	"github.com/gennaker/gennaker/shared/cost"
)

// The embedded store counts, on the meter of a call's context, the request
// units DynamoDB would bill for the same call on the DynamoDB store, so a
// run's local cost says what it would cost on AWS. Sizes are those of the
// stored documents, close to DynamoDB's item sizes.

// readUnits counts one strongly consistent read (or one Query page) of
// size bytes.
func readUnits(ctx context.Context, size int) { cost.ReadUnits(ctx, cost.ReadUnitsOf(size)) }

// writeUnits counts one item write of size bytes.
func writeUnits(ctx context.Context, size int) { cost.WriteUnits(ctx, cost.WriteUnitsOf(size)) }
