// Package cost counts what a pipeline run uses of what AWS bills — state
// transitions, Lambda invocations and GB-seconds, DynamoDB request units,
// API calls and EventBridge events — and prices it from list prices per
// region, so every run reports what it cost (in the cloud) or would cost
// (locally, where the same counters run).
//
// Usage is counted where it happens: the ASL runtime counts transitions,
// the Lambda entry points invocations and their duration, the stores the
// request units each call consumes (DynamoDB reports them, the embedded
// store counts what DynamoDB would), the API its calls. Each invocation
// adds what it used to the run's ledger (Ledger), one record per
// invocation, so no two writers ever update the same record.
package cost

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Usage is what one run (or one invocation of it) used.
type Usage struct {
	// Transitions are Step Functions state transitions.
	Transitions int64 `json:"stateTransitions"`
	// Invocations are Lambda requests.
	Invocations int64 `json:"lambdaInvocations"`
	// GBSeconds is Lambda compute: billed milliseconds times memory.
	GBSeconds float64 `json:"lambdaGBSeconds"`
	// ReadUnits and WriteUnits are DynamoDB on-demand request units.
	ReadUnits  float64 `json:"dynamodbReadUnits"`
	WriteUnits float64 `json:"dynamodbWriteUnits"`
	// APICalls are API Gateway requests.
	APICalls int64 `json:"apiCalls"`
	// Events are EventBridge events published.
	Events int64 `json:"eventBridgeEvents"`
}

// Add adds o to u.
func (u *Usage) Add(o Usage) {
	u.Transitions += o.Transitions
	u.Invocations += o.Invocations
	u.GBSeconds += o.GBSeconds
	u.ReadUnits += o.ReadUnits
	u.WriteUnits += o.WriteUnits
	u.APICalls += o.APICalls
	u.Events += o.Events
}

// Zero reports whether nothing was used.
func (u Usage) Zero() bool { return u == Usage{} }

// Prices are list prices in USD per unit, for one region.
type Prices struct {
	Region string `json:"region"`
	// PerTransition: Step Functions Standard, per state transition.
	PerTransition float64 `json:"stateTransition"`
	// PerInvocation: Lambda, per request.
	PerInvocation float64 `json:"lambdaInvocation"`
	// PerGBSecond: Lambda on arm64, per GB-second.
	PerGBSecond float64 `json:"lambdaGBSecond"`
	// PerReadUnit and PerWriteUnit: DynamoDB on-demand request units.
	PerReadUnit  float64 `json:"dynamodbReadUnit"`
	PerWriteUnit float64 `json:"dynamodbWriteUnit"`
	// PerAPICall: API Gateway HTTP API, per request.
	PerAPICall float64 `json:"apiCall"`
	// PerEvent: EventBridge, per custom event published.
	PerEvent float64 `json:"eventBridgeEvent"`
}

// DefaultRegion is the region whose prices apply when none is named.
const DefaultRegion = "us-east-1"

// listPrices are AWS's public on-demand list prices (first tier), per
// region. Regions not listed are priced as us-east-1 unless a table says
// otherwise (ParsePrices).
var listPrices = map[string]Prices{
	"us-east-1": {PerTransition: 0.025 / 1000, PerInvocation: 0.20 / 1e6, PerGBSecond: 0.0000133334,
		PerReadUnit: 0.125 / 1e6, PerWriteUnit: 0.625 / 1e6, PerAPICall: 1.00 / 1e6, PerEvent: 1.00 / 1e6},
	"us-east-2": {PerTransition: 0.025 / 1000, PerInvocation: 0.20 / 1e6, PerGBSecond: 0.0000133334,
		PerReadUnit: 0.125 / 1e6, PerWriteUnit: 0.625 / 1e6, PerAPICall: 1.00 / 1e6, PerEvent: 1.00 / 1e6},
	"us-west-2": {PerTransition: 0.025 / 1000, PerInvocation: 0.20 / 1e6, PerGBSecond: 0.0000133334,
		PerReadUnit: 0.125 / 1e6, PerWriteUnit: 0.625 / 1e6, PerAPICall: 1.00 / 1e6, PerEvent: 1.00 / 1e6},
	"eu-west-1": {PerTransition: 0.025 / 1000, PerInvocation: 0.20 / 1e6, PerGBSecond: 0.0000133334,
		PerReadUnit: 0.1415 / 1e6, PerWriteUnit: 0.7072 / 1e6, PerAPICall: 1.11 / 1e6, PerEvent: 1.00 / 1e6},
	"eu-central-1": {PerTransition: 0.025 / 1000, PerInvocation: 0.20 / 1e6, PerGBSecond: 0.0000133334,
		PerReadUnit: 0.1525 / 1e6, PerWriteUnit: 0.7625 / 1e6, PerAPICall: 1.20 / 1e6, PerEvent: 1.00 / 1e6},
	"ap-northeast-1": {PerTransition: 0.025 / 1000, PerInvocation: 0.20 / 1e6, PerGBSecond: 0.0000133334,
		PerReadUnit: 0.1425 / 1e6, PerWriteUnit: 0.7125 / 1e6, PerAPICall: 1.29 / 1e6, PerEvent: 1.00 / 1e6},
}

// Table is the price list in use: AWS's list prices, with a user's
// overrides.
type Table struct {
	regions map[string]Prices
}

// ListPrices returns AWS's list prices.
func ListPrices() *Table {
	t := &Table{regions: map[string]Prices{}}
	for r, p := range listPrices {
		p.Region = r
		t.regions[r] = p
	}
	return t
}

// ParsePrices reads a user's price table — a JSON object from region to
// prices, each field optional ({"us-east-1": {"stateTransition": 0.00002}})
// — over AWS's list prices. A field that is not a price, or a negative
// price, is an error that names it.
func ParsePrices(doc []byte) (*Table, error) {
	t := ListPrices()
	if len(strings.TrimSpace(string(doc))) == 0 {
		return t, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("price table: %w", err)
	}
	for region, body := range raw {
		p, ok := t.regions[region]
		if !ok {
			p = t.regions[DefaultRegion]
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("price table: $.%s: %w", region, err)
		}
		for name, v := range p.values() {
			if v < 0 || math.IsNaN(v) {
				return nil, fmt.Errorf("price table: $.%s.%s is %v; a price is zero or more", region, name, v)
			}
		}
		p.Region = region
		t.regions[region] = p
	}
	return t, nil
}

func (p Prices) values() map[string]float64 {
	return map[string]float64{
		"stateTransition": p.PerTransition, "lambdaInvocation": p.PerInvocation, "lambdaGBSecond": p.PerGBSecond,
		"dynamodbReadUnit": p.PerReadUnit, "dynamodbWriteUnit": p.PerWriteUnit, "apiCall": p.PerAPICall,
		"eventBridgeEvent": p.PerEvent,
	}
}

// For returns the prices of a region; a region the table does not list
// is priced as us-east-1, and says so in Region.
func (t *Table) For(region string) Prices {
	if region == "" {
		region = DefaultRegion
	}
	if p, ok := t.regions[region]; ok {
		return p
	}
	return t.regions[DefaultRegion]
}

// Regions lists the regions the table prices.
func (t *Table) Regions() []string {
	var out []string
	for r := range t.regions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Cost is usage priced.
type Cost struct {
	Usage
	Region string `json:"region"`
	// USD is the cost by what is billed.
	USD Breakdown `json:"usd"`
	// TotalUSD is the sum of USD.
	TotalUSD float64 `json:"totalUsd"`
}

// Breakdown is a cost by what is billed, in USD.
type Breakdown struct {
	StepFunctions float64 `json:"stepFunctions"`
	LambdaRequest float64 `json:"lambdaRequests"`
	LambdaCompute float64 `json:"lambdaCompute"`
	DynamoDB      float64 `json:"dynamodb"`
	APIGateway    float64 `json:"apiGateway"`
	EventBridge   float64 `json:"eventBridge"`
}

// Price prices usage.
func Price(u Usage, p Prices) Cost {
	b := Breakdown{
		StepFunctions: float64(u.Transitions) * p.PerTransition,
		LambdaRequest: float64(u.Invocations) * p.PerInvocation,
		LambdaCompute: u.GBSeconds * p.PerGBSecond,
		DynamoDB:      u.ReadUnits*p.PerReadUnit + u.WriteUnits*p.PerWriteUnit,
		APIGateway:    float64(u.APICalls) * p.PerAPICall,
		EventBridge:   float64(u.Events) * p.PerEvent,
	}
	total := b.StepFunctions + b.LambdaRequest + b.LambdaCompute + b.DynamoDB + b.APIGateway + b.EventBridge
	return Cost{Usage: u, Region: p.Region, USD: b, TotalUSD: total}
}
