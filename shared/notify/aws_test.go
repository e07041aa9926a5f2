package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/mototest"
	"github.com/gennaker/gennaker/shared/notify"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/embedded"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "gennaker.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// queue makes an SQS queue and returns its URL and ARN.
func queue(t *testing.T, cfg aws.Config, name string) (string, string) {
	t.Helper()
	ctx := context.Background()
	q := sqs.NewFromConfig(cfg)
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	return *out.QueueUrl, attrs.Attributes["QueueArn"]
}

// receive reads n messages from the queue, failing after a while.
func receive(t *testing.T, cfg aws.Config, url string, n int) []string {
	t.Helper()
	q := sqs.NewFromConfig(cfg)
	var bodies []string
	deadline := time.Now().Add(20 * time.Second)
	for len(bodies) < n {
		out, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, *m.Body)
			_, _ = q.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages arrived, want %d: %v", len(bodies), n, bodies)
		}
	}
	return bodies
}

var failedEvent = notify.Event{
	Key: "01RUN/01STAGE/1/pipeline.failed", Type: notify.PipelineFailed, Time: 1796686312422,
	Application: "shop", Pipeline: "deploy", ExecutionID: "01RUN", Status: model.StatusTerminal,
	User: "alice", FailedStage: "Deploy", Error: "server group never became healthy",
	Link: "https://deck.example.com/#/applications/shop/executions/details/01RUN",
}

func job(typ, address string) notify.Job {
	subject, text := notify.Describe(failedEvent)
	return notify.Job{ID: failedEvent.Key + "#p0", Event: failedEvent, Type: typ, Address: address, Subject: subject, Text: text}
}

// An sns notification publishes the message and the event to the topic;
// a subscriber (an SQS queue) receives it.
func TestSNSNotificationReachesTheTopicsSubscribers(t *testing.T) {
	srv := mototest.Shared(t)
	cfg := srv.Config(srv.NewAccount())
	ctx := context.Background()
	topic, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("deploys")})
	if err != nil {
		t.Fatal(err)
	}
	url, arn := queue(t, cfg, "deploys-inbox")
	if _, err := sns.NewFromConfig(cfg).Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(arn),
		Attributes: map[string]string{"RawMessageDelivery": "true"},
	}); err != nil {
		t.Fatal(err)
	}
	n := &notify.Notifier{Store: openStore(t), Senders: notify.NewSendersAWS(notify.Config{}, http.DefaultClient, cfg)}
	for _, typ := range []string{"sns", "pubsub"} {
		d := n.Deliver(ctx, notify.Job{ID: typ, Event: failedEvent, Type: typ, Address: *topic.TopicArn, Subject: "s", Text: "t"})
		if d.Status != "sent" {
			t.Fatalf("%s: %+v", typ, d)
		}
	}
	for _, body := range receive(t, cfg, url, 2) {
		var m notify.SNSMessage
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("not the message JSON: %s", body)
		}
		if m.Event.Key != failedEvent.Key || m.Event.FailedStage != "Deploy" || m.Text != "t" {
			t.Errorf("message %s", body)
		}
	}
	// A topic that does not exist fails at once, with AWS's reason.
	d := n.Deliver(ctx, notify.Job{ID: "missing", Event: failedEvent, Type: "sns", Address: "arn:aws:sns:us-east-1:123456789012:nope"})
	if d.Status != "failed" || d.Attempts != 1 || !strings.Contains(d.Reason, "NotFound") {
		t.Errorf("delivery to a missing topic: %+v", d)
	}
}

// With notifications.email.ses, email goes through SES v2 from the
// configured sender.
func TestEmailThroughSES(t *testing.T) {
	srv := mototest.Shared(t)
	cfg := srv.Config(srv.NewAccount())
	ctx := context.Background()
	if _, err := sesv2.NewFromConfig(cfg).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("gennaker@example.com")}); err != nil {
		t.Fatal(err)
	}
	n := &notify.Notifier{Store: openStore(t), Senders: notify.NewSendersAWS(notify.Config{Email: notify.Email{From: "gennaker@example.com", SES: true}}, http.DefaultClient, cfg)}
	j := job("email", "ops@example.com, oncall@example.com")
	if d := n.Deliver(ctx, j); d.Status != "sent" {
		t.Fatalf("%+v", d)
	}
	resp, err := http.Get(srv.Endpoint + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var data struct {
		SES struct {
			Message []struct {
				Body         string `json:"body"`
				Subject      string `json:"subject"`
				Source       string `json:"source"`
				Destinations struct {
					ToAddresses []string
				} `json:"destinations"`
			}
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range data.SES.Message {
		if m.Subject != j.Subject {
			continue
		}
		found = true
		if m.Source != "gennaker@example.com" || !slices.Equal(m.Destinations.ToAddresses, []string{"ops@example.com", "oncall@example.com"}) ||
			!strings.Contains(m.Body, "failed at stage Deploy: server group never became healthy") || !strings.Contains(m.Body, failedEvent.Link) {
			t.Errorf("sent %+v", m)
		}
	}
	if !found {
		t.Fatalf("SES sent no mail with subject %q", j.Subject)
	}
}

// Lifecycle events put on the stack's bus reach a rule's target (an SQS
// queue) with source gennaker, the type as detail-type and the event as
// detail.
func TestLifecycleEventsOnEventBridge(t *testing.T) {
	srv := mototest.Shared(t)
	cfg := srv.Config(srv.NewAccount())
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("gennaker-events")}); err != nil {
		t.Fatal(err)
	}
	url, arn := queue(t, cfg, "failures")
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String("failures"), EventBusName: aws.String("gennaker-events"),
		EventPattern: aws.String(`{"source": ["gennaker"], "detail-type": ["pipeline.failed", "stage.failed"]}`),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String("failures"), EventBusName: aws.String("gennaker-events"),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(arn)}},
	}); err != nil {
		t.Fatal(err)
	}
	starting := failedEvent
	starting.Key, starting.Type, starting.Status = "01RUN/pipeline/1/pipeline.starting", notify.PipelineStarting, model.StatusRunning
	var many []notify.Event
	for i := range 11 {
		e := starting
		e.Key += string(rune('a' + i))
		many = append(many, e)
	}
	pub := notify.NewEventBridge(cfg, "gennaker-events")
	if err := pub.Publish(ctx, append(many, failedEvent)); err != nil {
		t.Fatal(err)
	}
	bodies := receive(t, cfg, url, 1)
	var got struct {
		Source     string       `json:"source"`
		DetailType string       `json:"detail-type"`
		Detail     notify.Event `json:"detail"`
	}
	if err := json.Unmarshal([]byte(bodies[0]), &got); err != nil {
		t.Fatal(err)
	}
	if got.Source != "gennaker" || got.DetailType != "pipeline.failed" || got.Detail != failedEvent {
		t.Errorf("the rule delivered %s", bodies[0])
	}
	// Only the matching event arrives.
	if more, _ := sqs.NewFromConfig(cfg).ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1}); len(more.Messages) != 0 {
		t.Errorf("the rule delivered events it does not match: %v", *more.Messages[0].Body)
	}
}
