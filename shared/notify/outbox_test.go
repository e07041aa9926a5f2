package notify_test

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

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/notify"
	"github.com/gennaker/gennaker/shared/store"
)

// newRun stores a run of shop's deploy pipeline that notifies url of its
// start, with one stage.
func newRun(t *testing.T, s store.Store, url string) *model.Execution {
	t.Helper()
	ctx := context.Background()
	if err := s.Applications().Put(ctx, &model.Application{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	e := &model.Execution{
		ID: "01RUN", Type: "PIPELINE", Application: "shop", Name: "deploy", Status: model.StatusNotStarted,
		Trigger:       model.ExecutionTrigger{Type: "manual", User: "alice"},
		Notifications: []map[string]any{{"type": "webhook", "address": url, "when": []any{"pipeline.starting"}}},
		Stages:        []model.StageExecution{{ID: "01STAGE", RefID: "1", Type: "wait", Name: "Soak", Status: model.StatusNotStarted}},
		Orchestration: model.Orchestration{Attempt: 1},
	}
	if err := s.Executions().Create(ctx, e); err != nil {
		t.Fatal(err)
	}
	h, err := s.Executions().GetHeader(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type webhookLog struct {
	mu   sync.Mutex
	keys []string
}

func (w *webhookLog) server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev notify.Event
		_ = json.Unmarshal(b, &ev)
		w.mu.Lock()
		w.keys = append(w.keys, ev.Key)
		w.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (w *webhookLog) got() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.keys...)
}

// startBus runs a bus as `gennaker up` does at start, until it is idle.
func startBus(t *testing.T, s store.Store) {
	t.Helper()
	bus := notify.NewBus(&notify.Notifier{Store: s, Senders: notify.NewSenders(notify.Config{}, http.DefaultClient, nil, nil)})
	if err := bus.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := bus.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	_ = bus.Close()
}

// A process that dies after a status change is written and before its
// event is published leaves the event in the run's record; the next start
// sends its notification, and the start after that does not send it again.
func TestEventOfAStatusChangeSurvivesDeathBeforePublishing(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	log := &webhookLog{}
	e := newRun(t, s, log.server(t).URL)

	// The orchestrator's write, through the hook, and then nothing more:
	// the publisher is never called.
	hook := &notify.Outbox{Store: s, LinkBase: "https://deck.example.com"}
	e.Status, e.StartTime = model.StatusRunning, 1
	if _, err := hook.Header(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := s.Executions().UpdateHeader(ctx, e); err != nil {
		t.Fatal(err)
	}
	// A retried step writes the same status again: no second event.
	again, _ := s.Executions().GetHeader(ctx, e.ID)
	if publish, err := hook.Header(ctx, again); err != nil || publish != nil {
		t.Fatalf("a second write of RUNNING recorded another event (%v)", err)
	}
	if n := len(again.Orchestration.Outbox); n != 1 {
		t.Fatalf("outbox holds %d events, want 1", n)
	}

	startBus(t, s)
	if got := log.got(); len(got) != 1 || got[0] != "01RUN/pipeline/1/pipeline.starting" {
		t.Fatalf("after the first restart the receiver got %v", got)
	}
	startBus(t, s)
	if got := log.got(); len(got) != 1 {
		t.Fatalf("after the second restart the receiver got %v", got)
	}
	// And the audit log has it once.
	events, err := notify.Audit(ctx, s.Records(), notify.AuditFilter{Application: "shop"})
	if err != nil || len(events) != 1 || events[0].User != "alice" || !strings.HasSuffix(events[0].Link, "/executions/details/01RUN") {
		t.Fatalf("audit: %+v %v", events, err)
	}
}

// A stage that ran within one step is written SUCCEEDED without RUNNING
// ever being stored; it still announces its start, before its end.
func TestStageEndedInOneWriteAnnouncesItsStartFirst(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	e := newRun(t, s, "http://127.0.0.1:1")
	st, err := s.Executions().GetStage(ctx, e.ID, "01STAGE")
	if err != nil {
		t.Fatal(err)
	}
	st.Status = model.StatusSucceeded
	if _, err := (&notify.Outbox{Store: s}).Stage(ctx, e.ID, st); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, raw := range st.Orchestration.Outbox {
		var ev notify.Event
		_ = json.Unmarshal(raw, &ev)
		types = append(types, ev.Type)
	}
	if strings.Join(types, ",") != "stage.starting,stage.complete" {
		t.Errorf("events %v", types)
	}
}
