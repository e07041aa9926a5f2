// Command api is the Lambda function behind API Gateway: the Gate-compatible
// HTTP API that `gennaker up` serves locally, adapted to HTTP API events.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/gennaker/gennaker/shared/cloud"
	"github.com/gennaker/gennaker/shared/lambdahttp"
	"github.com/gennaker/gennaker/shared/orchestration/stepfunctions"
)

func main() {
	ctx := context.Background()
	cfg, err := cloud.ConfigFromEnv(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	cloud.Trace(&awsCfg)
	p := cloud.New(cfg, cloud.Deps{
		DB:     dynamodb.NewFromConfig(awsCfg),
		Engine: stepfunctions.New(sfn.NewFromConfig(awsCfg)),
		Logger: cloud.Logger(),
	})
	// Lambda's active tracing opens the trace; SDK calls made with the
	// request's context become its subsegments.
	lambda.Start(lambdahttp.Handler(p.API()))
}
