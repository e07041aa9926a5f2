// Command orchestrator is the Lambda function the pipeline state machine
// calls: it starts runs, hands out concurrency slots and finalizes runs.
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
	logger := cloud.Logger()
	p := cloud.New(cfg, cloud.Deps{
		DB:     dynamodb.NewFromConfig(awsCfg),
		Engine: stepfunctions.New(sfn.NewFromConfig(awsCfg)),
		Logger: logger,
	})
	lambda.Start(cloud.Traced(logger, p.Orchestrator.HandleJSON))
}
