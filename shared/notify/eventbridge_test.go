package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
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
