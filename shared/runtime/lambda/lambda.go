package lambda

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/config"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/notify"
	"github.com/gennaker/gennaker/shared/orchestration/stepfunctions"
	"github.com/gennaker/gennaker/shared/runtime/env"
	"github.com/gennaker/gennaker/shared/runtime/platform"
	"github.com/gennaker/gennaker/shared/store/dynamodb"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// Trace instruments every AWS SDK client built from cfg with X-Ray, so each
// DynamoDB and Step Functions call is a subsegment of the function's trace.
func Trace(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, traceAWSCalls)
}

// Logger logs JSON to standard output, where Lambda sends it to CloudWatch.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// StepHandler is a state machine step: a raw JSON payload in and out.
type StepHandler func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// Traced wraps a step so each invocation is logged with its trace id,
// request id, action, execution and stage ids, and failures with the error.
// The step's error is returned unchanged: the state machines route on its
// type name.
func Traced(log *slog.Logger, next StepHandler) StepHandler {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		var ids struct {
			Action      string `json:"action"`
			ExecutionID string `json:"executionId"`
			StageID     string `json:"stageId"`
		}
		_ = json.Unmarshal(payload, &ids)
		attrs := []any{"action", ids.Action, "executionId", ids.ExecutionID}
		if ids.StageID != "" {
			attrs = append(attrs, "stageId", ids.StageID)
		}
		if h, ok := traceOf(ctx); ok {
			attrs = append(attrs, "traceId", h.root)
		} else if h := os.Getenv(env.TraceHeader); h != "" {
			attrs = append(attrs, "traceHeader", h)
		}
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			attrs = append(attrs, "requestId", lc.AwsRequestID)
		}
		var out json.RawMessage
		var err error
		// A subsegment per step, annotated so X-Ray's console finds every
		// call for one run or stage.
		sctx, span := startSpan(ctx, "step "+ids.Action)
		span.annotate("executionId", ids.ExecutionID)
		if ids.StageID != "" {
			span.annotate("stageId", ids.StageID)
		}
		out, err = next(sctx, payload)
		span.end(err != nil)
		if err != nil {
			log.ErrorContext(ctx, "step failed", append(attrs, "error", err.Error())...)
			return nil, err
		}
		log.InfoContext(ctx, "step done", append(attrs, "result", string(out))...)
		return out, nil
	}
}

// FromEnvironment builds the platform a function runs on, once per cold
// start: configuration from the environment, AWS clients traced with X-Ray,
// the DynamoDB store and the Step Functions engine. A configuration it
// cannot start with, deployment accounts included, is an error: the
// function's init fails and Lambda reports it. clouds are the providers the
// function links and serves (see Deps.Clouds).
func FromEnvironment(ctx context.Context, clouds ...providers.Provider) (*platform.Platform, error) {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	Trace(&awsCfg)
	deps := Deps{
		DB:     awsdynamodb.NewFromConfig(awsCfg, dynamodb.MeterCapacity),
		Engine: stepfunctions.New(sfn.NewFromConfig(awsCfg)),
		Logger: Logger(),
		Clouds: clouds,
	}
	if cfg.EventBus != "" {
		deps.Events = notify.NewEventBridge(awsCfg, cfg.EventBus)
	}
	return New(cfg, deps)
}

// NotifierFromEnvironment builds the notifier function's notifier once per
// cold start: the DynamoDB store, and the notification channels of the
// configuration (email through SES when the stack has an SES identity).
func NotifierFromEnvironment(ctx context.Context) (*notify.Notifier, error) {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	Trace(&awsCfg)
	return &notify.Notifier{
		Store:   dynamodb.New(awsdynamodb.NewFromConfig(awsCfg), cfg.Tables),
		Config:  cfg.Notifications,
		Senders: notify.NewSendersAWS(cfg.Notifications, nil, awsCfg),
		Log:     Logger(),
		// EventBridge may deliver an event twice at once.
		Exclusive: true,
	}, nil
}

// MemoryMB is the function's memory as Lambda reports it, or def outside
// Lambda.
func MemoryMB(def int) int {
	if n, err := strconv.Atoi(os.Getenv(env.LambdaMemory)); err == nil && n > 0 {
		return n
	}
	return def
}

// inLambda reports whether the process runs in AWS Lambda, where the trace's
// segment is opened by the service and subsegments can be added to it.
func inLambda() bool { return os.Getenv(env.LambdaFunctionName) != "" }

// TraceHTTP adds an X-Ray subsegment per API request in Lambda, named by
// method and path and annotated with the status code.
func TraceHTTP(h http.Handler) http.Handler {
	if !inLambda() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := startSpan(r.Context(), r.Method+" "+r.URL.Path)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r.WithContext(ctx))
		span.annotate("status", rec.status)
		span.end(rec.status >= 500)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
