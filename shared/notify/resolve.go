package notify

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gennaker/gennaker/shared/expr"
	"github.com/gennaker/gennaker/shared/model"
)

// Notification is one entry of a pipeline's, stage's or application's
// `notifications`, as Spinnaker writes it:
//
//	{"type": "slack", "address": "#deploys", "level": "pipeline",
//	 "when": ["pipeline.starting", "pipeline.failed"],
//	 "message": {"pipeline.failed": {"text": "Paging ${trigger.user}"}}}
//
// webhook notifications may add "headers"; sns/pubsub ones name their
// topic ARN in address (pubsub with "pubsubSystem": "amazon").
type Notification struct {
	Type         string            `json:"type"`
	Address      string            `json:"address"`
	Level        string            `json:"level,omitempty"`
	When         []string          `json:"when"`
	Message      map[string]any    `json:"message,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	PubsubSystem string            `json:"pubsubSystem,omitempty"`
}

// Job is one notification to deliver for one event.
type Job struct {
	// ID is the event's key and which notification: one delivery per ID.
	ID      string            `json:"id"`
	Event   Event             `json:"event"`
	Type    string            `json:"type"`
	Address string            `json:"address,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Subject string            `json:"subject"`
	Text    string            `json:"text"`
	// Repo and SHA are the commit a githubStatus notification marks.
	Repo string `json:"repo,omitempty"`
	SHA  string `json:"sha,omitempty"`
}

// Destination is where a job goes; jobs to one destination are sent in
// order.
func (j Job) Destination() string { return j.Type + " " + j.Address }

// AppNotifications is Front50's application notification document:
// notifications by type, for every pipeline of the application.
//
//	{"application": "shop", "slack": [{"address": "#shop", "when": ["pipeline.failed"]}]}
type AppNotifications map[string]any

// Entries lists the document's notifications, each with its type.
func (a AppNotifications) Entries() []Notification {
	var out []Notification
	for _, typ := range slices.Sorted(maps.Keys(a)) {
		list, ok := a[typ].([]any)
		if !ok {
			continue
		}
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				continue
			}
			n, err := decodeNotification(m)
			if err != nil {
				continue
			}
			if n.Type == "" {
				n.Type = typ
			}
			out = append(out, n)
		}
	}
	return out
}

func decodeNotification(m map[string]any) (Notification, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return Notification{}, err
	}
	var n Notification
	if err := json.Unmarshal(b, &n); err != nil {
		return Notification{}, err
	}
	return n, nil
}

// Resolve lists the notifications an event asks for: the run's
// pipeline-level ones and the application's for pipeline events, the
// stage's for stage and judgment events, each rendered (custom messages
// with their expressions evaluated against the run).
func Resolve(ev Event, e *model.Execution, app AppNotifications) []Job {
	type source struct {
		prefix string
		list   []Notification
	}
	var sources []source
	var stage *model.StageExecution
	if ev.Stage != nil && e != nil {
		stage = e.StageByID(ev.Stage.ID)
	}
	switch {
	case ev.Stage != nil && stage != nil:
		judgment := strings.HasPrefix(ev.Type, "manualJudgment")
		send, _ := stage.Context["sendNotifications"].(bool)
		if send || judgment {
			sources = append(sources, source{"s", listOf(stage.Context["notifications"])})
		}
	case ev.Stage == nil && e != nil:
		var list []Notification
		for _, m := range e.Notifications {
			if n, err := decodeNotification(m); err == nil {
				list = append(list, n)
			}
		}
		sources = append(sources, source{"p", list}, source{"a", app.Entries()})
	}
	var jobs []Job
	for _, src := range sources {
		for i, n := range src.list {
			if !slices.Contains(n.When, ev.Type) || n.Type == "" {
				continue
			}
			if n.Type == "pubsub" && n.PubsubSystem != "" && n.PubsubSystem != "amazon" {
				continue
			}
			subject, text := Describe(ev)
			if custom := customText(n, ev.Type, e, stage); custom != "" {
				text = custom + "\n" + text
			}
			j := Job{
				ID: fmt.Sprintf("%s#%s%d", ev.Key, src.prefix, i), Event: ev,
				Type: n.Type, Address: n.Address, Headers: n.Headers,
				Subject: subject, Text: text,
			}
			if n.Type == "githubStatus" {
				j.Repo, j.SHA = commitOf(n, e)
			}
			jobs = append(jobs, j)
		}
	}
	return jobs
}

func listOf(v any) []Notification {
	items, _ := v.([]any)
	var out []Notification
	for _, item := range items {
		if m, ok := item.(map[string]any); ok {
			if n, err := decodeNotification(m); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// customText is the notification's message for the event, its expressions
// evaluated; a failing expression stays as written.
func customText(n Notification, typ string, e *model.Execution, s *model.StageExecution) string {
	m, _ := n.Message[typ].(map[string]any)
	text, _ := m["text"].(string)
	if text == "" || e == nil || !expr.HasExpression(text) {
		return text
	}
	c := &expr.Context{Execution: toMap(e)}
	if s != nil {
		c.Stage = toMap(s)
	}
	v, _ := expr.EvaluateString(text, c)
	if str, ok := v.(string); ok {
		return str
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{}
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// commitOf is the repository and commit a githubStatus notification marks:
// the address names the repository ("owner/repo") or the trigger does (a
// git trigger's project and slug), and the trigger names the commit (hash).
func commitOf(n Notification, e *model.Execution) (repo, sha string) {
	if e == nil {
		return n.Address, ""
	}
	t := e.Trigger.Extra
	str := func(k string) string {
		var s string
		if raw, ok := t[k]; ok && raw != nil {
			_ = json.Unmarshal(raw, &s)
		}
		return s
	}
	repo = n.Address
	if repo == "" && str("project") != "" && str("slug") != "" {
		repo = str("project") + "/" + str("slug")
	}
	sha = str("hash")
	if sha == "" {
		sha = str("sha")
	}
	return repo, sha
}
