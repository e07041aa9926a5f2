// Command tasks is the Lambda function the stage state machine calls: it
// starts stages, runs their tasks, parks them while they wait, and starts the
// stages that may follow. Stages that act through a cloud provider with a
// function of its own (statemachines.Families) run there instead.
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
	lambda.Start(lambdaruntime.Traced(p.Logger, p.Step("tasks", lambdaruntime.MemoryMB(cost.TasksMemoryMB))))
}
