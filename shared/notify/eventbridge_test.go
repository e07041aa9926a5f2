package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gennaker/gennaker/shared/notify"
)

// The notifier function sends an event's notifications once, however many
// times EventBridge delivers the event, and records it in the audit log.
func TestNotifierFunctionSendsEachEventOnce(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	log := &webhookLog{}
	e := newRun(t, s, log.server(t).URL)
	ev := notify.Event{Key: string(e.ID) + "/pipeline/1/pipeline.starting", Type: notify.PipelineStarting, Time: 5,
		Application: "shop", Pipeline: "deploy", ExecutionID: e.ID, User: "alice"}
	detail, _ := json.Marshal(ev)
	handle := notify.HandleEventBridge(&notify.Notifier{Store: s, Senders: notify.NewSenders(notify.Config{}, http.DefaultClient, nil, nil)})
	in := events.CloudWatchEvent{ID: "1", Source: "gennaker", DetailType: ev.Type, Detail: detail}
	for range 3 {
		if err := handle(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if got := log.got(); len(got) != 1 || got[0] != ev.Key {
		t.Fatalf("the receiver got %v", got)
	}
	h, _ := s.Executions().GetHeader(ctx, e.ID)
	if len(h.NotificationDeliveries) != 1 || h.NotificationDeliveries[0].Status != "sent" {
		t.Errorf("deliveries on the run: %+v", h.NotificationDeliveries)
	}
	if audit, _ := notify.Audit(ctx, s.Records(), notify.AuditFilter{}); len(audit) != 1 {
		t.Errorf("audit: %+v", audit)
	}
	// Something that is not a gennaker event is refused with its id.
	if err := handle(ctx, events.CloudWatchEvent{ID: "x", Source: "gennaker", Detail: json.RawMessage(`{}`)}); err == nil {
		t.Error("an event without a key was taken")
	}
}

// Two invocations handed one event at once send its notification once: the
// second waits its turn, finds nothing sent yet, and asks to be retried.
func TestConcurrentDeliveriesOfOneEventSendOnce(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	entered, release := make(chan struct{}, 4), make(chan struct{})
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		entered <- struct{}{}
		<-release
	}))
	defer srv.Close()
	e := newRun(t, s, srv.URL)
	ev := notify.Event{Key: string(e.ID) + "/pipeline/1/pipeline.starting", Type: notify.PipelineStarting, Time: 5,
		Application: "shop", Pipeline: "deploy", ExecutionID: e.ID}
	detail, _ := json.Marshal(ev)
	in := events.CloudWatchEvent{ID: "1", Source: "gennaker", DetailType: ev.Type, Detail: detail}
	n := &notify.Notifier{Store: s, Senders: notify.NewSenders(notify.Config{}, http.DefaultClient, nil, nil), Exclusive: true}
	handle := notify.HandleEventBridge(n)

	first := make(chan error, 1)
	go func() { first <- handle(ctx, in) }()
	<-entered // the first invocation is sending
	if err := handle(ctx, in); err == nil || !strings.Contains(err.Error(), "not sent yet") {
		t.Errorf("the second invocation: %v, want a retry", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := handle(ctx, in); err != nil { // EventBridge's retry
		t.Fatal(err)
	}
	if requests != 1 {
		t.Errorf("the receiver got %d requests, want 1", requests)
	}
}
