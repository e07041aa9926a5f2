// Command tasks-kubernetes is the tasks function for stages that act on
// Kubernetes clusters: the stage-kubernetes state machine calls it as the
// stage machine calls the tasks function. It is the only function that
// links the Kubernetes provider (client-go), so the others stay small.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gennaker/gennaker/providers/kubernetes"
	"github.com/gennaker/gennaker/shared/cost"
	lambdaruntime "github.com/gennaker/gennaker/shared/runtime/lambda"
)

func main() {
	p, err := lambdaruntime.FromEnvironment(context.Background(), kubernetes.New())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(lambdaruntime.Traced(p.Logger, p.Step("tasks-kubernetes", lambdaruntime.MemoryMB(cost.TasksMemoryMB))))
}
