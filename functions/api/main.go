// Command api is the Lambda function behind API Gateway: the Gate-compatible
// HTTP API that `gennaker up` serves locally, adapted to HTTP API events.
// Lambda's active tracing opens each trace; the AWS calls made with the
// request's context become its subsegments.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gennaker/gennaker/shared/cloud"
	"github.com/gennaker/gennaker/shared/lambdahttp"
)

func main() {
	p, err := cloud.FromEnvironment(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(lambdahttp.Handler(cloud.TraceHTTP(p.API())))
}
