package notify_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// slackText is the text of each message a channel received, in order.
func slackTexts(reqs []request, channel string) []string {
	var out []string
	for _, r := range reqs {
		if r.Body["channel"] == channel {
			out = append(out, r.Body["text"].(string))
		}
	}
	return out
}

func assertTexts(t *testing.T, what string, got []string, want ...[]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages, want %d:\n%s", what, len(got), len(want), strings.Join(got, "\n---\n"))
	}
	for i, parts := range want {
		for _, p := range parts {
			if !strings.Contains(got[i], p) {
				t.Errorf("%s: message %d lacks %q:\n%s", what, i+1, p, got[i])
			}
		}
	}
}

// A pipeline with pipeline-, stage- and judgment-level notifications, and
// an application-level one, sends each message once, in order, saying what
// happened, to what, by whom, with the link to the run; email goes through
// a real mail server and the commit of the trigger gets GitHub statuses.
func TestPipelineStageAndJudgmentNotifications(t *testing.T) {
	slack := newRecorder(t, func(r *http.Request, _ int) int {
		if r.Header.Get("Authorization") != "Bearer xoxb-test" {
			return 401
		}
		return 200
	})
	github := newRecorder(t, nil)
	hook := newRecorder(t, nil)
	smtp := startSMTP(t)
	host, port := smtp.hostPort()
	s := up(t, fmt.Sprintf(`
notifications:
  baseUrl: https://deck.example.com
  slack: {token: xoxb-test, baseUrl: %s}
  github: {token: ghp-test, baseUrl: %s}
  email: {from: gennaker@example.com, smtp: {host: %s, port: %s}}
  webhook: {signingSecret: s3cret}
`, slack.URL, github.URL, host, port))

	s.createApp("shop")
	s.do("POST", "/notifications/application/shop", "carol", map[string]any{
		"slack": []any{map[string]any{"address": "shop-all", "level": "application", "when": []any{"pipeline.complete"}}},
	})
	s.savePipeline("carol", map[string]any{
		"application": "shop", "name": "deploy",
		"notifications": []any{
			map[string]any{"type": "slack", "address": "#deploys", "level": "pipeline",
				"when":    []any{"pipeline.starting", "pipeline.complete", "pipeline.failed"},
				"message": map[string]any{"pipeline.complete": map[string]any{"text": "Shipped ${trigger.parameters.version} for ${trigger.user}"}}},
			map[string]any{"type": "email", "address": "ops@example.com", "level": "pipeline", "when": []any{"pipeline.complete"}},
			map[string]any{"type": "webhook", "address": hook.URL + "/events", "level": "pipeline", "when": []any{"pipeline.starting", "pipeline.complete"},
				"headers": map[string]any{"X-Team": "shop"}},
			map[string]any{"type": "githubStatus", "address": "acme/shop", "level": "pipeline", "when": []any{"pipeline.starting", "pipeline.complete"}},
		},
		"parameterConfig": []any{map[string]any{"name": "version", "default": "v1"}},
		"stages": []any{
			map[string]any{"refId": "1", "type": "wait", "name": "Build", "waitTime": 1, "sendNotifications": true,
				"notifications": []any{map[string]any{"type": "slack", "address": "#builds", "level": "stage", "when": []any{"stage.starting", "stage.complete"}}}},
			map[string]any{"refId": "2", "type": "manualJudgment", "name": "Approve", "requisiteStageRefIds": []any{"1"},
				"instructions": "Check the canary dashboard", "sendNotifications": true,
				"notifications": []any{map[string]any{"type": "slack", "address": "#approvals", "level": "stage",
					"when": []any{"manualJudgment", "manualJudgmentContinue", "manualJudgmentStop"}}}},
		},
	})
	s.savePipeline("carol", map[string]any{
		"application": "shop", "name": "other",
		"stages": []any{map[string]any{"refId": "1", "type": "wait", "name": "Pause", "waitTime": 0}},
	})

	id := s.trigger("shop", "deploy", map[string]any{"type": "manual", "user": "alice", "parameters": map[string]any{"version": "v42"}, "hash": "abc123"})
	e := s.waitFor(id, "the judgment to wait", func(e map[string]any) bool {
		st := stageOf(e, "Approve")
		return st != nil && st["status"] == "RUNNING"
	})
	// The judgment's message arrives while it waits.
	judging := slack.waitAccepted(t, 4, s.logs)
	s.do("PATCH", "/pipelines/"+id+"/stages/"+stageOf(e, "Approve")["id"].(string), "bob", map[string]any{"judgmentStatus": "continue"})
	s.waitStatus(id, "SUCCEEDED")
	other := s.trigger("shop", "other", map[string]any{"type": "manual", "user": "dave"})
	s.waitStatus(other, "SUCCEEDED")

	msgs := slack.waitAccepted(t, 8, s.logs)
	_ = judging
	link := "https://deck.example.com/#/applications/shop/executions/details/" + id
	assertTexts(t, "#deploys", slackTexts(msgs, "#deploys"),
		[]string{"Pipeline deploy of shop is starting", "alice", link},
		[]string{"Shipped v42 for alice", "Pipeline deploy of shop succeeded", "alice", link})
	assertTexts(t, "#builds", slackTexts(msgs, "#builds"),
		[]string{"Stage Build of pipeline deploy (shop) is starting", link},
		[]string{"Stage Build of pipeline deploy (shop) completed", link})
	assertTexts(t, "#approvals", slackTexts(msgs, "#approvals"),
		[]string{"Stage Approve of pipeline deploy (shop) is waiting for a judgment: Check the canary dashboard", link},
		[]string{"Stage Approve of pipeline deploy (shop) was continued by bob", link})
	// The application's notification fires for each of its pipelines.
	assertTexts(t, "#shop-all", slackTexts(msgs, "#shop-all"),
		[]string{"Pipeline deploy of shop succeeded", link},
		[]string{"Pipeline other of shop succeeded", "dave", "/executions/details/" + other})
	// In the order things happened: the judgment waited after the build.
	order := []string{}
	for _, m := range msgs {
		if ch := m.Body["channel"].(string); ch == "#builds" || ch == "#approvals" {
			order = append(order, m.Body["text"].(string)[:strings.Index(m.Body["text"].(string), " of ")])
		}
	}
	if got := strings.Join(order, ","); got != "Stage Build,Stage Build,Stage Approve,Stage Approve" {
		t.Errorf("stage messages in the order %s", got)
	}

	// The webhook receiver gets the events' JSON, with its headers, signed.
	hooks := hook.waitAccepted(t, 2, s.logs)
	for i, want := range []string{"pipeline.starting", "pipeline.complete"} {
		h := hooks[i]
		if h.Body["type"] != want || h.Body["executionId"] != id || h.Body["link"] != link || h.Body["user"] != "alice" {
			t.Errorf("webhook %d: %s", i, h.Raw)
		}
		if h.Header.Get("X-Team") != "shop" || !strings.HasPrefix(h.Header.Get("X-Gennaker-Signature"), "sha256=") {
			t.Errorf("webhook %d headers: %v", i, h.Header)
		}
	}
	// GitHub gets a pending, then a success status on the triggering commit.
	statuses := github.waitAccepted(t, 2, s.logs)
	for i, want := range []string{"pending", "success"} {
		st := statuses[i]
		if st.Path != "/repos/acme/shop/statuses/abc123" || st.Body["state"] != want || st.Body["target_url"] != link ||
			st.Header.Get("Authorization") != "Bearer ghp-test" || st.Body["context"] != "gennaker/deploy" {
			t.Errorf("status %d: %s %s", i, st.Path, st.Raw)
		}
	}
	// The mail server gets one mail.
	mails := smtp.waitMessages(t, 1)
	body, _ := io.ReadAll(mails[0].Body)
	if subj := mails[0].Header.Get("Subject"); !strings.Contains(subj, "[shop] Pipeline deploy of shop succeeded") {
		t.Errorf("mail subject %q", subj)
	}
	if to := mails[0].Header.Get("To"); to != "ops@example.com" {
		t.Errorf("mail to %q", to)
	}
	if !strings.Contains(string(body), link) || !strings.Contains(string(body), "Pipeline deploy of shop succeeded (triggered by alice)") {
		t.Errorf("mail body:\n%s\nheaders: %v", body, mails[0].Header)
	}

	// Each outcome is recorded on the run.
	time.Sleep(200 * time.Millisecond)
	e = s.execution(id)
	sent := 0
	for _, d := range deliveries(e) {
		if d["status"] != "sent" {
			t.Errorf("delivery not sent: %v", d)
		}
		sent++
	}
	// #deploys ×2, #builds ×2, #approvals ×2, #shop-all, email, webhook ×2, github ×2
	if sent != 12 {
		b, _ := json.MarshalIndent(deliveries(e), "", " ")
		t.Errorf("%d deliveries recorded, want 12:\n%s", sent, b)
	}
	// No message was sent twice.
	if n := len(slack.all()); n != 8 {
		t.Errorf("slack received %d messages, want 8", n)
	}
}

// A failed run says which stage failed and why.
func TestFailureNamesTheFailingStageAndItsError(t *testing.T) {
	slack := newRecorder(t, nil)
	broken := newRecorder(t, func(*http.Request, int) int { return 400 })
	s := up(t, fmt.Sprintf("notifications: {baseUrl: https://deck.example.com, slack: {token: t, baseUrl: %s}}\n", slack.URL))
	s.createApp("shop")
	s.savePipeline("carol", map[string]any{
		"application": "shop", "name": "release",
		"notifications": []any{map[string]any{"type": "slack", "address": "#deploys", "when": []any{"pipeline.failed"}}},
		"stages": []any{map[string]any{"refId": "1", "type": "webhook", "name": "Call the release API", "url": broken.URL + "/release", "method": "POST",
			"sendNotifications": true,
			"notifications":     []any{map[string]any{"type": "slack", "address": "#stages", "when": []any{"stage.failed"}}}}},
	})
	id := s.trigger("shop", "release", map[string]any{"type": "manual", "user": "alice"})
	s.waitStatus(id, "TERMINAL")
	msgs := slack.waitAccepted(t, 2, s.logs)
	link := "https://deck.example.com/#/applications/shop/executions/details/" + id
	assertTexts(t, "#deploys", slackTexts(msgs, "#deploys"),
		[]string{"Pipeline release of shop failed at stage Call the release API: ", "400", "alice", link})
	assertTexts(t, "#stages", slackTexts(msgs, "#stages"),
		[]string{"Stage Call the release API of pipeline release (shop) failed: ", "400", link})
}

// A receiver that answers 500 three times then 200 gets the message once;
// the run records one sent delivery after four attempts.
func TestFlakyReceiverGetsTheMessageOnce(t *testing.T) {
	hook := newRecorder(t, func(_ *http.Request, n int) int {
		if n < 3 {
			return 500
		}
		return 200
	})
	s := up(t, "notifications: {backoff: 50ms, attempts: 6}\n")
	s.createApp("shop")
	s.savePipeline("", map[string]any{
		"application": "shop", "name": "deploy",
		"notifications": []any{map[string]any{"type": "webhook", "address": hook.URL, "when": []any{"pipeline.complete"}}},
		"stages":        []any{map[string]any{"refId": "1", "type": "wait", "name": "Soak", "waitTime": 0}},
	})
	id := s.trigger("shop", "deploy", map[string]any{"type": "manual", "user": "alice"})
	s.waitStatus(id, "SUCCEEDED")
	hook.waitAccepted(t, 1, s.logs)
	e := s.waitFor(id, "the delivery to be recorded", func(e map[string]any) bool { return len(deliveries(e)) == 1 })
	d := deliveries(e)[0]
	if d["status"] != "sent" || d["attempts"] != float64(4) || d["event"] != "pipeline.complete" {
		t.Errorf("delivery recorded as %v", d)
	}
	time.Sleep(300 * time.Millisecond)
	if got := len(hook.accepted()); got != 1 {
		t.Errorf("the receiver accepted %d messages, want 1", got)
	}
	if got := len(hook.all()); got != 4 {
		t.Errorf("the receiver got %d requests, want 4", got)
	}
}

// A receiver that never answers does not hold the pipeline up: the run
// finishes while every notification sent so far is still unanswered, and
// the failures are recorded on the run with the reason.
func TestSilentReceiverDoesNotDelayThePipeline(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	open := 0
	silent := newRecorder(t, func(r *http.Request, _ int) int {
		mu.Lock()
		open++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		mu.Lock()
		open--
		mu.Unlock()
		return 200
	})
	defer close(release)
	// One attempt of 15 s each; each notification has an address of its
	// own, so they wait side by side.
	s := up(t, "notifications: {timeout: 15s, attempts: 1}\n")
	s.createApp("shop")
	hook := func(path string, when ...any) []any {
		return []any{map[string]any{"type": "webhook", "address": silent.URL + path, "when": when}}
	}
	s.savePipeline("", map[string]any{
		"application": "shop", "name": "deploy",
		"notifications": append(hook("/starting", "pipeline.starting"), hook("/complete", "pipeline.complete")...),
		"stages": []any{
			map[string]any{"refId": "1", "type": "wait", "name": "One", "waitTime": 0, "sendNotifications": true,
				"notifications": append(hook("/one-starting", "stage.starting"), hook("/one-complete", "stage.complete")...)},
			map[string]any{"refId": "2", "type": "wait", "name": "Two", "waitTime": 0, "requisiteStageRefIds": []any{"1"}},
		},
	})
	id := s.trigger("shop", "deploy", map[string]any{"type": "manual", "user": "alice"})
	e := s.waitStatus(id, "SUCCEEDED", "TERMINAL")
	if e["status"] != "SUCCEEDED" {
		t.Fatalf("the run ended %v", e["status"])
	}
	// Every request the receiver got is still waiting for its answer.
	mu.Lock()
	got, waiting := len(silent.all()), open
	mu.Unlock()
	if got == 0 || waiting != got {
		t.Errorf("by the end of the run the receiver got %d requests, %d still unanswered", got, waiting)
	}
	if len(deliveries(e)) != 0 {
		t.Errorf("deliveries recorded before any could end: %v", deliveries(e))
	}
	e = s.waitFor(id, "the failures to be recorded", func(e map[string]any) bool { return len(deliveries(e)) == 4 })
	for _, d := range deliveries(e) {
		reason, _ := d["reason"].(string)
		if d["status"] != "failed" || !strings.Contains(reason, "Client.Timeout") && !strings.Contains(reason, "deadline exceeded") {
			t.Errorf("delivery recorded as %v", d)
		}
	}
}

// Killing gennaker up with SIGKILL while notifications of recorded status
// changes wait to be sent loses none and sends none twice: after the
// restart the receiver accepts each event exactly once.
func TestSIGKILLNeitherLosesNorDuplicatesNotifications(t *testing.T) {
	holding := make(chan struct{}, 1)
	release := make(chan struct{})
	var killed = make(chan struct{})
	hook := newRecorder(t, func(r *http.Request, n int) int {
		select {
		case <-killed:
			return 200
		default:
		}
		// Before the kill, the first request is held unanswered.
		select {
		case holding <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return 500
	})
	s := up(t, "notifications: {timeout: 60s, backoff: 10ms}\n")
	s.createApp("shop")
	stageHook := []any{map[string]any{"type": "webhook", "address": hook.URL, "when": []any{"stage.starting", "stage.complete"}}}
	s.savePipeline("", map[string]any{
		"application": "shop", "name": "deploy",
		"notifications": []any{map[string]any{"type": "webhook", "address": hook.URL, "when": []any{"pipeline.starting", "pipeline.complete"}}},
		"stages": []any{
			map[string]any{"refId": "1", "type": "wait", "name": "One", "waitTime": 0, "sendNotifications": true, "notifications": stageHook},
			map[string]any{"refId": "2", "type": "wait", "name": "Two", "waitTime": 8, "requisiteStageRefIds": []any{"1"}, "sendNotifications": true, "notifications": stageHook},
		},
	})
	id := s.trigger("shop", "deploy", map[string]any{"type": "manual", "user": "alice"})
	<-holding
	// Status changes happen and are recorded while their notifications wait.
	// The kill comes while Two waits, not in the instant between One's end
	// and Two's start.
	s.waitFor(id, "stage Two to wait", func(e map[string]any) bool {
		return stageOf(e, "One")["status"] == "SUCCEEDED" && stageOf(e, "Two")["status"] == "RUNNING"
	})
	s.kill()
	close(killed)
	close(release)

	s.start()
	s.waitStatus(id, "SUCCEEDED")
	got := hook.waitAccepted(t, 6, s.logs)
	time.Sleep(500 * time.Millisecond)
	got = hook.accepted()
	var events []string
	seen := map[string]int{}
	for _, r := range got {
		name := r.Body["type"].(string)
		if st, ok := r.Body["stage"].(map[string]any); ok {
			name += " " + st["name"].(string)
		}
		events = append(events, name)
		seen[r.Header.Get("X-Gennaker-Delivery")]++
	}
	want := "pipeline.starting,stage.starting One,stage.complete One,stage.starting Two,stage.complete Two,pipeline.complete"
	if strings.Join(events, ",") != want {
		t.Errorf("accepted events:\n%s\nwant\n%s", strings.Join(events, ","), want)
	}
	for d, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s accepted %d times", d, n)
		}
	}
}

// A canceled run says who canceled it and why.
func TestCancelSaysWhoCanceled(t *testing.T) {
	slack := newRecorder(t, nil)
	s := up(t, fmt.Sprintf("notifications: {slack: {token: t, baseUrl: %s}}\n", slack.URL))
	s.createApp("shop")
	s.savePipeline("", map[string]any{
		"application": "shop", "name": "deploy",
		"notifications": []any{map[string]any{"type": "slack", "address": "#deploys", "when": []any{"pipeline.canceled"}}},
		"stages":        []any{map[string]any{"refId": "1", "type": "manualJudgment", "name": "Approve"}},
	})
	id := s.trigger("shop", "deploy", map[string]any{"type": "manual", "user": "alice"})
	s.waitFor(id, "the judgment to wait", func(e map[string]any) bool { return stageOf(e, "Approve")["status"] == "RUNNING" })
	s.do("PUT", "/pipelines/"+id+"/cancel?reason=wrong+branch", "frank", nil)
	s.waitStatus(id, "CANCELED")
	msgs := slack.waitAccepted(t, 1, s.logs)
	assertTexts(t, "#deploys", slackTexts(msgs, "#deploys"),
		[]string{"Pipeline deploy of shop was canceled by frank: wrong branch", "/executions/details/" + id})
}
