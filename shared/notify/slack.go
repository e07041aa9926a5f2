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
	if !strings.HasPrefix(channel, "#") && !strings.HasPrefix(channel, "@") && strings.ToLower(channel) != channel {
		// A channel id (C0123…) is used as it is.
	} else if !strings.HasPrefix(channel, "#") && !strings.HasPrefix(channel, "@") {
		channel = "#" + channel
	}
	body, _ := json.Marshal(map[string]any{"channel": channel, "text": j.Text, "unfurl_links": false})
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
