package functions_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// runtimeAPI serves the Lambda Runtime API (the /2018-06-01/runtime
// endpoints a custom runtime polls) on a loopback port, for one function
// process: it hands out queued events on /next and records what the
// function answers, with the times a cold start is measured by.
type runtimeAPI struct {
	addr string
	srv  *http.Server

	mu     sync.Mutex
	events chan invocation
	nexts  []time.Time // when each /next arrived
	given  map[string]time.Time
	done   chan result
}

type invocation struct {
	id      string
	payload []byte
}

type result struct {
	id       string
	body     []byte
	failed   bool
	took     time.Duration // from handing the event out to the answer
	initFail bool
}

func newRuntimeAPI() (*runtimeAPI, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &runtimeAPI{addr: l.Addr().String(), events: make(chan invocation, 8), given: map[string]time.Time{}, done: make(chan result, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", r.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, req *http.Request) { r.answer(w, req, false) })
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", func(w http.ResponseWriter, req *http.Request) { r.answer(w, req, true) })
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.done <- result{body: body, failed: true, initFail: true}
		w.WriteHeader(http.StatusAccepted)
	})
	r.srv = &http.Server{Handler: mux}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

func (r *runtimeAPI) close() { _ = r.srv.Close() }

// invoke queues an event for the function's next /next.
func (r *runtimeAPI) invoke(id string, payload any) {
	b, _ := json.Marshal(payload)
	r.events <- invocation{id: id, payload: b}
}

func (r *runtimeAPI) next(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.nexts = append(r.nexts, time.Now())
	r.mu.Unlock()
	select {
	case ev := <-r.events:
		r.mu.Lock()
		r.given[ev.id] = time.Now()
		r.mu.Unlock()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", ev.id)
		h.Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:coldstart")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(ev.payload)
	case <-req.Context().Done():
	}
}

func (r *runtimeAPI) answer(w http.ResponseWriter, req *http.Request, failed bool) {
	id := req.PathValue("id")
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	took := time.Since(r.given[id])
	r.mu.Unlock()
	r.done <- result{id: id, body: body, failed: failed, took: took}
	w.WriteHeader(http.StatusAccepted)
}

// firstNext is when the function first asked for an event, or zero.
func (r *runtimeAPI) firstNext() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.nexts) == 0 {
		return time.Time{}
	}
	return r.nexts[0]
}

// waitNext waits for the function's first /next.
func (r *runtimeAPI) waitNext(timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		if t := r.firstNext(); !t.IsZero() {
			return t, nil
		}
		select {
		case res := <-r.done:
			if res.initFail {
				return time.Time{}, fmt.Errorf("the function failed to start: %s", strings.TrimSpace(string(res.body)))
			}
		default:
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("no /next within %s", timeout)
		}
		time.Sleep(time.Millisecond)
	}
}
