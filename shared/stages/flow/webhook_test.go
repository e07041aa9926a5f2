package flow

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"

	"github.com/gennaker/gennaker/shared/model"
)

// hookServer is a real HTTP server that records what it was sent.
type hookServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	method, path string
	header       http.Header
	body         string
}

// newHookServer serves handle, which gets how many requests with the same
// method and path came before.
func newHookServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, before int)) *hookServer {
	t.Helper()
	s := &hookServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		before := 0
		for _, p := range s.seen {
			if p.method == r.Method && p.path == r.URL.Path {
				before++
			}
		}
		s.seen = append(s.seen, seenRequest{r.Method, r.URL.Path, r.Header.Clone(), string(body)})
		s.mu.Unlock()
		handle(w, r, before)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *hookServer) requests() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRequest(nil), s.seen...)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func webhookRun(ctx map[string]any) *stages.Run {
	run := stagestest.NewRun(ctx)
	run.Services.HTTP = &http.Client{Timeout: 5 * time.Second}
	return run
}

func webhookOf(r stages.Result) map[string]any {
	w, _ := r.Context["webhook"].(map[string]any)
	return w
}

func TestWebhookStageValidate(t *testing.T) {
	tests := []struct {
		name  string
		stage string
		want  []string
	}{
		{"fire and forget", `{"refId":"1","type":"webhook","url":"https://ci.example.com/hooks","payload":{"a":1}}`, nil},
		{"monitored", `{"refId":"1","type":"webhook","url":"https://ci.example.com/jobs","method":"post","waitForCompletion":true,"statusUrlResolution":"webhookResponse","statusUrlJsonPath":"$.links.self","statusJsonPath":"$.status","successStatuses":"SUCCESS","customHeaders":{"Authorization":"Bearer x","X-Tags":["a","b"]},"failFastStatusCodes":[409],"retryStatusCodes":[404]}`, nil},
		{"expressions everywhere", `{"refId":"1","type":"webhook","url":"${parameters.hook}","method":"${parameters.method}","waitForCompletion":"${parameters.wait}","customHeaders":"${parameters.headers}"}`, nil},
		{"no url", `{"refId":"1","type":"webhook"}`, []string{"url: is required"}},
		{"not an http url", `{"refId":"1","type":"webhook","url":"ftp://files"}`, []string{`url: "ftp://files" is not an http or https URL`}},
		{"bad method", `{"refId":"1","type":"webhook","url":"https://x.example","method":"FETCH"}`, []string{`method: "FETCH" is not an HTTP method`}},
		{"bad resolution", `{"refId":"1","type":"webhook","url":"https://x.example","waitForCompletion":true,"statusUrlResolution":"guess"}`, []string{`statusUrlResolution: "guess" is not one of`}},
		{"webhookResponse without a path", `{"refId":"1","type":"webhook","url":"https://x.example","waitForCompletion":true,"statusUrlResolution":"webhookResponse"}`, []string{"statusUrlJsonPath: is required"}},
		{"unsupported JSONPath", `{"refId":"1","type":"webhook","url":"https://x.example","waitForCompletion":true,"statusJsonPath":"$..status"}`, []string{"statusJsonPath: JSONPath \"$..status\": deep scan"}},
		{"status codes not numbers", `{"refId":"1","type":"webhook","url":"https://x.example","failFastStatusCodes":["conflict"]}`, []string{"failFastStatusCodes[0]: must be a number"}},
		{"header of the wrong shape", `{"refId":"1","type":"webhook","url":"https://x.example","customHeaders":{"X-A":{"b":1}}}`, []string{"customHeaders.X-A: must be a string or a list of strings"}},
		{"monitorOnly without waiting", `{"refId":"1","type":"webhook","url":"https://x.example","monitorOnly":true}`, []string{"monitorOnly: needs waitForCompletion"}},
		{"monitorOnly with a status endpoint", `{"refId":"1","type":"webhook","monitorOnly":true,"waitForCompletion":true,"statusEndpoint":"https://x.example/status"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stagestest.CheckProblems(t, WebhookStage{}.Validate(stagestest.StageFromJSON(t, tt.stage)), tt.want...)
		})
	}
}

func TestWebhookStagePlan(t *testing.T) {
	tests := []struct {
		name    string
		ctx     map[string]any
		want    []string
		wantErr bool
	}{
		{"send only", map[string]any{"url": "https://x.example"}, []string{"CreateWebhook"}, false},
		{"send and monitor", map[string]any{"waitForCompletion": true}, []string{"CreateWebhook", "MonitorWebhook"}, false},
		{"monitor only", map[string]any{"waitForCompletion": "true", "monitorOnly": true}, []string{"MonitorWebhook"}, false},
		{"monitor only without waiting", map[string]any{"monitorOnly": true}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WebhookStage{}.Plan(&model.StageExecution{Context: tt.ctx})
			if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("plan = %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// The server answers 503 twice, then 200: the task retries with a backoff
// and succeeds on the third request, having sent the payload and headers.
func TestCreateWebhookRetriesUnavailableServer(t *testing.T) {
	srv := newHookServer(t, func(w http.ResponseWriter, r *http.Request, before int) {
		if before < 2 {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"accepted": true, "id": 42})
	})
	run := webhookRun(map[string]any{
		"url":           srv.URL + "/hooks/deploy",
		"payload":       map[string]any{"version": "1.2", "app": "shop"},
		"customHeaders": map[string]any{"Authorization": "Bearer t0k3n", "X-Tags": []any{"a", "b"}, "X-Spinnaker-User": "mallory"},
	})
	var statuses []model.Status
	var backoffs []time.Duration
	for range 3 {
		r, err := execute(CreateWebhookTask{}, run)
		if err != nil {
			t.Fatal(err)
		}
		stagestest.Apply(run, r)
		statuses = append(statuses, r.Status)
		backoffs = append(backoffs, r.Backoff)
	}
	if want := []model.Status{model.StatusRunning, model.StatusRunning, model.StatusSucceeded}; !reflect.DeepEqual(statuses, want) {
		t.Fatalf("statuses = %v, want %v", statuses, want)
	}
	if backoffs[0] <= 0 || backoffs[1] <= backoffs[0] {
		t.Errorf("backoffs = %v, want positive and growing", backoffs)
	}
	webhook := run.Stage.Context["webhook"].(map[string]any)
	if webhook["statusCodeValue"] != 200.0 || webhook["statusCode"] != "OK" {
		t.Errorf("webhook = %v, want statusCode OK / statusCodeValue 200", webhook)
	}
	if body := webhook["body"].(map[string]any); body["id"] != 42.0 {
		t.Errorf("webhook.body = %v, want the parsed JSON response", body)
	}
	if _, stale := webhook["error"]; stale {
		t.Errorf("webhook.error = %v left over from the retries", webhook["error"])
	}
	reqs := srv.requests()
	if len(reqs) != 3 {
		t.Fatalf("server got %d requests, want 3", len(reqs))
	}
	last := reqs[2]
	var sent map[string]any
	if err := json.Unmarshal([]byte(last.body), &sent); err != nil || sent["version"] != "1.2" {
		t.Errorf("payload = %s, want the JSON payload", last.body)
	}
	if last.method != http.MethodPost || last.header.Get("Content-Type") != "application/json" {
		t.Errorf("sent %s with Content-Type %q, want POST application/json", last.method, last.header.Get("Content-Type"))
	}
	if last.header.Get("Authorization") != "Bearer t0k3n" || !reflect.DeepEqual(last.header.Values("X-Tags"), []string{"a", "b"}) {
		t.Errorf("headers = %v, want the custom headers", last.header)
	}
	if last.header.Get("X-Spinnaker-User") != "" {
		t.Error("a stage set X-Spinnaker-User, which must never be forwarded")
	}
}

func TestCreateWebhookTask(t *testing.T) {
	tests := []struct {
		name        string
		handle      func(w http.ResponseWriter, r *http.Request, before int)
		ctx         map[string]any
		task        CreateWebhookTask
		runs        int // executions, merging context between them
		wantStatus  model.Status
		wantBackoff time.Duration
		wantError   string
		wantSent    int
		check       func(t *testing.T, webhook map[string]any, sent []seenRequest)
	}{
		{
			name: "bad request fails at once",
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
				http.Error(w, `{"error":"missing field version"}`, http.StatusBadRequest)
			},
			runs:       1,
			wantStatus: model.StatusTerminal,
			wantError:  `returned 400 Bad Request: {"error":"missing field version"}`,
			wantSent:   1,
			check: func(t *testing.T, webhook map[string]any, _ []seenRequest) {
				if webhook["statusCodeValue"] != 400.0 || webhook["body"].(map[string]any)["error"] != "missing field version" {
					t.Errorf("webhook = %v, want the 400 and its body", webhook)
				}
				if !strings.Contains(fmt.Sprint(webhook["error"]), "400 Bad Request") {
					t.Errorf("webhook.error = %v", webhook["error"])
				}
			},
		},
		{
			name: "too many requests waits as told",
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			runs:        1,
			wantStatus:  model.StatusRunning,
			wantBackoff: 7 * time.Second,
			wantSent:    1,
		},
		{
			name: "gives up after its attempts",
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
				http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			},
			task:       CreateWebhookTask{MaxAttempts: 3},
			runs:       3,
			wantStatus: model.StatusTerminal,
			wantError:  "failed after 3 attempts; last status 503 Service Unavailable: down for maintenance",
			wantSent:   3,
		},
		{
			name:       "gateway timeout fails fast by default",
			handle:     func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusGatewayTimeout) },
			runs:       1,
			wantStatus: model.StatusTerminal,
			wantError:  "returned 504 Gateway Timeout, which failFastStatusCodes lists",
			wantSent:   1,
		},
		{
			name:        "gateway timeout retried when failFastStatusCodes is emptied",
			handle:      func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusGatewayTimeout) },
			ctx:         map[string]any{"failFastStatusCodes": []any{}},
			runs:        1,
			wantStatus:  model.StatusRunning,
			wantBackoff: 2 * time.Second,
			wantSent:    1,
		},
		{
			name:       "configured fail-fast code",
			handle:     func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusBadGateway) },
			ctx:        map[string]any{"failFastStatusCodes": []any{502.0}},
			runs:       1,
			wantStatus: model.StatusTerminal,
			wantError:  "502 Bad Gateway, which failFastStatusCodes lists",
			wantSent:   1,
		},
		{
			name: "configured retry code",
			handle: func(w http.ResponseWriter, _ *http.Request, before int) {
				if before == 0 {
					w.WriteHeader(http.StatusConflict)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			},
			ctx:        map[string]any{"webhookRetryStatusCodes": []any{409.0}},
			runs:       2,
			wantStatus: model.StatusSucceeded,
			wantSent:   2,
		},
		{
			name: "text body, PUT with a text payload",
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = io.WriteString(w, "queued")
			},
			ctx:  map[string]any{"method": "put", "payload": "deploy shop 1.2"},
			runs: 1, wantStatus: model.StatusSucceeded, wantSent: 1,
			check: func(t *testing.T, webhook map[string]any, sent []seenRequest) {
				if webhook["body"] != "queued" {
					t.Errorf("webhook.body = %v, want the text", webhook["body"])
				}
				if sent[0].method != http.MethodPut || sent[0].body != "deploy shop 1.2" || !strings.HasPrefix(sent[0].header.Get("Content-Type"), "text/plain") {
					t.Errorf("sent %s %q as %s, want PUT with the text payload", sent[0].method, sent[0].body, sent[0].header.Get("Content-Type"))
				}
			},
		},
		{
			name: "a large body is cut down before it is stored",
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
				_, _ = io.WriteString(w, strings.Repeat("x", 200_000))
			},
			runs: 1, wantStatus: model.StatusSucceeded, wantSent: 1,
			check: func(t *testing.T, webhook map[string]any, _ []seenRequest) {
				body := webhook["body"].(string)
				if len(body) > 70_000 || !strings.Contains(body, "truncated: the body has 200000 bytes") {
					t.Errorf("stored body has %d bytes, want at most ~64 KiB with a note", len(body))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newHookServer(t, tt.handle)
			ctx := map[string]any{"url": srv.URL + "/hook"}
			for k, v := range tt.ctx {
				ctx[k] = v
			}
			run := webhookRun(ctx)
			var r stages.Result
			for range tt.runs {
				var err error
				if r, err = execute(tt.task, run); err != nil {
					t.Fatal(err)
				}
				stagestest.Apply(run, r)
			}
			if tt.wantError != "" {
				stagestest.CheckFailure(t, r, tt.wantStatus, tt.wantError)
			} else if r.Status != tt.wantStatus || r.Backoff != tt.wantBackoff {
				t.Fatalf("got %s after %v, want %s after %v (errors %q)", r.Status, r.Backoff, tt.wantStatus, tt.wantBackoff, stagestest.ErrorsOf(r))
			}
			sent := srv.requests()
			if len(sent) != tt.wantSent {
				t.Errorf("server got %d requests, want %d", len(sent), tt.wantSent)
			}
			if tt.check != nil {
				tt.check(t, webhookOf(r), sent)
			}
		})
	}
}

// Nothing listens: the request never left, so it is safe to send again.
func TestCreateWebhookRetriesRefusedConnection(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	r, err := execute(CreateWebhookTask{}, webhookRun(map[string]any{"url": url}))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != model.StatusRunning || r.Backoff <= 0 {
		t.Fatalf("got %s after %v, want RUNNING with a backoff", r.Status, r.Backoff)
	}
	if msg := fmt.Sprint(webhookOf(r)["error"]); !strings.Contains(msg, "will retry") || !strings.Contains(msg, url) {
		t.Errorf("webhook.error = %q, want it to name the url and say it will retry", msg)
	}
}

// runWebhookStage plans the stage and runs its tasks as the orchestrator
// would, without sleeping, until one ends or maxSteps executions pass.
func runWebhookStage(t *testing.T, run *stages.Run, maxSteps int) (stages.Result, []string) {
	t.Helper()
	reg := stages.NewRegistry()
	RegisterFlowControl(reg)
	names, err := WebhookStage{}.Plan(run.Stage)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	var r stages.Result
	for _, name := range names {
		task, err := reg.Task(name)
		if err != nil {
			t.Fatal(err)
		}
		run.Stage.Orchestration.TaskStartTime = run.Now.UnixMilli()
		for {
			if maxSteps--; maxSteps < 0 {
				t.Fatalf("stage still running after %v", trail)
			}
			if r, err = execute(task, run); err != nil {
				t.Fatal(err)
			}
			stagestest.Apply(run, r)
			trail = append(trail, name+":"+string(r.Status))
			if r.Status != model.StatusRunning {
				break
			}
			run.Now = run.Now.Add(r.Backoff)
		}
		if r.Status != model.StatusSucceeded {
			break
		}
	}
	return r, trail
}

func TestWebhookStatusPolling(t *testing.T) {
	tests := []struct {
		name       string
		handle     func(base string) func(w http.ResponseWriter, r *http.Request, before int)
		ctx        map[string]any
		wantStatus model.Status
		wantTrail  string
		wantError  string
		check      func(t *testing.T, ctx map[string]any)
	}{
		{
			name: "getMethod polls the webhook url",
			handle: func(string) func(http.ResponseWriter, *http.Request, int) {
				return func(w http.ResponseWriter, r *http.Request, before int) {
					switch {
					case r.Method == http.MethodPost:
						writeJSON(w, http.StatusAccepted, map[string]any{"status": "QUEUED"})
					case before < 2:
						writeJSON(w, http.StatusOK, map[string]any{"status": "running", "message": fmt.Sprintf("step %d of 3", before+1)})
					default:
						writeJSON(w, http.StatusOK, map[string]any{"status": "success", "message": "done"})
					}
				}
			},
			ctx:        map[string]any{"statusUrlResolution": "getMethod", "statusJsonPath": "$.status", "progressJsonPath": "message", "successStatuses": "SUCCESS", "terminalStatuses": "FAILED"},
			wantStatus: model.StatusSucceeded,
			wantTrail:  "CreateWebhook:SUCCEEDED MonitorWebhook:RUNNING MonitorWebhook:RUNNING MonitorWebhook:SUCCEEDED",
			check: func(t *testing.T, ctx map[string]any) {
				monitor := ctx["webhook"].(map[string]any)["monitor"].(map[string]any)
				if monitor["progressMessage"] != "done" || monitor["statusCodeValue"] != 200.0 {
					t.Errorf("webhook.monitor = %v, want progress \"done\" and status 200", monitor)
				}
				if ctx["webhook"].(map[string]any)["statusCodeValue"] != 202.0 {
					t.Error("the monitor dropped the webhook response recorded by CreateWebhook")
				}
			},
		},
		{
			name: "locationHeader follows a relative Location",
			handle: func(string) func(http.ResponseWriter, *http.Request, int) {
				return func(w http.ResponseWriter, r *http.Request, before int) {
					switch {
					case r.Method == http.MethodPost && r.URL.Path == "/jobs":
						w.Header().Set("Location", "/jobs/42")
						w.WriteHeader(http.StatusCreated)
					case r.URL.Path == "/jobs/42" && before == 0:
						writeJSON(w, http.StatusOK, map[string]any{"state": map[string]any{"phase": "building"}})
					case r.URL.Path == "/jobs/42":
						writeJSON(w, http.StatusOK, map[string]any{"state": map[string]any{"phase": "Done"}})
					default:
						http.NotFound(w, r)
					}
				}
			},
			ctx:        map[string]any{"statusUrlResolution": "locationHeader", "statusJsonPath": "$.state.phase", "successStatuses": "done"},
			wantStatus: model.StatusSucceeded,
			wantTrail:  "CreateWebhook:SUCCEEDED MonitorWebhook:RUNNING MonitorWebhook:SUCCEEDED",
			check: func(t *testing.T, ctx map[string]any) {
				if s := fmt.Sprint(ctx["statusEndpoint"]); !strings.HasSuffix(s, "/jobs/42") || !strings.HasPrefix(s, "http://") {
					t.Errorf("statusEndpoint = %s, want the absolute /jobs/42", s)
				}
			},
		},
		{
			name: "webhookResponse reads the status url from the body",
			handle: func(base string) func(http.ResponseWriter, *http.Request, int) {
				return func(w http.ResponseWriter, r *http.Request, before int) {
					switch r.URL.Path {
					case "/jobs":
						writeJSON(w, http.StatusOK, map[string]any{"links": map[string]any{"status-url": base + "/status/7"}})
					case "/status/7":
						writeJSON(w, http.StatusOK, map[string]any{"items": []any{map[string]any{"status": "FAILED", "reason": "tests failed"}}})
					}
				}
			},
			ctx:        map[string]any{"statusUrlResolution": "webhookResponse", "statusUrlJsonPath": "$.links['status-url']", "statusJsonPath": "$.items[0].status", "successStatuses": "SUCCEEDED", "terminalStatuses": "FAILED, ERROR"},
			wantStatus: model.StatusTerminal,
			wantTrail:  "CreateWebhook:SUCCEEDED MonitorWebhook:TERMINAL",
			wantError:  `reported status "FAILED", which terminalStatuses lists`,
		},
		{
			name: "canceled remotely",
			handle: func(string) func(http.ResponseWriter, *http.Request, int) {
				return func(w http.ResponseWriter, r *http.Request, _ int) {
					writeJSON(w, http.StatusOK, map[string]any{"status": "ABORTED"})
				}
			},
			ctx:        map[string]any{"statusJsonPath": "status", "successStatuses": "OK", "canceledStatuses": "ABORTED"},
			wantStatus: model.StatusCanceled,
			wantTrail:  "CreateWebhook:SUCCEEDED MonitorWebhook:CANCELED",
			wantError:  `reported status "ABORTED", which canceledStatuses lists`,
		},
		{
			name: "percent complete",
			handle: func(string) func(http.ResponseWriter, *http.Request, int) {
				return func(w http.ResponseWriter, r *http.Request, before int) {
					if r.Method == http.MethodPost {
						w.WriteHeader(http.StatusOK)
						return
					}
					writeJSON(w, http.StatusOK, map[string]any{"progress": []any{40, 100}[min(before, 1)]})
				}
			},
			ctx:        map[string]any{"statusJsonPath": "$.progress"},
			wantStatus: model.StatusSucceeded,
			wantTrail:  "CreateWebhook:SUCCEEDED MonitorWebhook:RUNNING MonitorWebhook:SUCCEEDED",
			check: func(t *testing.T, ctx map[string]any) {
				if got := ctx["webhook"].(map[string]any)["monitor"].(map[string]any)["percentComplete"]; got != 100.0 {
					t.Errorf("percentComplete = %v, want 100", got)
				}
			},
		},
		{
			name: "status endpoint briefly unavailable",
			handle: func(string) func(http.ResponseWriter, *http.Request, int) {
				return func(w http.ResponseWriter, r *http.Request, before int) {
					switch {
					case r.Method == http.MethodPost:
						w.WriteHeader(http.StatusOK)
					case before == 0:
						w.WriteHeader(http.StatusBadGateway)
					default:
						writeJSON(w, http.StatusOK, map[string]any{"status": "SUCCESS"})
					}
				}
			},
			ctx:        map[string]any{"statusJsonPath": "$.status", "successStatuses": "SUCCESS"},
			wantStatus: model.StatusSucceeded,
			wantTrail:  "CreateWebhook:SUCCEEDED MonitorWebhook:RUNNING MonitorWebhook:SUCCEEDED",
			check: func(t *testing.T, ctx map[string]any) {
				past := ctx["webhook"].(map[string]any)["monitor"].(map[string]any)["pastStatusCodes"]
				if !reflect.DeepEqual(past, []any{502.0}) {
					t.Errorf("pastStatusCodes = %v, want [502]", past)
				}
			},
		},
		{
			name: "a per-status retry limit",
			handle: func(string) func(http.ResponseWriter, *http.Request, int) {
				return func(w http.ResponseWriter, r *http.Request, _ int) {
					if r.Method == http.MethodPost {
						w.WriteHeader(http.StatusOK)
						return
					}
					http.Error(w, "no such job yet", http.StatusNotFound)
				}
			},
			ctx:        map[string]any{"statusJsonPath": "$.status", "retries": map[string]any{"404": map[string]any{"maxAttempts": 2.0}}},
			wantStatus: model.StatusTerminal,
			wantTrail:  "CreateWebhook:SUCCEEDED MonitorWebhook:RUNNING MonitorWebhook:RUNNING MonitorWebhook:TERMINAL",
			wantError:  "returned 404 Not Found: no such job yet",
		},
		{
			name: "status missing from the response",
			handle: func(string) func(http.ResponseWriter, *http.Request, int) {
				return func(w http.ResponseWriter, _ *http.Request, _ int) {
					writeJSON(w, http.StatusOK, map[string]any{"state": "done"})
				}
			},
			ctx:        map[string]any{"statusJsonPath": "$.status", "successStatuses": "done"},
			wantStatus: model.StatusTerminal,
			wantTrail:  "CreateWebhook:SUCCEEDED MonitorWebhook:TERMINAL",
			wantError:  `cannot read the status at statusJsonPath: $.status: $ has no "status"`,
		},
		{
			name: "no status path: the first good answer will do",
			handle: func(string) func(http.ResponseWriter, *http.Request, int) {
				return func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusOK) }
			},
			wantStatus: model.StatusSucceeded,
			wantTrail:  "CreateWebhook:SUCCEEDED MonitorWebhook:SUCCEEDED",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *hookServer
			var base string
			srv = newHookServer(t, func(w http.ResponseWriter, r *http.Request, before int) { tt.handle(base)(w, r, before) })
			base = srv.URL
			ctx := map[string]any{"url": srv.URL + "/jobs", "waitForCompletion": true}
			for k, v := range tt.ctx {
				ctx[k] = v
			}
			run := webhookRun(ctx)
			r, trail := runWebhookStage(t, run, 10)
			if got := strings.Join(trail, " "); got != tt.wantTrail {
				t.Errorf("tasks went %s, want %s", got, tt.wantTrail)
			}
			stagestest.CheckFailure(t, r, tt.wantStatus, tt.wantError)
			if tt.check != nil {
				tt.check(t, run.Stage.Context)
			}
		})
	}
}

// A monitor-only stage polls a status endpoint it was given.
func TestMonitorOnlyWebhook(t *testing.T) {
	srv := newHookServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "SUCCESS"})
	})
	run := webhookRun(map[string]any{"monitorOnly": true, "waitForCompletion": true, "statusEndpoint": srv.URL + "/builds/9", "statusJsonPath": "$.status", "successStatuses": "SUCCESS"})
	r, trail := runWebhookStage(t, run, 3)
	if r.Status != model.StatusSucceeded || len(trail) != 1 {
		t.Fatalf("got %s via %v, want one successful poll", r.Status, trail)
	}
	if reqs := srv.requests(); len(reqs) != 1 || reqs[0].method != http.MethodGet || reqs[0].path != "/builds/9" {
		t.Errorf("requests = %v, want one GET /builds/9", reqs)
	}
}

// waitBeforeMonitor holds the first poll.
func TestMonitorWebhookWaitsBeforeMonitoring(t *testing.T) {
	srv := newHookServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusOK) })
	run := webhookRun(map[string]any{"url": srv.URL, "statusEndpoint": srv.URL + "/s", "waitForCompletion": true, "waitBeforeMonitor": "30"})
	run.Now = stagestest.T0.Add(10 * time.Second)
	r, err := execute(MonitorWebhookTask{}, run)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != model.StatusRunning || r.Backoff != 20*time.Second || len(srv.requests()) != 0 {
		t.Fatalf("got %s after %v with %d polls, want RUNNING for 20s without polling", r.Status, r.Backoff, len(srv.requests()))
	}
}

func TestWebhookCancel(t *testing.T) {
	tests := []struct {
		name       string
		ctx        map[string]any
		handle     func(w http.ResponseWriter, r *http.Request, before int)
		task       stages.Canceler
		wantSent   string
		wantRecord map[string]any
	}{
		{
			name:       "calls the cancel endpoint",
			ctx:        map[string]any{"cancelEndpoint": "/jobs/42", "cancelMethod": "delete", "cancelPayload": map[string]any{"reason": "pipeline canceled"}},
			handle:     func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusAccepted) },
			task:       MonitorWebhookTask{},
			wantSent:   `DELETE /jobs/42 {"reason":"pipeline canceled"}`,
			wantRecord: map[string]any{"statusCodeValue": 202.0},
		},
		{
			name:       "while the request is being retried",
			ctx:        map[string]any{"cancelEndpoint": "/jobs/42"},
			handle:     func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusOK) },
			task:       CreateWebhookTask{},
			wantSent:   "POST /jobs/42 ",
			wantRecord: map[string]any{"statusCodeValue": 200.0},
		},
		{
			name: "a failing cancel is recorded, not fatal",
			ctx:  map[string]any{"cancelEndpoint": "/jobs/42"},
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
				http.Error(w, "already finished", http.StatusConflict)
			},
			task:       MonitorWebhookTask{},
			wantSent:   "POST /jobs/42 ",
			wantRecord: map[string]any{"statusCodeValue": 409.0, "error": "returned 409 Conflict: already finished"},
		},
		{
			name:   "no cancel endpoint",
			ctx:    map[string]any{},
			handle: func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusOK) },
			task:   MonitorWebhookTask{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newHookServer(t, tt.handle)
			ctx := map[string]any{"url": srv.URL + "/jobs", "waitForCompletion": true}
			for k, v := range tt.ctx {
				if s, ok := v.(string); ok && strings.HasPrefix(s, "/") {
					v = srv.URL + s
				}
				ctx[k] = v
			}
			got, err := cancel(tt.task, webhookRun(ctx))
			if err != nil {
				t.Fatal(err)
			}
			reqs := srv.requests()
			if tt.wantSent == "" {
				if len(reqs) != 0 || got != nil {
					t.Fatalf("sent %v and recorded %v, want nothing", reqs, got)
				}
				return
			}
			if len(reqs) != 1 {
				t.Fatalf("server got %d requests, want 1", len(reqs))
			}
			if sent := reqs[0].method + " " + reqs[0].path + " " + strings.TrimSpace(reqs[0].body); strings.TrimSpace(sent) != strings.TrimSpace(tt.wantSent) {
				t.Errorf("sent %q, want %q", sent, tt.wantSent)
			}
			record := got["webhookCancel"].(map[string]any)
			for k, want := range tt.wantRecord {
				if s, ok := want.(string); ok {
					if !strings.Contains(fmt.Sprint(record[k]), s) {
						t.Errorf("webhookCancel.%s = %v, want it to contain %q", k, record[k], s)
					}
				} else if record[k] != want {
					t.Errorf("webhookCancel.%s = %v, want %v", k, record[k], want)
				}
			}
		})
	}
}

func TestHTTPStatusName(t *testing.T) {
	for code, want := range map[int]string{200: "OK", 201: "CREATED", 203: "NON_AUTHORITATIVE_INFORMATION", 413: "PAYLOAD_TOO_LARGE", 418: "I_AM_A_TEAPOT", 503: "SERVICE_UNAVAILABLE", 505: "HTTP_VERSION_NOT_SUPPORTED", 799: "799"} {
		if got := httpStatusName(code); got != want {
			t.Errorf("httpStatusName(%d) = %q, want %q", code, got, want)
		}
	}
}
