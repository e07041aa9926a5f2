package flow

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
)

// WebhookStage is Spinnaker's "webhook" stage: send an HTTP request and,
// with waitForCompletion, poll a status URL until the remote work is done.
//
// The request: url, method (POST), customHeaders, payload. Failures: 5xx,
// 429 and webhookRetryStatusCodes are retried, failFastStatusCodes (default
// [504], as in orca, because a gateway timeout may hide a request that was
// acted on) and other 4xx fail at once.
//
// The status URL comes from statusUrlResolution: getMethod (the url itself),
// locationHeader (the response's Location) or webhookResponse
// (statusUrlJsonPath in the response body). The status is read at
// statusJsonPath and matched against successStatuses, canceledStatuses and
// terminalStatuses (comma-separated, any case); a number is a percentage and
// 100 means done. progressJsonPath gives a progress message. retryStatusCodes
// and retries ({"503": {"maxAttempts": 3}}) say which failed polls to retry.
//
// cancelEndpoint, cancelMethod (POST) and cancelPayload are called, best
// effort, when the run is canceled while the webhook runs.
type WebhookStage struct{}

// Type implements Definition.
func (WebhookStage) Type() string { return "webhook" }

var (
	webhookMethods         = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	statusURLResolutions   = []string{"getMethod", "locationHeader", "webhookResponse"}
	webhookStatusCodeLists = []string{"failFastStatusCodes", "retryStatusCodes", "webhookRetryStatusCodes"}
)

// webhookConfig is a webhook stage's configuration, plus what its tasks
// recorded: the status URL to poll, the requests sent, the responses.
type webhookConfig struct {
	URL           string                 `json:"url"`
	Method        string                 `json:"method"`
	CustomHeaders map[string]headerValue `json:"customHeaders"`
	// Payload is sent as JSON, or as text when it is a string.
	Payload any `json:"payload"`

	WaitForCompletion bool `json:"waitForCompletion"`
	MonitorOnly       bool `json:"monitorOnly"`
	// WaitBeforeMonitor is in seconds.
	WaitBeforeMonitor   int64  `json:"waitBeforeMonitor"`
	StatusURLResolution string `json:"statusUrlResolution"`
	StatusURLJSONPath   string `json:"statusUrlJsonPath"`
	StatusJSONPath      string `json:"statusJsonPath"`
	ProgressJSONPath    string `json:"progressJsonPath"`
	// The statuses are comma-separated, in any case.
	SuccessStatuses  string `json:"successStatuses"`
	CanceledStatuses string `json:"canceledStatuses"`
	TerminalStatuses string `json:"terminalStatuses"`

	// FailFastStatusCodes nil means orca's default, [504].
	FailFastStatusCodes     []int64 `json:"failFastStatusCodes"`
	WebhookRetryStatusCodes []int64 `json:"webhookRetryStatusCodes"`
	RetryStatusCodes        []int64 `json:"retryStatusCodes"`
	// Retries bound the retries of a failed poll by status code.
	Retries map[string]retryLimit `json:"retries"`

	CancelEndpoint string `json:"cancelEndpoint"`
	CancelMethod   string `json:"cancelMethod"`
	CancelPayload  any    `json:"cancelPayload"`

	// StatusEndpoint is the URL to poll: configured for a monitor-only
	// webhook, recorded by CreateWebhook otherwise.
	StatusEndpoint string `json:"statusEndpoint"`
	// WebhookAttempts counts the requests CreateWebhook sent.
	WebhookAttempts int `json:"webhookAttempts"`
	// Webhook is orca's record of the responses. Each poll writes it back
	// whole with its own monitor record.
	Webhook *webhookRecord `json:"webhook"`
}

// webhookCall is orca's record of one response: statusCode (Spring's name
// for it), statusCodeValue, headers (first values) and body; error says
// why the call failed or will be retried. It is context.webhookCancel.
type webhookCall struct {
	StatusCode      string            `json:"statusCode,omitempty"`
	StatusCodeValue int               `json:"statusCodeValue,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	// Body is the response as it came: JSON, or text.
	Body  any    `json:"body,omitempty"`
	Error string `json:"error,omitempty"`
}

// webhookRecord is context.webhook: the response to the request, the
// status URL found in it, and the last status poll.
type webhookRecord struct {
	webhookCall
	StatusEndpoint string          `json:"statusEndpoint,omitempty"`
	Monitor        *webhookMonitor `json:"monitor,omitempty"`
}

// webhookMonitor is context.webhook.monitor, the last status poll.
type webhookMonitor struct {
	webhookCall
	// PastStatusCodes are the failed polls retried so far.
	PastStatusCodes []int    `json:"pastStatusCodes,omitempty"`
	ProgressMessage string   `json:"progressMessage,omitempty"`
	PercentComplete *float64 `json:"percentComplete,omitempty"`
	// ResolvedValue is a status that is not a single value; a pointer so
	// that a null found at statusJsonPath is recorded as null.
	ResolvedValue *any `json:"resolvedValue,omitempty"`
}

// createWebhookOutput is what CreateWebhook records.
type createWebhookOutput struct {
	Webhook         *webhookRecord `json:"webhook"`
	WebhookAttempts int            `json:"webhookAttempts"`
	StatusEndpoint  string         `json:"statusEndpoint,omitempty"`
}

// monitorWebhookOutput is what MonitorWebhook records.
type monitorWebhookOutput struct {
	Webhook *webhookRecord `json:"webhook"`
}

// webhookCancelOutput is what a webhook task's Cancel records.
type webhookCancelOutput struct {
	WebhookCancel webhookCall `json:"webhookCancel"`
}

// retryLimit bounds the retries of a failed status poll.
type retryLimit struct {
	MaxAttempts int `json:"maxAttempts"`
}

// headerValue is a custom header's value: a string (or another scalar), or
// a list of them.
type headerValue []string

// UnmarshalJSON implements json.Unmarshaler.
func (h *headerValue) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
	case []any:
		for i, item := range x {
			if !isScalar(item) {
				return fmt.Errorf("[%d] must be a string, not %s", i, stages.Describe(item))
			}
			*h = append(*h, fmt.Sprint(item))
		}
	default:
		if !isScalar(x) {
			return fmt.Errorf("must be a string or a list of strings, not %s", stages.Describe(x))
		}
		*h = append(*h, fmt.Sprint(x))
	}
	return nil
}

// Validate checks the request and monitoring fields; fields holding
// expressions are accepted as they are.
func (WebhookStage) Validate(s *model.Stage) []model.Problem {
	var cfg webhookConfig
	exprs, p := stages.DecodeConfig(s, &cfg)
	wait, monitorOnly := cfg.WaitForCompletion, cfg.MonitorOnly
	if monitorOnly && !wait && !exprs.Has("waitForCompletion") {
		p.Add("monitorOnly", "needs waitForCompletion: a monitor-only webhook has nothing to do without waiting")
	}
	checked := func(key string) bool { return exprs.Has(key) || problemAt(p, key) }

	for key, v := range map[string]string{"url": cfg.URL, "statusEndpoint": cfg.StatusEndpoint, "cancelEndpoint": cfg.CancelEndpoint} {
		switch {
		case checked(key):
		case v == "" && key == "url" && !(monitorOnly && cfg.StatusEndpoint != ""):
			p.Add(key, "is required (the URL to call)")
		case v != "":
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.Add(key, "%q is not an http or https URL", v)
			}
		}
	}
	for key, v := range map[string]string{"method": cfg.Method, "cancelMethod": cfg.CancelMethod} {
		if v != "" && !checked(key) && !slices.Contains(webhookMethods, strings.ToUpper(v)) {
			p.Add(key, "%q is not an HTTP method (%s)", v, strings.Join(webhookMethods, ", "))
		}
	}
	res := cfg.StatusURLResolution
	if res != "" && !checked("statusUrlResolution") && !slices.Contains(statusURLResolutions, res) {
		p.Add("statusUrlResolution", "%q is not one of %s", res, strings.Join(statusURLResolutions, ", "))
	}
	for key, v := range map[string]string{"statusUrlJsonPath": cfg.StatusURLJSONPath, "statusJsonPath": cfg.StatusJSONPath, "progressJsonPath": cfg.ProgressJSONPath} {
		switch {
		case checked(key):
		case v == "" && key == "statusUrlJsonPath" && wait && res == "webhookResponse":
			p.Add(key, "is required when statusUrlResolution is webhookResponse")
		case v != "":
			if _, err := parseJSONPath(v); err != nil {
				p.Add(key, "%v", err)
			}
		}
	}
	return p
}

// Config implements stages.Configurer.
func (WebhookStage) Config(s *model.StageExecution) (any, error) {
	return decodeContext(s.Context, &webhookConfig{})
}

// Plan sends the request unless monitorOnly, then monitors it when
// waitForCompletion.
func (WebhookStage) Plan(s *model.StageExecution) ([]string, error) {
	cfg, err := decodeContext(s.Context, &webhookConfig{})
	if err != nil {
		return nil, err
	}
	if cfg.MonitorOnly && !cfg.WaitForCompletion {
		return nil, errors.New("monitorOnly needs waitForCompletion: a monitor-only webhook has nothing to do without waiting")
	}
	var tasks []string
	if !cfg.MonitorOnly {
		tasks = append(tasks, CreateWebhookTask{}.Name())
	}
	if cfg.WaitForCompletion {
		tasks = append(tasks, MonitorWebhookTask{}.Name())
	}
	return tasks, nil
}

// CreateWebhookTask sends the webhook request, retrying what may succeed
// later, and records the response in context.webhook as orca does
// ({statusCode, statusCodeValue, headers, body, error, statusEndpoint}).
type CreateWebhookTask struct {
	// MaxAttempts bounds the requests sent; 0 means 10.
	MaxAttempts int
	// Backoff is the first retry's delay, doubled each retry up to 30 s;
	// 0 means 2 s. A Retry-After header wins, up to 5 minutes.
	Backoff time.Duration
}

// Name implements Task.
func (CreateWebhookTask) Name() string { return "CreateWebhook" }

// Execute implements Task.
func (t CreateWebhookTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	spec, err := readWebhook(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if spec.url == "" {
		return stages.Failed("url is required (the URL to call)"), nil
	}
	attempt := spec.attempts + 1
	webhook := &webhookRecord{}
	out := &createWebhookOutput{Webhook: webhook, WebhookAttempts: attempt}
	target := spec.method + " " + spec.url

	resp, err := sendWebhook(ctx, run, spec.method, spec.url, spec.headers, spec.payload)
	if err != nil {
		if ctx.Err() != nil {
			return stages.Result{}, ctx.Err()
		}
		if retryableNetError(err, spec.method) && attempt < t.maxAttempts() {
			webhook.Error = fmt.Sprintf("webhook %s failed (attempt %d of %d), will retry: %v", target, attempt, t.maxAttempts(), err)
			return stages.Result{Status: model.StatusRunning, Context: stages.Record(out), Backoff: t.backoff(attempt, nil)}, nil
		}
		return t.fail(out, webhook, "webhook %s failed%s: %v", target, afterAttempts(attempt), err), nil
	}
	webhook.webhookCall = resp.stageData()

	code := resp.code
	switch {
	case slices.Contains(spec.failFast, int64(code)):
		return t.fail(out, webhook, "webhook %s returned %s, which failFastStatusCodes lists%s", target, statusLine(code), resp.snippet()), nil
	case code < 400:
		if !spec.wait {
			return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(out)}, nil
		}
		statusURL, err := resolveStatusURL(spec, resp)
		if err != nil {
			return t.fail(out, webhook, "webhook %s: cannot find the status URL to poll: %v", target, err), nil
		}
		webhook.StatusEndpoint = statusURL
		out.StatusEndpoint = statusURL
		return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(out)}, nil
	case code >= 500 || code == http.StatusTooManyRequests || slices.Contains(spec.createRetry, int64(code)):
		if attempt < t.maxAttempts() {
			webhook.Error = fmt.Sprintf("webhook %s returned %s (attempt %d of %d), will retry", target, statusLine(code), attempt, t.maxAttempts())
			return stages.Result{Status: model.StatusRunning, Context: stages.Record(out), Backoff: t.backoff(attempt, resp.header)}, nil
		}
		return t.fail(out, webhook, "webhook %s failed after %d attempts; last status %s%s", target, attempt, statusLine(code), resp.snippet()), nil
	default:
		return t.fail(out, webhook, "webhook %s returned %s%s", target, statusLine(code), resp.snippet()), nil
	}
}

// Cancel calls the cancel endpoint, if any, in case the request was acted on.
func (CreateWebhookTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	return cancelWebhook(ctx, run)
}

func (t CreateWebhookTask) fail(out *createWebhookOutput, webhook *webhookRecord, format string, args ...any) stages.Result {
	webhook.Error = fmt.Sprintf(format, args...)
	return stages.FailedWith(stages.Record(out), format, args...)
}

func (t CreateWebhookTask) maxAttempts() int {
	if t.MaxAttempts > 0 {
		return t.MaxAttempts
	}
	return 10
}

func (t CreateWebhookTask) backoff(attempt int, h http.Header) time.Duration {
	if secs, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && secs > 0 {
		return min(time.Duration(secs)*time.Second, 5*time.Minute)
	}
	base := t.Backoff
	if base <= 0 {
		base = 2 * time.Second
	}
	return min(base<<min(attempt-1, 10), 30*time.Second)
}

func afterAttempts(n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf(" after %d attempts", n)
}

// MonitorWebhookTask polls the status URL until the status read at
// statusJsonPath says the remote work is done. It records each poll in
// context.webhook.monitor as orca does ({statusCode, statusCodeValue, body,
// progressMessage, percentComplete, error, pastStatusCodes}).
type MonitorWebhookTask struct{}

// Name implements Task.
func (MonitorWebhookTask) Name() string { return "MonitorWebhook" }

// Timeout is Spinnaker's: one hour unless the stage sets stageTimeoutMs.
func (MonitorWebhookTask) Timeout(s *model.StageExecution) time.Duration {
	return stages.OverridableTimeout(s, time.Hour)
}

// Execute implements Task.
func (MonitorWebhookTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	spec, err := readWebhook(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	started, err := stages.TaskStart(run, MonitorWebhookTask{}.Name())
	if err != nil {
		return stages.Result{}, err
	}
	if wait := started.Add(time.Duration(spec.waitBeforeMonitor) * time.Second).Sub(run.Now); wait > 0 {
		return stages.Running(wait), nil
	}
	// Orca polls every second for a minute, then every 15 seconds.
	pollAgain := 2 * time.Second
	if run.Now.Sub(started) > time.Minute {
		pollAgain = 15 * time.Second
	}

	// The poll keeps the record of the response and replaces the last
	// poll's, keeping only the failed polls retried so far.
	webhook := &webhookRecord{}
	if spec.record != nil {
		*webhook = *spec.record
	}
	monitor := &webhookMonitor{}
	if webhook.Monitor != nil {
		monitor.PastStatusCodes = webhook.Monitor.PastStatusCodes
	}
	webhook.Monitor = monitor
	out := &monitorWebhookOutput{Webhook: webhook}
	running := func() stages.Result {
		return stages.Result{Status: model.StatusRunning, Context: stages.Record(out), Backoff: pollAgain}
	}
	succeeded := func() stages.Result {
		return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(out)}
	}
	fail := func(st model.Status, format string, args ...any) stages.Result {
		monitor.Error = fmt.Sprintf(format, args...)
		return stages.WithStatus(stages.FailedWith(stages.Record(out), format, args...), st)
	}

	endpoint := spec.statusEndpointOf()
	if endpoint == "" && spec.monitorOnly {
		endpoint = spec.url
	}
	if endpoint == "" {
		return fail(model.StatusTerminal, "webhook: no status URL to poll (statusEndpoint is not set)"), nil
	}

	resp, err := sendWebhook(ctx, run, http.MethodGet, endpoint, spec.headers, nil)
	if err != nil {
		if ctx.Err() != nil {
			return stages.Result{}, ctx.Err()
		}
		// A GET is safe to repeat; the task timeout bounds the retries.
		monitor.Error = fmt.Sprintf("webhook status check GET %s failed, will retry: %v", endpoint, err)
		return running(), nil
	}
	monitor.webhookCall = resp.stageData()
	if resp.code >= 400 {
		if spec.shouldRetryPoll(resp.code, monitor.PastStatusCodes) {
			monitor.PastStatusCodes = append(slices.Clone(monitor.PastStatusCodes), resp.code)
			return running(), nil
		}
		return fail(model.StatusTerminal, "webhook status check GET %s returned %s%s", endpoint, statusLine(resp.code), resp.snippet()), nil
	}
	if spec.statusJSONPath == "" {
		return succeeded(), nil
	}

	status, err := readJSONPath(resp.body, spec.statusJSONPath)
	if err != nil {
		return fail(model.StatusTerminal, "webhook status check GET %s: cannot read the status at statusJsonPath: %v", endpoint, err), nil
	}
	if spec.progressJSONPath != "" {
		// Progress is for people; a missing one does not fail the stage.
		if progress, err := readJSONPath(resp.body, spec.progressJSONPath); err == nil && isScalar(progress) {
			monitor.ProgressMessage = fmt.Sprint(progress)
		}
	}
	if !isScalar(status) {
		monitor.ResolvedValue = &status
		return fail(model.StatusTerminal, "webhook status check GET %s: statusJsonPath %s is %s, not a single value", endpoint, spec.statusJSONPath, stages.Describe(status)), nil
	}
	if pct, isNumber := status.(float64); isNumber {
		monitor.PercentComplete = &pct
		if pct == 100 {
			return succeeded(), nil
		}
		return running(), nil
	}
	word := strings.ToUpper(strings.TrimSpace(fmt.Sprint(status)))
	switch {
	case spec.terminal[word]:
		return fail(model.StatusTerminal, "webhook %s reported status %q, which terminalStatuses lists", endpoint, fmt.Sprint(status)), nil
	case spec.canceled[word]:
		return fail(model.StatusCanceled, "webhook %s reported status %q, which canceledStatuses lists", endpoint, fmt.Sprint(status)), nil
	case spec.success[word]:
		return succeeded(), nil
	default:
		return running(), nil
	}
}

// Cancel calls the cancel endpoint, if any.
func (MonitorWebhookTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	return cancelWebhook(ctx, run)
}

// cancelWebhook calls cancelEndpoint with cancelMethod and cancelPayload. It
// is best effort, as in orca: the outcome is recorded in context.webhookCancel
// and never fails the cancel.
func cancelWebhook(ctx context.Context, run *stages.Run) (map[string]any, error) {
	spec, err := readWebhook(run)
	if err != nil {
		return stages.Record(webhookCancelOutput{webhookCall{Error: err.Error()}}), nil
	}
	if spec.cancelEndpoint == "" {
		return nil, nil
	}
	var record webhookCall
	target := spec.cancelMethod + " " + spec.cancelEndpoint
	resp, err := sendWebhook(ctx, run, spec.cancelMethod, spec.cancelEndpoint, spec.headers, spec.cancelPayload)
	if err != nil {
		record.Error = fmt.Sprintf("webhook cancel %s failed: %v", target, err)
	} else {
		record = resp.stageData()
		if resp.code >= 400 {
			record.Error = fmt.Sprintf("webhook cancel %s returned %s%s", target, statusLine(resp.code), resp.snippet())
		}
	}
	return stages.Record(webhookCancelOutput{record}), nil
}

// webhookSpec is a webhook stage's evaluated configuration.
type webhookSpec struct {
	url, method         string
	headers             http.Header
	payload             any
	wait, monitorOnly   bool
	statusURLResolution string
	statusURLJSONPath   string
	statusJSONPath      string
	progressJSONPath    string
	success, canceled   map[string]bool
	terminal            map[string]bool
	failFast            []int64
	createRetry         []int64
	pollRetry           []int64
	pollRetryLimits     map[int]int
	waitBeforeMonitor   int64
	cancelEndpoint      string
	cancelMethod        string
	cancelPayload       any
	// What earlier tasks recorded: the requests sent, orca's record of the
	// responses, and the status URL.
	attempts       int
	record         *webhookRecord
	statusEndpoint string
}

// readWebhook derives the request and the monitoring rules from the task's
// configuration: methods and URLs trimmed and defaulted, statuses as sets.
func readWebhook(run *stages.Run) (*webhookSpec, error) {
	cfg, err := stages.ConfigOf[*webhookConfig](run)
	if err != nil {
		return nil, err
	}
	s := &webhookSpec{
		url:                 strings.TrimSpace(cfg.URL),
		method:              strings.ToUpper(cmp.Or(strings.TrimSpace(cfg.Method), http.MethodPost)),
		headers:             webhookHeaders(cfg.CustomHeaders),
		payload:             cfg.Payload,
		wait:                cfg.WaitForCompletion,
		monitorOnly:         cfg.MonitorOnly,
		statusURLResolution: strings.TrimSpace(cfg.StatusURLResolution),
		statusURLJSONPath:   strings.TrimSpace(cfg.StatusURLJSONPath),
		statusJSONPath:      strings.TrimSpace(cfg.StatusJSONPath),
		progressJSONPath:    strings.TrimSpace(cfg.ProgressJSONPath),
		success:             statusSet(cfg.SuccessStatuses),
		canceled:            statusSet(cfg.CanceledStatuses),
		terminal:            statusSet(cfg.TerminalStatuses),
		failFast:            cfg.FailFastStatusCodes,
		createRetry:         cfg.WebhookRetryStatusCodes,
		pollRetry:           cfg.RetryStatusCodes,
		pollRetryLimits:     map[int]int{},
		waitBeforeMonitor:   cfg.WaitBeforeMonitor,
		cancelEndpoint:      strings.TrimSpace(cfg.CancelEndpoint),
		cancelMethod:        strings.ToUpper(cmp.Or(strings.TrimSpace(cfg.CancelMethod), http.MethodPost)),
		cancelPayload:       cfg.CancelPayload,
		attempts:            cfg.WebhookAttempts,
		record:              cfg.Webhook,
		statusEndpoint:      strings.TrimSpace(cfg.StatusEndpoint),
	}
	for _, m := range []string{s.method, s.cancelMethod} {
		if !slices.Contains(webhookMethods, m) {
			return nil, fmt.Errorf("method %q is not an HTTP method (%s)", m, strings.Join(webhookMethods, ", "))
		}
	}
	if s.failFast == nil {
		s.failFast = []int64{http.StatusGatewayTimeout}
	}
	for code, l := range cfg.Retries {
		n, err := strconv.Atoi(code)
		if err != nil {
			return nil, fmt.Errorf("retries: %q is not an HTTP status code", code)
		}
		s.pollRetryLimits[n] = l.MaxAttempts
	}
	return s, nil
}

// shouldRetryPoll decides whether a failed status poll is tried again: a
// per-status limit from retries wins; otherwise 5xx, 429 and
// retryStatusCodes are retried until the task times out.
func (s *webhookSpec) shouldRetryPoll(code int, past []int) bool {
	if limit, ok := s.pollRetryLimits[code]; ok {
		seen := 0
		for _, c := range past {
			if c == code {
				seen++
			}
		}
		return seen < limit
	}
	return code >= 500 || code == http.StatusTooManyRequests || slices.Contains(s.pollRetry, int64(code))
}

func statusSet(csv string) map[string]bool {
	set := map[string]bool{}
	for _, s := range strings.Split(csv, ",") {
		if s = strings.ToUpper(strings.TrimSpace(s)); s != "" {
			set[s] = true
		}
	}
	return set
}

// headerDenyList are headers a stage may not set, because gennaker's and
// Spinnaker's services trust them to name the caller.
var headerDenyList = []string{"X-SPINNAKER-USER", "X-SPINNAKER-ACCOUNT", "X-SPINNAKER-USER-ORIGIN", "X-SPINNAKER-REQUEST-ID", "X-SPINNAKER-EXECUTION-ID"}

// webhookHeaders are the custom headers to send, without those a stage may
// not set.
func webhookHeaders(custom map[string]headerValue) http.Header {
	h := http.Header{}
	for name, values := range custom {
		if slices.Contains(headerDenyList, strings.ToUpper(name)) {
			continue
		}
		for _, v := range values {
			h.Add(name, v)
		}
	}
	return h
}

// webhookResponse is one HTTP response, read whole (up to a bound).
type webhookResponse struct {
	code   int
	header http.Header
	raw    []byte
	body   any
}

// Bounds on what a webhook response may add to a stage record, which must
// stay well under the store's item size.
const (
	maxWebhookBody     = 1 << 20
	maxStoredBody      = 64 << 10
	maxSnippet         = 200
	webhookHTTPTimeout = 30 * time.Second
)

var defaultWebhookClient stages.HTTPDoer = &http.Client{Timeout: webhookHTTPTimeout}

func sendWebhook(ctx context.Context, run *stages.Run, method, target string, headers http.Header, payload any) (*webhookResponse, error) {
	var body io.Reader
	contentType := ""
	switch p := payload.(type) {
	case nil:
	case string:
		body, contentType = strings.NewReader(p), "text/plain; charset=utf-8"
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode payload: %w", err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range headers {
		req.Header[k] = slices.Clone(vs)
	}
	if contentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json, */*")
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "gennaker-webhook")
	}
	client := run.HTTP()
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxWebhookBody+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	out := &webhookResponse{code: resp.StatusCode, header: resp.Header, raw: raw}
	out.body = decodeBody(raw, resp.Header.Get("Content-Type"))
	return out, nil
}

// decodeBody parses a JSON body (an object or list, or any JSON when the
// content type says so) and keeps anything else as text.
func decodeBody(raw []byte, contentType string) any {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil
	}
	if len(raw) > maxWebhookBody {
		return string(raw[:maxWebhookBody])
	}
	if trimmed[0] == '{' || trimmed[0] == '[' || strings.Contains(contentType, "json") {
		var v any
		if err := json.Unmarshal(trimmed, &v); err == nil {
			return v
		}
	}
	return string(raw)
}

// stageData is orca's record of a response: statusCode (Spring's name for
// it), statusCodeValue, headers (first values) and body.
func (r *webhookResponse) stageData() webhookCall {
	c := webhookCall{StatusCode: httpStatusName(r.code), StatusCodeValue: r.code}
	if len(r.header) > 0 {
		c.Headers = map[string]string{}
		for k := range r.header {
			c.Headers[k] = r.header.Get(k)
		}
	}
	switch {
	case r.body == nil:
	case len(r.raw) > maxStoredBody:
		c.Body = fmt.Sprintf("%s… (truncated: the body has %d bytes)", r.raw[:maxStoredBody], len(r.raw))
	default:
		c.Body = r.body
	}
	return c
}

// snippet is the start of the body, for failure messages.
func (r *webhookResponse) snippet() string {
	s := strings.Join(strings.Fields(string(r.raw)), " ")
	if s == "" {
		return ""
	}
	if len(s) > maxSnippet {
		s = s[:maxSnippet] + "…"
	}
	return ": " + s
}

// resolveStatusURL finds where to poll, per statusUrlResolution (getMethod
// when unset). A relative URL is resolved against the webhook url, and a URL
// on the webhook's host keeps the webhook's scheme, as orca does.
func resolveStatusURL(spec *webhookSpec, resp *webhookResponse) (string, error) {
	var found string
	switch spec.statusURLResolution {
	case "", "getMethod":
		return spec.url, nil
	case "locationHeader":
		found = resp.header.Get("Location")
		if found == "" {
			return "", errors.New("statusUrlResolution is locationHeader but the response has no Location header")
		}
	case "webhookResponse":
		if spec.statusURLJSONPath == "" {
			return "", errors.New("statusUrlResolution is webhookResponse but statusUrlJsonPath is not set")
		}
		v, err := readJSONPath(resp.body, spec.statusURLJSONPath)
		if err != nil {
			return "", fmt.Errorf("statusUrlJsonPath: %w", err)
		}
		s, ok := v.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return "", fmt.Errorf("statusUrlJsonPath %s is %s, not a URL", spec.statusURLJSONPath, stages.Describe(v))
		}
		found = strings.TrimSpace(s)
	default:
		return "", fmt.Errorf("statusUrlResolution %q is not one of %s", spec.statusURLResolution, strings.Join(statusURLResolutions, ", "))
	}
	base, err := url.Parse(spec.url)
	if err != nil {
		return "", fmt.Errorf("url %q: %w", spec.url, err)
	}
	ref, err := url.Parse(found)
	if err != nil {
		return "", fmt.Errorf("status URL %q: %w", found, err)
	}
	u := base.ResolveReference(ref)
	if u.Host == base.Host && u.Scheme != base.Scheme {
		u.Scheme = base.Scheme
	}
	return u.String(), nil
}

// statusEndpointOf is the URL to poll: the stage's statusEndpoint, else the
// one recorded with the response.
func (s *webhookSpec) statusEndpointOf() string {
	if s.statusEndpoint != "" {
		return s.statusEndpoint
	}
	if s.record != nil {
		return strings.TrimSpace(s.record.StatusEndpoint)
	}
	return ""
}

// retryableNetError decides whether a request that got no response may be
// sent again: always when it never left (name resolution, connection
// refused), otherwise only for methods that are safe to repeat.
func retryableNetError(err error, method string) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		var netErr net.Error
		return errors.As(err, &netErr) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
	}
	return false
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, float64, bool, int, int64, json.Number:
		return true
	}
	return false
}

// statusLine renders a status code for people: "503 Service Unavailable".
func statusLine(code int) string {
	if text := http.StatusText(code); text != "" {
		return fmt.Sprintf("%d %s", code, text)
	}
	return strconv.Itoa(code)
}

// springStatusNames are Spring's HttpStatus names where they differ from the
// Go status text.
var springStatusNames = map[int]string{
	http.StatusRequestEntityTooLarge:        "PAYLOAD_TOO_LARGE",
	http.StatusRequestURITooLong:            "URI_TOO_LONG",
	http.StatusRequestedRangeNotSatisfiable: "REQUESTED_RANGE_NOT_SATISFIABLE",
	http.StatusTeapot:                       "I_AM_A_TEAPOT",
	http.StatusUnprocessableEntity:          "UNPROCESSABLE_ENTITY",
	http.StatusMisdirectedRequest:           "MISDIRECTED_REQUEST",
}

// httpStatusName is the name orca records in webhook.statusCode, Spring's
// HttpStatus enum name ("OK", "SERVICE_UNAVAILABLE").
func httpStatusName(code int) string {
	if n, ok := springStatusNames[code]; ok {
		return n
	}
	text := http.StatusText(code)
	if text == "" {
		return strconv.Itoa(code)
	}
	var b strings.Builder
	underscore := false
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToUpper(r))
			underscore = false
		case r == '\'':
		case !underscore && b.Len() > 0:
			b.WriteByte('_')
			underscore = true
		}
	}
	return strings.TrimRight(b.String(), "_")
}

var (
	_ stages.Configurer  = WebhookStage{}
	_ stages.Canceler    = CreateWebhookTask{}
	_ stages.Canceler    = MonitorWebhookTask{}
	_ stages.TimeoutTask = MonitorWebhookTask{}
)
