package awslambda

import (
	"context"
	"regexp"
	"strings"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// triggers are the plugin's event source fields: the queues and streams
// whose records invoke the function (the deployment stage) or its alias
// (the routing stage).
//
// A stage without triggerArns leaves the target's event sources alone. An
// empty list removes them all, as the plugin does; a list of blank entries
// (Deck's untouched input) counts as no list.
type triggers struct {
	TriggerArns           []string `json:"triggerArns"`
	BatchSize             int      `json:"batchsize"`
	MaxBatchingWindowSecs int      `json:"maxBatchingWindowSecs"`
	StartingPosition      string   `json:"startingPosition"`
}

// arnPattern is the shape Deck's form requires of an event ARN.
var arnPattern = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:[a-zA-Z_0-9.-]+:.`)

// sources are the event sources the stage asks for, and whether it asks.
func (t *triggers) sources() ([]providers.EventSource, bool) {
	if t.TriggerArns == nil {
		return nil, false
	}
	out := []providers.EventSource{}
	for _, arn := range t.TriggerArns {
		if arn = strings.TrimSpace(arn); arn == "" {
			continue
		}
		s := providers.EventSource{ARN: arn, BatchSize: t.BatchSize, MaxBatchingWindowSecs: t.MaxBatchingWindowSecs, StartingPosition: t.StartingPosition}
		if s.StartingPosition == "" && (strings.HasPrefix(arn, "arn:aws:dynamodb:") || strings.HasPrefix(arn, "arn:aws:kinesis:")) {
			s.StartingPosition = "LATEST"
		}
		out = append(out, s)
	}
	if len(out) == 0 && len(t.TriggerArns) > 0 {
		return nil, false
	}
	return out, true
}

func (t *triggers) check(exprs stages.Expressions, p *stages.Problems) {
	for i, arn := range t.TriggerArns {
		path := stages.Path("triggerArns", i)
		if arn = strings.TrimSpace(arn); arn != "" && !exprs.Has(path) && !arnPattern.MatchString(arn) {
			p.Add(path, "%q is not an ARN (arn:aws:sqs:…, arn:aws:dynamodb:…, arn:aws:kinesis:…)", arn)
		}
	}
	if t.BatchSize < 0 {
		p.Add("batchsize", "must be a positive number of records")
	}
	if t.StartingPosition != "" && !exprs.Has("startingPosition") {
		switch t.StartingPosition {
		case "LATEST", "TRIM_HORIZON", "AT_TIMESTAMP":
		default:
			p.Add("startingPosition", "%q is not LATEST, TRIM_HORIZON or AT_TIMESTAMP", t.StartingPosition)
		}
	}
}

// eventTarget is a stage configuration with event sources: where they go
// (the function, or an alias of it) and what they are.
type eventTarget interface {
	eventSources() (*target, string, *triggers)
}

func (c *deployConfig) eventSources() (*target, string, *triggers) { return &c.target, "", &c.triggers }
func (c *routeConfig) eventSources() (*target, string, *triggers) {
	return &c.target, c.AliasName, &c.triggers
}

// UpdateLambdaEventSourcesTask makes the function's (or its alias's) event
// sources those the stage lists.
type UpdateLambdaEventSourcesTask struct{ waitingTask }

// Name implements stages.Task.
func (UpdateLambdaEventSourcesTask) Name() string { return "lambdaEventConfigurationTask" }

// Execute implements stages.Task.
func (UpdateLambdaEventSourcesTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	c, ok := run.Config.(eventTarget)
	if !ok {
		return stages.Failed("stage %q (%s) has no event sources", run.Stage.Name, run.Stage.Type), nil
	}
	t, qualifier, trig := c.eventSources()
	sources, given := trig.sources()
	if !given {
		return stages.Succeeded(), nil
	}
	fns, name, err := t.functions(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if _, wait := waitReady(ctx, fns, t.Region, name); wait != nil {
		return *wait, nil
	}
	if err := fns.SetEventSources(ctx, t.Region, name, qualifier, sources); err != nil {
		return failOrRetry(err, "set the event sources of %s", name+qualifiedName(qualifier)), nil
	}
	arns := make([]string, len(sources))
	for i, s := range sources {
		arns[i] = s.ARN
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: map[string]any{"eventSourceArns": arns}}, nil
}

func qualifiedName(q string) string {
	if q == "" {
		return ""
	}
	return ":" + q
}
