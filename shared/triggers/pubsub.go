package triggers

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
)

// A pubsub trigger with pubsubSystem amazon (subscriptionName,
// payloadConstraints, attributeConstraints) fires on a message of the SQS
// queue named subscriptionName, usually subscribed to an SNS topic: the
// function receives the queue's messages through an event source mapping,
// and `gennaker up` takes the same batch at POST /events. A message from
// SNS is unwrapped: its Message is the payload and its MessageAttributes
// the attributes. payloadConstraints apply to the payload (a JSON object,
// or {"message": text}), attributeConstraints to the attributes.

// sqsBatch is the event Lambda receives from an SQS event source mapping.
type sqsBatch struct {
	Records []sqsRecord `json:"Records"`
}

type sqsRecord struct {
	MessageID         string `json:"messageId"`
	Body              string `json:"body"`
	EventSource       string `json:"eventSource"`
	EventSourceARN    string `json:"eventSourceARN"`
	MessageAttributes map[string]struct {
		StringValue string `json:"stringValue"`
	} `json:"messageAttributes"`
}

// fromSQS normalizes one message of a queue.
func fromSQS(r sqsRecord) (*Event, error) {
	if r.EventSource != "aws:sqs" {
		return nil, fmt.Errorf("record eventSource %q: %w", r.EventSource, ErrUnknownEvent)
	}
	queue := r.EventSourceARN[strings.LastIndex(r.EventSourceARN, ":")+1:]
	if queue == "" {
		return nil, fmt.Errorf("record %s has no eventSourceARN", r.MessageID)
	}
	id, body := r.MessageID, r.Body
	attrs := map[string]any{}
	for k, v := range r.MessageAttributes {
		attrs[k] = v.StringValue
	}
	var sns struct {
		Type              string `json:"Type"`
		MessageID         string `json:"MessageId"`
		Message           string `json:"Message"`
		MessageAttributes map[string]struct {
			Value string `json:"Value"`
		} `json:"MessageAttributes"`
	}
	if json.Unmarshal([]byte(body), &sns) == nil && sns.Type == "Notification" {
		id, body = sns.MessageID, sns.Message
		for k, v := range sns.MessageAttributes {
			attrs[k] = v.Value
		}
	}
	var payload map[string]any
	if json.Unmarshal([]byte(body), &payload) != nil {
		payload = map[string]any{"message": body}
	}
	return &Event{
		ID:          "sqs/" + queue + "/" + id,
		Type:        "pubsub",
		Key:         model.TriggerIndexKey("pubsub", "amazon", queue),
		Description: fmt.Sprintf("message %s of queue %s", id, queue),
		Raw:         json.RawMessage(mustJSON(payload)),
		match: func(tr model.Trigger) string {
			if s := tr.Field("pubsubSystem"); s != "amazon" {
				return fmt.Sprintf("the trigger's pubsubSystem %q is not amazon", s)
			}
			var pc, ac map[string]string
			if decodeField(tr, "payloadConstraints", &pc) != nil || decodeField(tr, "attributeConstraints", &ac) != nil {
				return "the trigger's payloadConstraints and attributeConstraints must be objects of strings"
			}
			if why := checkConstraints("payload", pc, payload); why != "" {
				return why
			}
			return checkConstraints("message attributes", ac, attrs)
		},
		fields: func(model.Trigger) map[string]any {
			return map[string]any{"payload": payload, "messageId": id}
		},
	}, nil
}
