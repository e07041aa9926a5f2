package lambda_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gennaker/gennaker/shared/mototest"
	"github.com/gennaker/gennaker/shared/notify"
)

// In the cloud the functions put each configuration and lifecycle event on the stack's bus
// (moto's EventBridge, with a rule to an SQS queue standing in for the
// notifier's rule), and the notifier function, handed what the rule
// delivered, sends the run's notification once, however often it is
// delivered.
func TestLifecycleEventsOnTheBusReachTheNotifier(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Shared(t)
	cfg := srv.Config(srv.NewAccount())
	eb := eventbridge.NewFromConfig(cfg)
	q := sqs.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("gennaker")}); err != nil {
		t.Fatal(err)
	}
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("notifier")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("to-notifier"), EventBusName: aws.String("gennaker"),
		EventPattern: aws.String(`{"source": ["gennaker"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("to-notifier"), EventBusName: aws.String("gennaker"),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var received []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev notify.Event
		_ = json.Unmarshal(b, &ev)
		mu.Lock()
		received = append(received, ev.Type+" "+ev.User)
		mu.Unlock()
	}))
	defer hook.Close()

	h := startCloud(t, harnessOptions{events: notify.NewEventBridge(cfg, "gennaker")})
	h.call(t, "POST", "/tasks", map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": "shop", "email": "t@example.com"}}}})
	if code, body := h.call(t, "POST", "/pipelines", map[string]any{
		"application": "shop", "name": "release",
		"notifications": []any{map[string]any{"type": "webhook", "address": hook.URL, "when": []any{"pipeline.complete"}}},
		"stages":        []any{map[string]any{"refId": "1", "type": "wait", "name": "Soak", "waitTime": 0}},
	}); code >= 300 {
		t.Fatalf("save: %d %v", code, body)
	}
	_, body := h.call(t, "POST", "/pipelines/shop/release", map[string]any{"type": "manual", "user": "jane"})
	id := strings.TrimPrefix(body["ref"].(string), "/pipelines/")

	// What the rule delivered, in the order it was put.
	var delivered []events.CloudWatchEvent
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var ev events.CloudWatchEvent
			if err := json.Unmarshal([]byte(*m.Body), &ev); err != nil {
				t.Fatalf("not an EventBridge event: %s", *m.Body)
			}
			delivered = append(delivered, ev)
		}
		if n := len(delivered); n > 0 && delivered[n-1].DetailType == notify.PipelineComplete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bus delivered %d events and no pipeline.complete", len(delivered))
		}
	}
	var types []string
	for _, ev := range delivered {
		var d notify.Event
		_ = json.Unmarshal(ev.Detail, &d)
		run := string(d.ExecutionID) == id || (ev.DetailType == notify.PipelineSaved && d.User == "anonymous")
		if ev.Source != "gennaker" || !run || d.Type != ev.DetailType {
			t.Errorf("event %s %s: %s", ev.Source, ev.DetailType, ev.Detail)
		}
		types = append(types, ev.DetailType)
	}
	if got := strings.Join(types, ","); got != "pipeline.saved,pipeline.starting,stage.starting,stage.complete,pipeline.complete" {
		t.Errorf("the bus delivered %s", got)
	}

	// The notifier function, handed each event twice.
	n := &notify.Notifier{Store: h.store, Senders: notify.NewSenders(notify.Config{}, http.DefaultClient, nil, nil), Exclusive: true}
	handle := notify.HandleEventBridge(n)
	for range 2 {
		for _, ev := range delivered {
			if err := handle(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(received, ",") != "pipeline.complete jane" {
		t.Errorf("the receiver got %v", received)
	}
	e := h.look(t, "/pipelines/"+id)
	if d, _ := e["notificationDeliveries"].([]any); len(d) != 1 || d[0].(map[string]any)["status"] != "sent" {
		t.Errorf("deliveries recorded on the run: %v", e["notificationDeliveries"])
	}
}
