// Command triggers is the Lambda function that starts pipelines from
// events: the EventBridge rules for Amazon ECR pushes and CodeCommit
// commits, and the EventBridge Scheduler schedules of cron triggers,
// invoke it. `gennaker up` handles the same events at POST /events.
package main

import (
	"context"
	"encoding/json"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	lambdaruntime "github.com/gennaker/gennaker/shared/runtime/lambda"
)

func main() {
	p, err := lambdaruntime.FromEnvironment(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(func(ctx context.Context, event json.RawMessage) (any, error) {
		return p.Triggers.HandleLambda(ctx, event)
	})
}
