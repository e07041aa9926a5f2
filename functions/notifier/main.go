// Command notifier is the Lambda function a rule on gennaker's event bus
// invokes with each lifecycle event: it records the event in the audit log
// and sends the notifications the run, its stages and its application ask
// for. A scheduled invocation sends the events whose publication was lost.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gennaker/gennaker/shared/notify"
	lambdaruntime "github.com/gennaker/gennaker/shared/runtime/lambda"
)

func main() {
	n, err := lambdaruntime.NotifierFromEnvironment(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(notify.HandleEventBridge(n))
}
