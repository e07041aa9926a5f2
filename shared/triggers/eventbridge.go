package triggers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// EventBridgeEvent is an event as EventBridge delivers it to a rule's
// target.
type EventBridgeEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// ErrUnknownEvent: the event is of a source and kind no trigger listens to.
var ErrUnknownEvent = errors.New("no trigger type listens to this event")

// ParseEventBridge reads what POST /events takes: one EventBridge event, or
// a PutEvents request ({"Entries": [{"Source", "DetailType", "Detail", …}]})
// whose entries become events (an entry without an id gets one from its
// content, so resending it is a duplicate).
func ParseEventBridge(body []byte) ([]EventBridgeEvent, error) {
	body = bytes.TrimSpace(body)
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("the body is not a JSON object: %w", err)
	}
	if raw, ok := probe["Entries"]; ok {
		var entries []struct {
			Source     string          `json:"Source"`
			DetailType string          `json:"DetailType"`
			Detail     string          `json:"Detail"`
			Resources  []string        `json:"Resources"`
			Time       json.RawMessage `json:"Time"`
		}
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, fmt.Errorf("Entries: %w", err)
		}
		out := make([]EventBridgeEvent, 0, len(entries))
		for i, e := range entries {
			if !json.Valid([]byte(e.Detail)) {
				return nil, fmt.Errorf("Entries[%d].Detail is not a JSON document in a string", i)
			}
			out = append(out, EventBridgeEvent{
				Version: "0", ID: hashID(e.Source, e.DetailType, e.Detail), DetailType: e.DetailType,
				Source: e.Source, Resources: e.Resources, Detail: json.RawMessage(e.Detail),
			})
		}
		return out, nil
	}
	var ev EventBridgeEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, err
	}
	if ev.Source == "" || ev.DetailType == "" {
		return nil, errors.New(`the event has no "source" or "detail-type": send an EventBridge event or a PutEvents request with "Entries"`)
	}
	if ev.ID == "" {
		ev.ID = hashID(ev.Source, ev.DetailType, string(ev.Detail))
	}
	return []EventBridgeEvent{ev}, nil
}

// FromEventBridge normalizes an EventBridge event. It returns
// ErrUnknownEvent (wrapped with what the event is) for an event no trigger
// listens to, and an error that names the field for a malformed one.
func FromEventBridge(ev EventBridgeEvent) (*Event, error) {
	raw, _ := json.Marshal(ev)
	var out *Event
	var err error
	switch {
	case ev.Source == "aws.ecr" && ev.DetailType == "ECR Image Action":
		out, err = ecrEvent(ev)
	case ev.Source == "aws.codecommit" && ev.DetailType == "CodeCommit Repository State Change":
		out, err = codeCommitEvent(ev)
	case ev.Source == "aws.codebuild" && ev.DetailType == "CodeBuild Build State Change":
		out, err = codeBuildEvent(ev)
	case ev.Source == "aws.s3" && ev.DetailType == "Object Created":
		out, err = s3Event(ev)
	default:
		return nil, fmt.Errorf("%s %q: %w", ev.Source, ev.DetailType, ErrUnknownEvent)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %q event %s: %w", ev.Source, ev.DetailType, ev.ID, err)
	}
	if out.Raw == nil {
		out.Raw = raw
	}
	return out, nil
}
