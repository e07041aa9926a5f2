// Command tasks is the Lambda function the stage state machine calls: it
// starts stages, runs their tasks, parks them while they wait, and starts the
// stages that may follow.
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
