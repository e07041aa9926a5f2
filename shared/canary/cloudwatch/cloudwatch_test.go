package cloudwatch

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/gennaker/gennaker/shared/canary"
	"github.com/gennaker/gennaker/shared/canary/judge"
	"github.com/gennaker/gennaker/shared/mototest"
)

// putMinutes puts one value a minute for a server group's 5xx count.
func putMinutes(t *testing.T, api *cw.Client, group string, start time.Time, values []float64) {
	t.Helper()
	var data []types.MetricDatum
	for i, v := range values {
		data = append(data, types.MetricDatum{
			MetricName: aws.String("HTTPCode_Target_5XX_Count"),
			Timestamp:  aws.Time(start.Add(time.Duration(i) * time.Minute)),
			Value:      aws.Float64(v),
			Unit:       types.StandardUnitCount,
			Dimensions: []types.Dimension{
				{Name: aws.String("AutoScalingGroupName"), Value: aws.String(group)},
				{Name: aws.String("Service"), Value: aws.String("web")},
			},
		})
	}
	if _, err := api.PutMetricData(context.Background(), &cw.PutMetricDataInput{Namespace: aws.String("Gennaker/Test"), MetricData: data}); err != nil {
		t.Fatalf("put %s: %v", group, err)
	}
}

// TestFetchFromMoto puts a baseline's and a canary's error counts into
// CloudWatch (moto_server) and reads them back per scope with
// GetMetricData; the judge then finds the canary High.
func TestFetchFromMoto(t *testing.T) {
	srv := mototest.Shared(t)
	cfg := srv.Config(srv.NewAccount())
	api := cw.NewFromConfig(cfg)
	start := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	baseline := []float64{1, 0, 2, 1, 1, 0, 1, 2, 1, 0, 1, 1}
	canaryErrs := []float64{9, 11, 10, 12, 8, 10, 11, 9, 10, 12, 10, 9}
	putMinutes(t, api, "web-prod-v001", start, baseline)
	putMinutes(t, api, "web-prod-v002", start, canaryErrs)

	src := New(cfg)
	m := canary.MetricConfig{Name: "errors", Query: canary.Query{
		Type: Type, Namespace: "Gennaker/Test", MetricName: "HTTPCode_Target_5XX_Count", Stat: "Sum",
		Dimensions: map[string]string{"Service": "web"},
	}}
	scope := func(group string) canary.Scope {
		return canary.Scope{Scope: group, Location: "us-east-1", Start: start, End: start.Add(12 * time.Minute), Step: time.Minute}
	}
	ctx := context.Background()
	ctrl, err := src.Fetch(ctx, m, nil, scope("web-prod-v001"))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := src.Fetch(ctx, m, nil, scope("web-prod-v002"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ctrl) != 1 || len(exp) != 1 {
		t.Fatalf("one series per scope, got %d and %d", len(ctrl), len(exp))
	}
	if got := ctrl[0].Values; len(got) != len(baseline) || got[2] != 2 {
		t.Fatalf("baseline values %v, want %v", got, baseline)
	}
	if got := exp[0].Values; len(got) != len(canaryErrs) || got[0] != 9 {
		t.Fatalf("canary values %v, want %v", got, canaryErrs)
	}
	if exp[0].Tags["AutoScalingGroupName"] != "web-prod-v002" || exp[0].Tags["Service"] != "web" {
		t.Errorf("tags %v should name the scope's dimension and the fixed one", exp[0].Tags)
	}

	r := judge.Production.Classify(judge.MetricDefaults("errors"), judge.Series{Name: "errors", Control: ctrl[0].Values, Experiment: exp[0].Values}, nil)
	if r.Classification != judge.High {
		t.Errorf("a canary with ten times the errors should be High, got %s (%s)", r.Classification, r.Why)
	}

	none, err := src.Fetch(ctx, m, nil, scope("web-prod-v999"))
	if err != nil || len(none) != 0 {
		t.Errorf("a scope without data returns no series and no error; got %v, %v", none, err)
	}

	m.Query.Namespace = ""
	if _, err := New(aws.Config{Region: "us-east-1", Credentials: cfg.Credentials, BaseEndpoint: aws.String("http://127.0.0.1:1")}).Fetch(ctx, m, nil, scope("x")); err == nil {
		t.Errorf("an unreachable CloudWatch is an error")
	}
}
