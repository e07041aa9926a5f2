package lambda_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	lambdaruntime "github.com/gennaker/gennaker/shared/runtime/lambda"
	"github.com/gennaker/gennaker/shared/store/dynamodb"
	"github.com/gennaker/gennaker/shared/store/dynamodb/dynalitetest"
)

// The state machines' payloads, as Step Functions sends them, reach the
// step handler as the Lambda runtime delivers them; errors come back with
// the type name the state machines route on.
func TestStepPayloadsFromTestdata(t *testing.T) {
	endpoint := dynalitetest.Start(t)
	db := dynalitetest.Client(endpoint)
	tables := dynamodb.TablesWithPrefix("payloads-")
	if err := dynamodb.CreateTables(context.Background(), db, tables); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := lambdaruntime.New(lambdaruntime.Config{Tables: tables}, lambdaruntime.Deps{DB: db, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	fn := lambda.NewHandler(lambdaruntime.Traced(log, p.Orchestrator.HandleJSON))
	cases := []struct {
		file, wantErrType, wantMessage string
	}{
		// The run is not stored yet (its trigger is still writing it): retry.
		{"start-pipeline.json", "TransientError", "not found"},
		{"run-stage.json", "TransientError", "not found"},
		// A failure the stage machine caught, for a run that is gone: nothing to record.
		{"fail-stage.json", "", ""},
		{"unknown-action.json", "errorString", `unknown action "launchRocket"`},
		// The scheduled sweep, as the EventBridge rule sends it.
		{"reconcile.json", "", ""},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			payload, err := os.ReadFile("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = fn.Invoke(context.Background(), payload)
			if c.wantErrType == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %s", c.wantErrType)
			}
			if got := errorType(err); got != c.wantErrType {
				t.Fatalf("error type %q, want %q (%v)", got, c.wantErrType, err)
			}
			if !strings.Contains(err.Error(), c.wantMessage) {
				t.Fatalf("error %q does not say %q", err, c.wantMessage)
			}
		})
	}
}

// errorType names an error as the Lambda runtime reports it: the name of
// its type, behind a pointer if it is one.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
