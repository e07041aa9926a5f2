package notify

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/api/gateerr"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// Patterns lists the routes Handler serves, for the API to mount.
var Patterns = []string{
	"GET /audit",
	"GET /notifications/application/{app}",
	"POST /notifications/application/{app}",
}

// Handler serves the audit log and Front50's application notifications.
type Handler struct {
	Store store.Store
	// Types are the notification types an application may use.
	Types []string
	Log   *slog.Logger
}

func (h Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var err error
	switch {
	case r.URL.Path == "/audit":
		err = h.audit(w, r)
	case r.Method == http.MethodGet:
		err = h.getApp(w, r)
	default:
		err = h.postApp(w, r)
	}
	if err != nil {
		var status = http.StatusInternalServerError
		msg := err.Error()
		if be, ok := err.(badRequest); ok {
			status, msg = http.StatusBadRequest, string(be)
		} else if h.Log != nil {
			h.Log.ErrorContext(r.Context(), "notify API", "path", r.URL.Path, "error", err)
		}
		_ = gateerr.Write(w, status, msg, time.Now())
	}
}

type badRequest string

func (b badRequest) Error() string { return string(b) }

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

// audit serves GET /audit?application=&since=&type=&execution=&limit=.
func (h Handler) audit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := AuditFilter{Application: model.ApplicationName(q.Get("application")), Execution: model.ExecutionID(q.Get("execution"))}
	if s := q.Get("since"); s != "" {
		since, err := parseSince(s, time.Now())
		if err != nil {
			return badRequest(fmt.Sprintf("since: %v", err))
		}
		f.Since = since
	}
	for _, t := range q["type"] {
		for _, one := range strings.Split(t, ",") {
			if one = strings.TrimSpace(one); one != "" {
				f.Types = append(f.Types, one)
			}
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return badRequest(fmt.Sprintf("limit: %q is not a number of events", l))
		}
		f.Limit = n
	}
	events, err := Audit(r.Context(), h.Store.Records(), f)
	if err != nil {
		return err
	}
	if events == nil {
		events = []Event{}
	}
	return writeJSON(w, events)
}

// parseSince reads ms since the epoch, an RFC 3339 time, or a duration
// before now ("1h").
func parseSince(s string, now time.Time) (int64, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ms, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UnixMilli(), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d).UnixMilli(), nil
	}
	return 0, fmt.Errorf("%q is not a time: give ms since the epoch, an RFC 3339 time or a duration such as 24h", s)
}

func (h Handler) getApp(w http.ResponseWriter, r *http.Request) error {
	app := model.ApplicationName(r.PathValue("app"))
	doc, err := LoadAppNotifications(r.Context(), h.Store.Records(), app)
	if err != nil {
		return err
	}
	doc["application"] = string(app)
	return writeJSON(w, doc)
}

// postApp stores the application's notifications: Front50's document of
// notifications by type.
func (h Handler) postApp(w http.ResponseWriter, r *http.Request) error {
	app := model.ApplicationName(r.PathValue("app"))
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	var doc AppNotifications
	if err := json.Unmarshal(body, &doc); err != nil {
		return badRequest(fmt.Sprintf("the body must be a JSON object of notifications by type ({\"slack\": [{\"address\": …, \"when\": […]}]}): %v", err))
	}
	if problems := h.checkApp(doc, app); len(problems) > 0 {
		return badRequest(strings.Join(problems, "; "))
	}
	doc["application"] = string(app)
	if u := userOf(r.Context()); u != "" {
		doc["lastModifiedBy"] = u
	} else if u := strings.TrimSpace(r.Header.Get("X-SPINNAKER-USER")); u != "" {
		doc["lastModifiedBy"] = u
	}
	doc["lastModified"] = time.Now().UnixMilli()
	if err := SaveAppNotifications(r.Context(), h.Store.Records(), app, doc); err != nil {
		return err
	}
	return writeJSON(w, doc)
}

// whenTypes are the events a notification may ask for.
var whenTypes = []string{PipelineStarting, PipelineComplete, PipelineFailed, PipelineCanceled,
	StageStarting, StageComplete, StageFailed, JudgmentWaiting, JudgmentContinue, JudgmentStop}

func (h Handler) checkApp(doc AppNotifications, app model.ApplicationName) []string {
	var problems []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range doc {
			if !yield(k) {
				return
			}
		}
	}) {
		v := doc[k]
		switch k {
		case "application":
			if s, _ := v.(string); s != "" && s != string(app) {
				problems = append(problems, fmt.Sprintf("application: %q is not %q of the path", s, app))
			}
			continue
		case "lastModifiedBy", "lastModified":
			continue
		}
		if !slices.Contains(h.Types, k) {
			problems = append(problems, fmt.Sprintf("%s: is not a notification type (%s)", k, strings.Join(h.Types, ", ")))
			continue
		}
		list, ok := v.([]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: must be a list of notifications", k))
			continue
		}
		for i, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s[%d]: must be an object {address, when}", k, i))
				continue
			}
			whens, ok := m["when"].([]any)
			if !ok || len(whens) == 0 {
				problems = append(problems, fmt.Sprintf("%s[%d].when: must list the events to notify of (%s)", k, i, strings.Join(whenTypes, ", ")))
				continue
			}
			for j, w := range whens {
				if s, _ := w.(string); !slices.Contains(whenTypes, s) {
					problems = append(problems, fmt.Sprintf("%s[%d].when[%d]: %v is not an event (%s)", k, i, j, w, strings.Join(whenTypes, ", ")))
				}
			}
		}
	}
	return problems
}
