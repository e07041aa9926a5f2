// Command api is the Lambda function behind API Gateway: the Gate-compatible
// HTTP API that `gennaker up` serves locally, adapted to HTTP API events.
// Lambda's active tracing opens each trace; the AWS calls made with the
// request's context become its subsegments. It links the Kubernetes
// provider because the deployments read API (clusters, server groups)
// reads Kubernetes accounts.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gennaker/gennaker/providers/kubernetes"
	"github.com/gennaker/gennaker/shared/lambdahttp"
	lambdaruntime "github.com/gennaker/gennaker/shared/runtime/lambda"
)

func main() {
	p, err := lambdaruntime.FromEnvironment(context.Background(), kubernetes.New())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(lambdahttp.Handler(lambdaruntime.TraceHTTP(p.API())))
}
