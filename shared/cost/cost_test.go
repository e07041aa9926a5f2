package cost_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/cost"
	"github.com/gennaker/gennaker/shared/store/embedded"
)

func TestPriceAtUSEast1ListPrices(t *testing.T) {
	u := cost.Usage{Transitions: 1000, Invocations: 1_000_000, GBSeconds: 1, ReadUnits: 1_000_000, WriteUnits: 1_000_000, APICalls: 1_000_000, Events: 1_000_000}
	c := cost.Price(u, cost.ListPrices().For(""))
	want := map[string][2]float64{
		"Step Functions": {c.USD.StepFunctions, 0.025},
		"Lambda":         {c.USD.LambdaRequest, 0.20},
		"compute":        {c.USD.LambdaCompute, 0.0000133334},
		"DynamoDB":       {c.USD.DynamoDB, 0.125 + 0.625},
		"API":            {c.USD.APIGateway, 1},
		"EventBridge":    {c.USD.EventBridge, 1},
	}
	for name, v := range want {
		if math.Abs(v[0]-v[1]) > 1e-12 {
			t.Errorf("%s: $%v, want $%v", name, v[0], v[1])
		}
	}
	if c.Region != "us-east-1" {
		t.Errorf("region %q", c.Region)
	}
}

func TestParsePrices(t *testing.T) {
	tests := []struct {
		name, doc, region string
		transition        float64
		err               string
	}{
		{name: "empty keeps list prices", doc: "", region: "us-east-1", transition: 0.000025},
		{name: "override one price", doc: `{"us-east-1": {"stateTransition": 0.00002}}`, region: "us-east-1", transition: 0.00002},
		{name: "a region of its own starts from us-east-1", doc: `{"xx-test-1": {"lambdaInvocation": 0}}`, region: "xx-test-1", transition: 0.000025},
		{name: "unknown region is priced as us-east-1", region: "mars-1", transition: 0.000025},
		{name: "unknown field", doc: `{"us-east-1": {"transitions": 1}}`, err: `$.us-east-1: json: unknown field "transitions"`},
		{name: "negative price", doc: `{"eu-west-1": {"apiCall": -1}}`, err: "$.eu-west-1.apiCall is -1"},
		{name: "not JSON", doc: `[`, err: "price table"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := cost.ParsePrices([]byte(tc.doc))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tab.For(tc.region).PerTransition; math.Abs(got-tc.transition) > 1e-15 {
				t.Fatalf("transition price %v, want %v", got, tc.transition)
			}
		})
	}
}

func TestComputeIsBilledByTheMillisecond(t *testing.T) {
	if got := cost.Compute(1500*time.Microsecond, 1024); math.Abs(got-0.002) > 1e-12 {
		t.Fatalf("1.5 ms at 1 GB = %v GB-s, want 0.002 (2 ms billed)", got)
	}
}

// A run's ledger adds up the entries of every invocation, and the embedded
// store counts on a meter the units DynamoDB would bill.
func TestLedgerAndMeterOnTheEmbeddedStore(t *testing.T) {
	s, err := embedded.Open(t.TempDir() + "/g.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := &cost.Meter{}
	ctx := cost.WithMeter(context.Background(), m)
	if err := s.Records().Put(ctx, "k", make([]byte, 1500)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Records().Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if u := m.Usage(); u.WriteUnits != 2 || u.ReadUnits != 1 {
		t.Fatalf("a 1.5 KB write and read counted %+v, want 2 WRU and 1 RRU", u)
	}
	bg := context.Background()
	for _, u := range []cost.Usage{{Invocations: 1, WriteUnits: 3}, {Transitions: 7}, {Invocations: 2, ReadUnits: 1.5}} {
		if err := cost.Record(bg, s.Records(), "run-1", "tasks", u); err != nil {
			t.Fatal(err)
		}
	}
	if err := cost.Record(bg, s.Records(), "run-2", "tasks", cost.Usage{Invocations: 100}); err != nil {
		t.Fatal(err)
	}
	got, err := cost.Of(bg, s.Records(), "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (cost.Usage{Transitions: 7, Invocations: 3, WriteUnits: 3, ReadUnits: 1.5}); got != want {
		t.Fatalf("ledger of run-1 = %+v, want %+v", got, want)
	}
}
