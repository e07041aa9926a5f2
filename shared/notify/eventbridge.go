package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// eventBridgeAPI is the part of EventBridge the publisher uses.
type eventBridgeAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge publishes events on the stack's bus: source "gennaker", the
// event's type as detail-type, the event as detail.
type EventBridge struct {
	API eventBridgeAPI
	Bus string
}

// NewEventBridge returns a publisher on the named bus.
func NewEventBridge(cfg aws.Config, bus string) *EventBridge {
	return &EventBridge{API: eventbridge.NewFromConfig(cfg), Bus: bus}
}

var _ Publisher = (*EventBridge)(nil)

// Publish implements Publisher. Entries the bus refused are an error that
// names them; the events stay in their runs' outboxes for the next sweep.
func (p *EventBridge) Publish(ctx context.Context, evs []Event) error {
	var errs []error
	for start := 0; start < len(evs); start += 10 {
		batch := evs[start:min(start+10, len(evs))]
		entries := make([]ebtypes.PutEventsRequestEntry, len(batch))
		for i, ev := range batch {
			detail, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			entries[i] = ebtypes.PutEventsRequestEntry{
				EventBusName: aws.String(p.Bus),
				Source:       aws.String(Source),
				DetailType:   aws.String(ev.Type),
				Detail:       aws.String(string(detail)),
				Time:         aws.Time(time.UnixMilli(ev.Time)),
			}
		}
		out, err := p.API.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			errs = append(errs, fmt.Errorf("put events on %s: %w", p.Bus, err))
			continue
		}
		for i, r := range out.Entries {
			if r.ErrorCode != nil && i < len(batch) {
				errs = append(errs, fmt.Errorf("put event %s on %s: %s %s", batch[i].Key, p.Bus, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage)))
			}
		}
	}
	return errors.Join(errs...)
}

// HandleEventBridge is the notifier function: it accepts each gennaker
// event a rule delivers and sends its notifications, in order; a scheduled
// event sweeps the runs' outboxes for events whose publication was lost.
func HandleEventBridge(n *Notifier) func(ctx context.Context, in events.CloudWatchEvent) error {
	return func(ctx context.Context, in events.CloudWatchEvent) error {
		if in.Source != Source {
			_, err := SweepOnce(ctx, n)
			return err
		}
		var ev Event
		if err := json.Unmarshal(in.Detail, &ev); err != nil || ev.Key == "" {
			return fmt.Errorf("event %s is not a gennaker event: %v", in.ID, err)
		}
		// Accepting again is harmless and finds the notifications an
		// earlier, interrupted invocation did not send.
		jobs, err := n.Accept(ctx, ev)
		if err != nil {
			return err
		}
		var pending []string
		for _, j := range jobs {
			if d := n.Deliver(ctx, j); d.Status != "sent" && d.Status != "failed" {
				pending = append(pending, j.ID)
			}
		}
		if len(pending) > 0 {
			// EventBridge invokes again later; what was sent is not resent.
			return fmt.Errorf("event %s: notifications not sent yet: %v", ev.Key, pending)
		}
		return nil
	}
}
