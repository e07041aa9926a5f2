package notify_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/notify"
)

// pressButton posts what Slack posts when user presses a button of a
// message, signed with secret.
func pressButton(t *testing.T, s *server, secret, user string, button map[string]any) (int, string) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": "U123", "username": user, "name": user},
		"actions": []any{map[string]any{"action_id": button["action_id"], "value": button["value"], "type": "button"}},
	})
	body := []byte("payload=" + url.QueryEscape(string(payload)))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, _ := http.NewRequest("POST", s.base+"/notifications/slack/interactions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", notify.SlackSignature(secret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// With the Slack app's signing secret configured, a judgment's message has
// Continue and Stop buttons; pressing Stop records the judgment of the
// Slack user through the API, and the run stops.
func TestSlackButtonsRecordTheJudgment(t *testing.T) {
	slack := newRecorder(t, nil)
	s := up(t, fmt.Sprintf("notifications: {slack: {token: t, baseUrl: %s, signingSecret: shh}}\n", slack.URL))
	s.createApp("shop")
	s.savePipeline("", map[string]any{
		"application": "shop", "name": "deploy",
		"stages": []any{map[string]any{"refId": "1", "type": "manualJudgment", "name": "Approve", "instructions": "Is the canary healthy?",
			"notifications": []any{map[string]any{"type": "slack", "address": "#approvals", "when": []any{"manualJudgment", "manualJudgmentStop"}}}}},
	})
	id := s.trigger("shop", "deploy", map[string]any{"type": "manual", "user": "alice"})
	msg := slack.waitAccepted(t, 1, s.logs)[0]
	blocks, _ := msg.Body["blocks"].([]any)
	if len(blocks) != 2 {
		t.Fatalf("the judgment's message has no buttons: %s", msg.Raw)
	}
	buttons := map[string]map[string]any{}
	for _, b := range blocks[1].(map[string]any)["elements"].([]any) {
		m := b.(map[string]any)
		buttons[m["text"].(map[string]any)["text"].(string)] = m
	}
	if buttons["Continue"] == nil || buttons["Stop"] == nil {
		t.Fatalf("buttons %v", buttons)
	}
	// A request not signed with the app's secret is refused, and judges nothing.
	if code, body := pressButton(t, s, "wrong", "mallory", buttons["Continue"]); code != 401 || !strings.Contains(body, "X-Slack-Signature") {
		t.Errorf("a forged press: %d %s", code, body)
	}
	if code, body := pressButton(t, s, "shh", "bob", buttons["Stop"]); code != 200 || body != "{}" {
		t.Fatalf("pressing Stop: %d %s", code, body)
	}
	e := s.waitStatus(id, "TERMINAL", "SUCCEEDED")
	st := stageOf(e, "Approve")
	ctx, _ := st["context"].(map[string]any)
	if e["status"] != "TERMINAL" || ctx["judgmentStatus"] != "stop" || ctx["lastModifiedBy"] != "bob" {
		t.Errorf("run %v, judgment %v by %v", e["status"], ctx["judgmentStatus"], ctx["lastModifiedBy"])
	}
	msgs := slack.waitAccepted(t, 2, s.logs)
	assertTexts(t, "#approvals", slackTexts(msgs, "#approvals"),
		[]string{"waiting for a judgment: Is the canary healthy?"},
		[]string{"Stage Approve of pipeline deploy (shop) was stopped by bob"})
}
