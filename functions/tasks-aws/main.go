// Command tasks-aws is the tasks function for stages that act on AWS
// accounts (Auto Scaling groups, load balancers, images, Lambda functions):
// the stage-aws state machine calls it as the stage machine calls the tasks
// function. It is the only function that links the AWS provider's service
// clients (EC2, Auto Scaling, ELB, Lambda), so the others stay small.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gennaker/gennaker/providers/aws"
	"github.com/gennaker/gennaker/shared/cost"
	lambdaruntime "github.com/gennaker/gennaker/shared/runtime/lambda"
)

func main() {
	p, err := lambdaruntime.FromEnvironment(context.Background(), aws.New())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(lambdaruntime.Traced(p.Logger, p.Step("tasks-aws", lambdaruntime.MemoryMB(cost.TasksMemoryMB))))
}
