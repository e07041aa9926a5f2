package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/api/gateerr"
	"github.com/gennaker/gennaker/shared/model"
)

// SlackInteractionsPattern is the route of Slack's interactivity Request
// URL.
const SlackInteractionsPattern = "POST /notifications/slack/interactions"

// Judge records a manual judgment ("continue" or "stop") by user.
type Judge func(ctx context.Context, id model.ExecutionID, stage model.StageID, user, judgment string) error

// SlackInteractions serves the buttons of judgment messages: it checks
// Slack's signature, and records the judgment of the Slack user who
// pressed one.
type SlackInteractions struct {
	SigningSecret string
	Judge         Judge
	Now           func() time.Time
}

// SlackSignature is the X-Slack-Signature of body sent at timestamp.
func SlackSignature(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", timestamp, body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

func (s SlackInteractions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	fail := func(status int, format string, args ...any) {
		_ = gateerr.Write(w, status, fmt.Sprintf(format, args...), now())
	}
	if s.SigningSecret == "" || s.Judge == nil {
		fail(http.StatusNotFound, "Slack interactions are off: set notifications.slack.signingSecret")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		fail(http.StatusBadRequest, "read the request: %v", err)
		return
	}
	ts := r.Header.Get("X-Slack-Request-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now().Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		fail(http.StatusUnauthorized, "X-Slack-Request-Timestamp is missing or more than five minutes off")
		return
	}
	if !hmac.Equal([]byte(SlackSignature(s.SigningSecret, ts, body)), []byte(r.Header.Get("X-Slack-Signature"))) {
		fail(http.StatusUnauthorized, "X-Slack-Signature does not match the signing secret")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		fail(http.StatusBadRequest, "the body is not Slack's form: %v", err)
		return
	}
	var payload struct {
		Type string `json:"type"`
		User struct {
			ID       string `json:"id"`
			Username string `json:"username"`
			Name     string `json:"name"`
		} `json:"user"`
		Actions []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(form.Get("payload")), &payload); err != nil {
		fail(http.StatusBadRequest, "payload: not Slack's interaction JSON: %v", err)
		return
	}
	user := payload.User.Username
	if user == "" {
		user = payload.User.Name
	}
	if user == "" {
		user = payload.User.ID
	}
	for _, a := range payload.Actions {
		judgment := ""
		switch a.ActionID {
		case actionContinue:
			judgment = "continue"
		case actionStop:
			judgment = "stop"
		default:
			continue
		}
		run, stage, ok := strings.Cut(a.Value, "/")
		if !ok {
			fail(http.StatusBadRequest, "actions: value %q does not name a run and a stage", a.Value)
			return
		}
		if err := s.Judge(r.Context(), model.ExecutionID(run), model.StageID(stage), user, judgment); err != nil {
			// Slack shows nothing of a failed answer; say it in the thread.
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"response_type": "ephemeral", "text": "The judgment was not recorded: " + err.Error()})
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{}`))
}
