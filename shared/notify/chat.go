package notify

import (
	"context"
	"encoding/json"
	"fmt"
)

// teamsSender posts a message card to a Microsoft Teams incoming webhook.
type teamsSender struct{ client HTTPDoer }

func (s teamsSender) Send(ctx context.Context, j Job) error {
	if j.Address == "" {
		return permanent("microsoftteams: the notification names no incoming webhook URL (address)")
	}
	card := map[string]any{
		"@type": "MessageCard", "@context": "https://schema.org/extensions",
		"summary": j.Subject, "title": j.Subject, "text": j.Text,
	}
	if j.Event.Link != "" {
		card["potentialAction"] = []any{map[string]any{
			"@type": "OpenUri", "name": "View the execution",
			"targets": []any{map[string]any{"os": "default", "uri": j.Event.Link}},
		}}
	}
	body, _ := json.Marshal(card)
	if _, err := postJSON(ctx, s.client, j.Address, nil, body); err != nil {
		return fmt.Errorf("microsoftteams: %w", err)
	}
	return nil
}

// googleChatSender posts a text message to a Google Chat incoming webhook.
type googleChatSender struct{ client HTTPDoer }

func (s googleChatSender) Send(ctx context.Context, j Job) error {
	if j.Address == "" {
		return permanent("googlechat: the notification names no incoming webhook URL (address)")
	}
	body, _ := json.Marshal(map[string]any{"text": j.Text})
	if _, err := postJSON(ctx, s.client, j.Address, nil, body); err != nil {
		return fmt.Errorf("googlechat: %w", err)
	}
	return nil
}
