package triggers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
)

// A webhook trigger (source, payloadConstraints) fires on a POST to
// /webhooks/webhook/{source}: each payload constraint names a top-level
// field of the body and a pattern its value must match whole. As echo
// takes them, the body's "parameters" become the run's parameters and its
// "artifacts" the artifacts the run receives; the whole body is
// trigger.payload.

// FromWebhook normalizes a delivery to POST /webhooks/{type}/{source}. The
// event's id is the delivery id the sender puts in a header
// (X-GitHub-Delivery, X-Gitlab-Event-UUID, X-Request-UUID, or
// Idempotency-Key for any sender), else the hash of the body: a payload
// delivered twice is one event.
func FromWebhook(typ, source string, header http.Header, body []byte) (*Event, error) {
	switch typ {
	case "git":
		ev, err := gitWebhook(source, header, body)
		if err != nil {
			return nil, err
		}
		if k := header.Get("Idempotency-Key"); k != "" {
			ev.ID = k
		}
		return ev, nil
	case "webhook":
		return genericWebhook(source, header, body)
	}
	return nil, fmt.Errorf("webhook type %q: %w; gennaker takes git and webhook", typ, ErrUnknownEvent)
}

func genericWebhook(source string, header http.Header, body []byte) (*Event, error) {
	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil {
		return nil, fmt.Errorf("the webhook body must be a JSON object: %w", err)
	}
	var typed struct {
		Parameters map[string]any   `json:"parameters"`
		Artifacts  []model.Artifact `json:"artifacts"`
	}
	if err := json.Unmarshal(body, &typed); err != nil {
		return nil, fmt.Errorf(`"parameters" must be an object and "artifacts" a list of artifacts: %w`, err)
	}
	id := header.Get("Idempotency-Key")
	if id == "" {
		id = hashID("webhook", source, string(body))
	}
	return &Event{
		ID:          id,
		Type:        "webhook",
		Key:         model.TriggerIndexKey("webhook", source),
		Description: "webhook " + source,
		Artifacts:   typed.Artifacts,
		Parameters:  typed.Parameters,
		Raw:         body,
		match: func(tr model.Trigger) string {
			if s := tr.Field("source"); s != source {
				return fmt.Sprintf("the trigger's source %q is not %q", s, source)
			}
			var constraints map[string]string
			if err := decodeField(tr, "payloadConstraints", &constraints); err != nil {
				return "the trigger's payloadConstraints is not an object of strings"
			}
			return checkConstraints("payload", constraints, payload)
		},
		fields: func(model.Trigger) map[string]any {
			return map[string]any{"payload": payload, "source": source}
		},
	}, nil
}

// checkConstraints returns why values do not meet the constraints, or "".
func checkConstraints(what string, constraints map[string]string, values map[string]any) string {
	for k, pattern := range constraints {
		v, ok := lookupPath(values, k)
		if !ok {
			return fmt.Sprintf("the %s has no field %q, which the trigger's constraints ask for", what, k)
		}
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		if !fullMatch(pattern, s) {
			return fmt.Sprintf("%s field %q is %q, which does not match %q", what, k, s, pattern)
		}
	}
	return ""
}

// lookupPath finds a field by name, or by a dotted path into nested
// objects when no field has the whole name.
func lookupPath(values map[string]any, key string) (any, bool) {
	if v, ok := values[key]; ok {
		return v, true
	}
	head, rest, ok := strings.Cut(key, ".")
	if !ok {
		return nil, false
	}
	inner, ok := values[head].(map[string]any)
	if !ok {
		return nil, false
	}
	return lookupPath(inner, rest)
}
