package flow

import (
	"bytes"
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

// Validate checks the request and monitoring fields; fields holding
// expressions are accepted as they are.
func (WebhookStage) Validate(s *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(s, &p)
	flag := func(key string) bool {
		if stages.IsExpression(cfg[key]) {
			return false
		}
		b, _, err := stages.Bool(cfg, key)
		if err != nil {
			p.AddErr(err)
		}
		return b
	}
	wait, monitorOnly := flag("waitForCompletion"), flag("monitorOnly")
	if monitorOnly && !wait && !stages.IsExpression(cfg["waitForCompletion"]) {
		p.Add("monitorOnly", "needs waitForCompletion: a monitor-only webhook has nothing to do without waiting")
	}

	statusEndpoint, _, _ := stages.String(cfg, "statusEndpoint")
	for _, key := range []string{"url", "statusEndpoint", "cancelEndpoint"} {
		v, ok, err := stages.String(cfg, key)
		switch {
		case err != nil:
			p.AddErr(err)
		case !ok && key == "url" && !(monitorOnly && statusEndpoint != ""):
			p.Add(key, "is required (the URL to call)")
		case ok && !stages.IsExpression(v):
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.Add(key, "%q is not an http or https URL", v)
			}
		}
	}
	for _, key := range []string{"method", "cancelMethod"} {
		if v, ok, err := stages.String(cfg, key); err != nil {
			p.AddErr(err)
		} else if ok && !stages.IsExpression(v) && !slices.Contains(webhookMethods, strings.ToUpper(v)) {
			p.Add(key, "%q is not an HTTP method (%s)", v, strings.Join(webhookMethods, ", "))
		}
	}
	res, _, err := stages.String(cfg, "statusUrlResolution")
	if err != nil {
		p.AddErr(err)
	} else if res != "" && !stages.IsExpression(res) && !slices.Contains(statusURLResolutions, res) {
		p.Add("statusUrlResolution", "%q is not one of %s", res, strings.Join(statusURLResolutions, ", "))
	}
	for _, key := range []string{"statusUrlJsonPath", "statusJsonPath", "progressJsonPath"} {
		v, ok, err := stages.String(cfg, key)
		switch {
		case err != nil:
			p.AddErr(err)
		case !ok && key == "statusUrlJsonPath" && wait && res == "webhookResponse":
			p.Add(key, "is required when statusUrlResolution is webhookResponse")
		case ok && !stages.IsExpression(v):
			if _, err := parseJSONPath(v); err != nil {
				p.Add(key, "%v", err)
			}
		}
	}
	for _, key := range []string{"successStatuses", "canceledStatuses", "terminalStatuses"} {
		stages.CheckField(cfg, key, &p, stages.ReadsString)
	}
	for _, key := range webhookStatusCodeLists {
		stages.CheckField(cfg, key, &p, stages.ReadsInts)
	}
	stages.CheckField(cfg, "waitBeforeMonitor", &p, stages.ReadsInt)
	if v, ok := stages.Lookup(cfg, "customHeaders"); ok && !stages.IsExpression(v) {
		if _, err := webhookHeaders(cfg); err != nil {
			p.AddErr(err)
		}
	}
	return p
}

// Plan sends the request unless monitorOnly, then monitors it when
// waitForCompletion.
func (WebhookStage) Plan(s *model.StageExecution) ([]string, error) {
	wait, _, err := stages.Bool(s.Context, "waitForCompletion")
	if err != nil {
		return nil, err
	}
	monitorOnly, _, err := stages.Bool(s.Context, "monitorOnly")
	if err != nil {
		return nil, err
	}
	if monitorOnly && !wait {
		return nil, errors.New("monitorOnly needs waitForCompletion: a monitor-only webhook has nothing to do without waiting")
	}
	var tasks []string
	if !monitorOnly {
		tasks = append(tasks, CreateWebhookTask{}.Name())
	}
	if wait {
		tasks = append(tasks, MonitorWebhookTask{}.Name())
	}
	return tasks, nil
}

// Context keys the webhook tasks write besides orca's "webhook" and
// "statusEndpoint".
const (
	// webhookAttemptsKey counts requests CreateWebhook has sent.
	webhookAttemptsKey = "webhookAttempts"
	// webhookCancelKey records the best-effort cancel call.
	webhookCancelKey = "webhookCancel"
)

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
	spec, err := readWebhook(run.Stage.Context)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if spec.url == "" {
		return stages.Failed("url is required (the URL to call)"), nil
	}
	prev, _, _ := stages.Int(run.Stage.Context, webhookAttemptsKey)
	attempt := int(prev) + 1
	webhook := map[string]any{}
	out := map[string]any{"webhook": webhook, webhookAttemptsKey: attempt}
	target := spec.method + " " + spec.url

	resp, err := sendWebhook(ctx, run, spec.method, spec.url, spec.headers, spec.payload)
	if err != nil {
		if ctx.Err() != nil {
			return stages.Result{}, ctx.Err()
		}
		if retryableNetError(err, spec.method) && attempt < t.maxAttempts() {
			webhook["error"] = fmt.Sprintf("webhook %s failed (attempt %d of %d), will retry: %v", target, attempt, t.maxAttempts(), err)
			return stages.Result{Status: model.StatusRunning, Context: out, Backoff: t.backoff(attempt, nil)}, nil
		}
		return t.fail(out, webhook, "webhook %s failed%s: %v", target, afterAttempts(attempt), err), nil
	}
	for k, v := range resp.stageData() {
		webhook[k] = v
	}

	code := resp.code
	switch {
	case slices.Contains(spec.failFast, int64(code)):
		return t.fail(out, webhook, "webhook %s returned %s, which failFastStatusCodes lists%s", target, statusLine(code), resp.snippet()), nil
	case code < 400:
		if !spec.wait {
			return stages.Result{Status: model.StatusSucceeded, Context: out}, nil
		}
		statusURL, err := resolveStatusURL(spec, resp)
		if err != nil {
			return t.fail(out, webhook, "webhook %s: cannot find the status URL to poll: %v", target, err), nil
		}
		webhook["statusEndpoint"] = statusURL
		out["statusEndpoint"] = statusURL
		return stages.Result{Status: model.StatusSucceeded, Context: out}, nil
	case code >= 500 || code == http.StatusTooManyRequests || slices.Contains(spec.createRetry, int64(code)):
		if attempt < t.maxAttempts() {
			webhook["error"] = fmt.Sprintf("webhook %s returned %s (attempt %d of %d), will retry", target, statusLine(code), attempt, t.maxAttempts())
			return stages.Result{Status: model.StatusRunning, Context: out, Backoff: t.backoff(attempt, resp.header)}, nil
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

func (t CreateWebhookTask) fail(out, webhook map[string]any, format string, args ...any) stages.Result {
	r := stages.FailedWith(out, format, args...)
	webhook["error"] = fmt.Sprintf(format, args...)
	return r
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
	spec, err := readWebhook(run.Stage.Context)
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

	webhook := map[string]any{}
	if prev, ok := run.Stage.Context["webhook"].(map[string]any); ok {
		webhook = cloneMap(prev)
	}
	monitor := map[string]any{}
	if prev, ok := webhook["monitor"].(map[string]any); ok && prev["pastStatusCodes"] != nil {
		monitor["pastStatusCodes"] = prev["pastStatusCodes"]
	}
	webhook["monitor"] = monitor
	out := map[string]any{"webhook": webhook}
	fail := func(st model.Status, format string, args ...any) stages.Result {
		monitor["error"] = fmt.Sprintf(format, args...)
		return stages.WithStatus(stages.FailedWith(out, format, args...), st)
	}

	endpoint := statusEndpointOf(run.Stage.Context, webhook)
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
		monitor["error"] = fmt.Sprintf("webhook status check GET %s failed, will retry: %v", endpoint, err)
		return stages.Result{Status: model.StatusRunning, Context: out, Backoff: pollAgain}, nil
	}
	for k, v := range resp.stageData() {
		monitor[k] = v
	}
	if resp.code >= 400 {
		if spec.shouldRetryPoll(resp.code, monitor) {
			monitor["pastStatusCodes"] = append(pastStatusCodes(monitor), resp.code)
			return stages.Result{Status: model.StatusRunning, Context: out, Backoff: pollAgain}, nil
		}
		return fail(model.StatusTerminal, "webhook status check GET %s returned %s%s", endpoint, statusLine(resp.code), resp.snippet()), nil
	}
	if spec.statusJSONPath == "" {
		return stages.Result{Status: model.StatusSucceeded, Context: out}, nil
	}

	status, err := readJSONPath(resp.body, spec.statusJSONPath)
	if err != nil {
		return fail(model.StatusTerminal, "webhook status check GET %s: cannot read the status at statusJsonPath: %v", endpoint, err), nil
	}
	if spec.progressJSONPath != "" {
		// Progress is for people; a missing one does not fail the stage.
		if progress, err := readJSONPath(resp.body, spec.progressJSONPath); err == nil && isScalar(progress) {
			monitor["progressMessage"] = fmt.Sprint(progress)
		}
	}
	if !isScalar(status) {
		monitor["resolvedValue"] = status
		return fail(model.StatusTerminal, "webhook status check GET %s: statusJsonPath %s is %s, not a single value", endpoint, spec.statusJSONPath, stages.Describe(status)), nil
	}
	if pct, isNumber := status.(float64); isNumber {
		monitor["percentComplete"] = pct
		if pct == 100 {
			return stages.Result{Status: model.StatusSucceeded, Context: out}, nil
		}
		return stages.Result{Status: model.StatusRunning, Context: out, Backoff: pollAgain}, nil
	}
	word := strings.ToUpper(strings.TrimSpace(fmt.Sprint(status)))
	switch {
	case spec.terminal[word]:
		return fail(model.StatusTerminal, "webhook %s reported status %q, which terminalStatuses lists", endpoint, fmt.Sprint(status)), nil
	case spec.canceled[word]:
		return fail(model.StatusCanceled, "webhook %s reported status %q, which canceledStatuses lists", endpoint, fmt.Sprint(status)), nil
	case spec.success[word]:
		return stages.Result{Status: model.StatusSucceeded, Context: out}, nil
	default:
		return stages.Result{Status: model.StatusRunning, Context: out, Backoff: pollAgain}, nil
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
	spec, err := readWebhook(run.Stage.Context)
	if err != nil {
		return map[string]any{webhookCancelKey: map[string]any{"error": err.Error()}}, nil
	}
	if spec.cancelEndpoint == "" {
		return nil, nil
	}
	record := map[string]any{}
	target := spec.cancelMethod + " " + spec.cancelEndpoint
	resp, err := sendWebhook(ctx, run, spec.cancelMethod, spec.cancelEndpoint, spec.headers, spec.cancelPayload)
	if err != nil {
		record["error"] = fmt.Sprintf("webhook cancel %s failed: %v", target, err)
	} else {
		for k, v := range resp.stageData() {
			record[k] = v
		}
		if resp.code >= 400 {
			record["error"] = fmt.Sprintf("webhook cancel %s returned %s%s", target, statusLine(resp.code), resp.snippet())
		}
	}
	return map[string]any{webhookCancelKey: record}, nil
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
}

func readWebhook(ctx map[string]any) (*webhookSpec, error) {
	s := &webhookSpec{payload: ctx["payload"], cancelPayload: ctx["cancelPayload"]}
	strs := []struct {
		key string
		dst *string
	}{
		{"url", &s.url}, {"method", &s.method}, {"statusUrlResolution", &s.statusURLResolution},
		{"statusUrlJsonPath", &s.statusURLJSONPath}, {"statusJsonPath", &s.statusJSONPath},
		{"progressJsonPath", &s.progressJSONPath}, {"cancelEndpoint", &s.cancelEndpoint},
		{"cancelMethod", &s.cancelMethod},
	}
	for _, f := range strs {
		v, _, err := stages.String(ctx, f.key)
		if err != nil {
			return nil, err
		}
		*f.dst = strings.TrimSpace(v)
	}
	s.method = strings.ToUpper(stages.OrDefault(s.method, http.MethodPost))
	s.cancelMethod = strings.ToUpper(stages.OrDefault(s.cancelMethod, http.MethodPost))
	for _, m := range []string{s.method, s.cancelMethod} {
		if !slices.Contains(webhookMethods, m) {
			return nil, fmt.Errorf("method %q is not an HTTP method (%s)", m, strings.Join(webhookMethods, ", "))
		}
	}
	var err error
	if s.wait, _, err = stages.Bool(ctx, "waitForCompletion"); err != nil {
		return nil, err
	}
	if s.monitorOnly, _, err = stages.Bool(ctx, "monitorOnly"); err != nil {
		return nil, err
	}
	if s.waitBeforeMonitor, _, err = stages.Int(ctx, "waitBeforeMonitor"); err != nil {
		return nil, err
	}
	var failFastSet bool
	if s.failFast, failFastSet, err = stages.Ints(ctx, "failFastStatusCodes"); err != nil {
		return nil, err
	}
	if !failFastSet {
		s.failFast = []int64{http.StatusGatewayTimeout}
	}
	if s.createRetry, _, err = stages.Ints(ctx, "webhookRetryStatusCodes"); err != nil {
		return nil, err
	}
	if s.pollRetry, _, err = stages.Ints(ctx, "retryStatusCodes"); err != nil {
		return nil, err
	}
	var limits map[string]struct {
		MaxAttempts int `json:"maxAttempts"`
	}
	if _, err := stages.DecodeField(ctx, "retries", &limits); err != nil {
		return nil, err
	}
	s.pollRetryLimits = map[int]int{}
	for code, l := range limits {
		n, err := strconv.Atoi(code)
		if err != nil {
			return nil, fmt.Errorf("retries: %q is not an HTTP status code", code)
		}
		s.pollRetryLimits[n] = l.MaxAttempts
	}
	for _, f := range []struct {
		key string
		dst *map[string]bool
	}{{"successStatuses", &s.success}, {"canceledStatuses", &s.canceled}, {"terminalStatuses", &s.terminal}} {
		v, _, err := stages.String(ctx, f.key)
		if err != nil {
			return nil, err
		}
		*f.dst = statusSet(v)
	}
	if s.headers, err = webhookHeaders(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// shouldRetryPoll decides whether a failed status poll is tried again: a
// per-status limit from retries wins; otherwise 5xx, 429 and
// retryStatusCodes are retried until the task times out.
func (s *webhookSpec) shouldRetryPoll(code int, monitor map[string]any) bool {
	if limit, ok := s.pollRetryLimits[code]; ok {
		seen := 0
		for _, c := range pastStatusCodes(monitor) {
			if c == code {
				seen++
			}
		}
		return seen < limit
	}
	return code >= 500 || code == http.StatusTooManyRequests || slices.Contains(s.pollRetry, int64(code))
}

func pastStatusCodes(monitor map[string]any) []int {
	var out []int
	switch list := monitor["pastStatusCodes"].(type) {
	case []int:
		out = append(out, list...)
	case []any:
		for _, v := range list {
			if n, err := stages.ToInt(v); err == nil {
				out = append(out, int(n))
			}
		}
	}
	return out
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

// webhookHeaders reads customHeaders: names to a value or a list of values.
func webhookHeaders(ctx map[string]any) (http.Header, error) {
	h := http.Header{}
	v, ok := stages.Lookup(ctx, "customHeaders")
	if !ok {
		return h, nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		return nil, fmt.Errorf("customHeaders: must be an object of header names to values, not %s", stages.Describe(v))
	}
	for name, val := range m {
		if slices.Contains(headerDenyList, strings.ToUpper(name)) {
			continue
		}
		switch x := val.(type) {
		case nil:
		case []any:
			for i, item := range x {
				if !isScalar(item) {
					return nil, fmt.Errorf("customHeaders.%s[%d]: must be a string, not %s", name, i, stages.Describe(item))
				}
				h.Add(name, fmt.Sprint(item))
			}
		default:
			if !isScalar(x) {
				return nil, fmt.Errorf("customHeaders.%s: must be a string or a list of strings, not %s", name, stages.Describe(x))
			}
			h.Add(name, fmt.Sprint(x))
		}
	}
	return h, nil
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
func (r *webhookResponse) stageData() map[string]any {
	m := map[string]any{
		"statusCode":      httpStatusName(r.code),
		"statusCodeValue": r.code,
	}
	if len(r.header) > 0 {
		h := map[string]any{}
		for k := range r.header {
			h[k] = r.header.Get(k)
		}
		m["headers"] = h
	}
	switch {
	case r.body == nil:
	case len(r.raw) > maxStoredBody:
		m["body"] = fmt.Sprintf("%s… (truncated: the body has %d bytes)", r.raw[:maxStoredBody], len(r.raw))
	default:
		m["body"] = r.body
	}
	return m
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

func statusEndpointOf(ctx, webhook map[string]any) string {
	if s, _, _ := stages.String(ctx, "statusEndpoint"); s != "" {
		return strings.TrimSpace(s)
	}
	if s, _, _ := stages.String(webhook, "statusEndpoint"); s != "" {
		return strings.TrimSpace(s)
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
	_ stages.Canceler    = CreateWebhookTask{}
	_ stages.Canceler    = MonitorWebhookTask{}
	_ stages.TimeoutTask = MonitorWebhookTask{}
)
