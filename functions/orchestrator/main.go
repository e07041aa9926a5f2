// Command orchestrator is the Lambda function the pipeline state machine
// calls: it starts runs, hands out concurrency slots and finalizes runs.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gennaker/gennaker/shared/cost"
	lambdaruntime "github.com/gennaker/gennaker/shared/runtime/lambda"
)

func main() {
	p, err := lambdaruntime.FromEnvironment(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(lambdaruntime.Traced(p.Logger, p.Step("orchestrator", lambdaruntime.MemoryMB(cost.OrchestratorMemoryMB))))
}
