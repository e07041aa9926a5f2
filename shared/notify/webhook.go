package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// webhookSender posts the event's JSON to the notification's address, with
// its headers, signed when a signing secret is configured.
type webhookSender struct {
	cfg    Webhook
	client HTTPDoer
}

// Signature is the X-Gennaker-Signature of a webhook body.
func Signature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (s webhookSender) Send(ctx context.Context, j Job) error {
	if j.Address == "" {
		return permanent("webhook: the notification names no URL (address)")
	}
	body, err := json.Marshal(j.Event)
	if err != nil {
		return permanent("webhook: %w", err)
	}
	headers := map[string]string{}
	for k, v := range j.Headers {
		headers[k] = v
	}
	headers["X-Gennaker-Event"] = j.Event.Type
	headers["X-Gennaker-Delivery"] = j.ID
	if s.cfg.SigningSecret != "" {
		headers["X-Gennaker-Signature"] = Signature(s.cfg.SigningSecret, body)
	}
	if _, err := postJSON(ctx, s.client, j.Address, headers, body); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}
