// Command orchestrator is the Lambda function the pipeline state machine
// calls: it starts runs, hands out concurrency slots and finalizes runs.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gennaker/gennaker/shared/cloud"
)

func main() {
	p, err := cloud.FromEnvironment(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(cloud.Traced(p.Logger, p.Orchestrator.HandleJSON))
}
