package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// slackSender posts with chat.postMessage as a bot.
type slackSender struct {
	cfg    Slack
	client HTTPDoer
}

func (s slackSender) Send(ctx context.Context, j Job) error {
	if s.cfg.Token == "" {
		return permanent("slack: no bot token (notifications.slack.token in the configuration file)")
	}
	if j.Address == "" {
		return permanent("slack: the notification names no channel (address)")
	}
	base := s.cfg.BaseURL
	if base == "" {
		base = "https://slack.com"
	}
	channel := j.Address
	// A channel name gets its "#"; a channel id (C0123…) is used as it is.
	if !strings.HasPrefix(channel, "#") && !strings.HasPrefix(channel, "@") && strings.ToLower(channel) == channel {
		channel = "#" + channel
	}
	msg := map[string]any{"channel": channel, "text": j.Text, "unfurl_links": false}
	if j.Event.Type == JudgmentWaiting && j.Event.Stage != nil && s.cfg.SigningSecret != "" {
		msg["blocks"] = judgmentBlocks(j)
	}
	body, _ := json.Marshal(msg)
	answer, err := postJSON(ctx, s.client, strings.TrimRight(base, "/")+"/api/chat.postMessage",
		map[string]string{"Authorization": "Bearer " + s.cfg.Token, "Content-Type": "application/json; charset=utf-8"}, body)
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(answer, &res) != nil {
		return fmt.Errorf("slack: an answer that is not Slack's JSON: %.200s", answer)
	}
	if !res.OK {
		if res.Error == "ratelimited" || res.Error == "internal_error" || res.Error == "service_unavailable" {
			return fmt.Errorf("slack: %s", res.Error)
		}
		return permanent("slack: %s", res.Error)
	}
	return nil
}

// Action ids of the judgment buttons.
const (
	actionContinue = "gennaker.judgment.continue"
	actionStop     = "gennaker.judgment.stop"
)

// judgmentBlocks is a judgment's message with Continue and Stop buttons,
// whose value names the run and the stage.
func judgmentBlocks(j Job) []any {
	value := string(j.Event.ExecutionID) + "/" + string(j.Event.Stage.ID)
	button := func(text, action, style string) map[string]any {
		b := map[string]any{"type": "button", "text": map[string]any{"type": "plain_text", "text": text},
			"action_id": action, "value": value}
		if style != "" {
			b["style"] = style
		}
		return b
	}
	return []any{
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": j.Text}},
		map[string]any{"type": "actions", "block_id": "gennaker.judgment", "elements": []any{
			button("Continue", actionContinue, "primary"),
			button("Stop", actionStop, "danger"),
		}},
	}
}
