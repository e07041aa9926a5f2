package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/notify"
)

type captured struct {
	path   string
	header http.Header
	body   []byte
}

func receiver(t *testing.T, status int, got *[]captured) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = append(*got, captured{r.URL.Path, r.Header.Clone(), b})
		w.WriteHeader(status)
		if strings.HasSuffix(r.URL.Path, "chat.postMessage") {
			_, _ = w.Write([]byte(`{"ok":false,"error":"channel_not_found"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Each incoming-webhook type posts the message in its service's shape, and
// answers are sorted into sent, failed at once, and worth another try.
func TestSendersSpeakEachServicesJSON(t *testing.T) {
	ctx := context.Background()
	var got []captured
	ok := receiver(t, 200, &got)
	cfg := notify.Config{Slack: notify.Slack{Token: "t", BaseURL: ok.URL}, Webhook: notify.Webhook{SigningSecret: "k"}, Attempts: 2, Backoff: 1}
	n := &notify.Notifier{Store: openStore(t), Config: cfg, Senders: notify.NewSenders(cfg, http.DefaultClient, nil, nil)}

	for _, tc := range []struct {
		typ, address string
		check        func(t *testing.T, c captured)
	}{
		{"microsoftteams", ok.URL + "/teams", func(t *testing.T, c captured) {
			var card map[string]any
			_ = json.Unmarshal(c.body, &card)
			if card["@type"] != "MessageCard" || !strings.Contains(card["text"].(string), "failed at stage Deploy") {
				t.Errorf("card %s", c.body)
			}
			if !strings.Contains(string(c.body), failedEvent.Link) {
				t.Errorf("the card has no link to the run: %s", c.body)
			}
		}},
		{"googlechat", ok.URL + "/chat", func(t *testing.T, c captured) {
			var m map[string]string
			_ = json.Unmarshal(c.body, &m)
			if !strings.Contains(m["text"], "failed at stage Deploy") || !strings.Contains(m["text"], failedEvent.Link) {
				t.Errorf("chat message %s", c.body)
			}
		}},
		{"webhook", ok.URL + "/hook", func(t *testing.T, c captured) {
			if want := notify.Signature("k", c.body); c.header.Get("X-Gennaker-Signature") != want {
				t.Errorf("signature %q, want %q", c.header.Get("X-Gennaker-Signature"), want)
			}
			var ev notify.Event
			if json.Unmarshal(c.body, &ev) != nil || ev != failedEvent {
				t.Errorf("webhook body %s", c.body)
			}
		}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			got = nil
			j := job(tc.typ, tc.address)
			j.ID += tc.typ
			if d := n.Deliver(ctx, j); d.Status != "sent" {
				t.Fatalf("%+v", d)
			}
			if len(got) != 1 {
				t.Fatalf("%d requests", len(got))
			}
			tc.check(t, got[0])
		})
	}

	// Slack's 200 with ok:false is a failure, with Slack's reason, not retried.
	got = nil
	d := n.Deliver(ctx, withID(job("slack", "deploys"), "slack"))
	if d.Status != "failed" || d.Attempts != 1 || !strings.Contains(d.Reason, "channel_not_found") {
		t.Errorf("slack refusal: %+v", d)
	}
	var msg map[string]any
	_ = json.Unmarshal(got[0].body, &msg)
	if msg["channel"] != "#deploys" || got[0].header.Get("Authorization") != "Bearer t" {
		t.Errorf("slack request %s %v", got[0].body, got[0].header)
	}

	// A 4xx answer fails at once; an unknown type names the types there are.
	var refused []captured
	bad := receiver(t, 404, &refused)
	if d := n.Deliver(ctx, withID(job("webhook", bad.URL), "404")); d.Status != "failed" || d.Attempts != 1 || !strings.Contains(d.Reason, "HTTP 404") {
		t.Errorf("404: %+v", d)
	}
	if d := n.Deliver(ctx, withID(job("pager", "x"), "pager")); d.Status != "failed" || !strings.Contains(d.Reason, `no notification type "pager"`) || !strings.Contains(d.Reason, "slack") {
		t.Errorf("unknown type: %+v", d)
	}
	// A GitHub status needs the triggering commit.
	if d := n.Deliver(ctx, withID(job("githubStatus", "acme/shop"), "github")); d.Status != "failed" || !strings.Contains(d.Reason, "token") {
		t.Errorf("github without a token: %+v", d)
	}
}

// withID gives j an id of its own: one id is delivered once.
func withID(j notify.Job, suffix string) notify.Job {
	j.ID += suffix
	return j
}
