// Package triggers starts pipelines from events: an image pushed to ECR, a
// commit pushed to CodeCommit, GitHub, GitLab or Bitbucket, a generic
// webhook, another pipeline's end, a schedule. Both runtimes use it: the
// triggers function on AWS for EventBridge events, and `gennaker up` for
// POST /events; the API serves /webhooks/{type}/{source} with it in both.
//
// An event is first normalized (one file per source) into an Event: the
// trigger type it can fire, the index key of what it comes from, and a
// matcher that applies Spinnaker's rules to one trigger. The store's trigger
// index (store.Triggers) gives the candidates under that key without reading
// any other pipeline; each candidate that matches, is enabled, and whose
// expected artifacts resolve, starts one run. The run's trigger is the
// trigger's configuration with what the event brought (tag, digest, branch,
// hash, payload, parameters, artifacts) and the event's id; deliveries of
// one event start one run per pipeline, whatever their number.
package triggers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"

	"github.com/gennaker/gennaker/shared/artifacts"
	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// Event is something that may start pipelines, normalized from its source.
type Event struct {
	// ID identifies the event: deliveries with the same ID start one run
	// of each pipeline between them.
	ID string `json:"id"`
	// Type is the trigger type the event can fire (docker, git, webhook,
	// pipeline, cron, pubsub).
	Type string `json:"type"`
	// Key is the trigger index key of what the event comes from.
	Key string `json:"key"`
	// Description says what happened, for people.
	Description string `json:"description"`
	// Artifacts are the artifacts the event carries (an image, a file).
	Artifacts []model.Artifact `json:"artifacts,omitempty"`
	// Parameters are pipeline parameters the event sets (webhooks).
	Parameters map[string]any `json:"parameters,omitempty"`
	// Raw is the event as received, recorded on the run it starts.
	Raw json.RawMessage `json:"-"`

	// only, when set, is the one trigger the event is for (a schedule's).
	only *store.TriggerEntry

	// match returns "" when the trigger fires on the event, else why not.
	match func(tr model.Trigger) string
	// fields are what the event adds to the run's trigger for tr.
	fields func(tr model.Trigger) map[string]any
}

// Starter starts runs; *orchestration.Orchestrator is one. Requests with the
// same non-empty idempotency key return the run the first one started.
type Starter interface {
	TriggerPipeline(ctx context.Context, p *model.Pipeline, trigger model.ExecutionTrigger, idempotencyKey string) (model.ExecutionID, error)
}

// Handler matches events to pipelines and starts their runs.
type Handler struct {
	Store   store.Store
	Starter Starter
	// Policy names who an automated run acts as (the trigger's runAsUser,
	// or the pipeline's managed service account); nil starts runs as no
	// one in particular, as when authentication is off.
	Policy *auth.Policy
	// Logger receives one line per run started or refused; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Outcome is what an event did to one pipeline whose trigger listens to
// what it comes from.
type Outcome struct {
	Application  model.ApplicationName `json:"application"`
	PipelineID   model.PipelineID      `json:"pipelineConfigId"`
	PipelineName string                `json:"pipelineName"`
	// TriggerIndex is the position of the trigger in the pipeline's triggers.
	TriggerIndex int `json:"triggerIndex"`
	// Started is true when the event starts (or, explained, would start) a run.
	Started bool `json:"started"`
	// Duplicate is true when an earlier delivery of the event started the run.
	Duplicate bool `json:"duplicate,omitempty"`
	// ExecutionID is the run started.
	ExecutionID model.ExecutionID `json:"executionId,omitempty"`
	// Reason says why no run started.
	Reason string `json:"reason,omitempty"`
	// Trigger is the run's trigger (explanations only).
	Trigger *model.ExecutionTrigger `json:"trigger,omitempty"`
}

// Handle starts a run of every pipeline the event triggers and says what
// it did for each candidate. An error means the index or a pipeline could
// not be read; the outcomes so far are returned with it.
func (h *Handler) Handle(ctx context.Context, ev *Event) ([]Outcome, error) {
	return h.handle(ctx, ev, true)
}

// Explain says which pipelines the event would start and why the others
// would not, starting nothing.
func (h *Handler) Explain(ctx context.Context, ev *Event) ([]Outcome, error) {
	return h.handle(ctx, ev, false)
}

func (h *Handler) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// Match returns the index entries the event fires, and for the others why
// not, without reading any pipeline.
func Match(ctx context.Context, idx store.Triggers, ev *Event) (fire []store.TriggerEntry, refused []Outcome, err error) {
	entries, err := idx.Lookup(ctx, ev.Key)
	if err != nil {
		return nil, nil, err
	}
	fired := map[model.PipelineID]bool{}
	for _, e := range entries {
		reason := ""
		if ev.only != nil && (e.PipelineID != ev.only.PipelineID || e.Index != ev.only.Index) {
			continue
		}
		switch {
		case e.Trigger.Type != ev.Type:
			reason = fmt.Sprintf("the trigger is of type %s, the event fires %s triggers", e.Trigger.Type, ev.Type)
		case !e.Trigger.Enabled:
			reason = "the trigger is disabled"
		case e.PipelineDisabled:
			reason = "the pipeline is disabled"
		case fired[e.PipelineID]:
			reason = "an earlier trigger of the pipeline fires on the event"
		default:
			reason = ev.match(e.Trigger)
		}
		if reason != "" {
			refused = append(refused, outcomeOf(e, reason))
			continue
		}
		fired[e.PipelineID] = true
		fire = append(fire, e)
	}
	return fire, refused, nil
}

func outcomeOf(e store.TriggerEntry, reason string) Outcome {
	return Outcome{Application: e.Application, PipelineID: e.PipelineID, PipelineName: e.PipelineName,
		TriggerIndex: e.Index, Reason: reason}
}

func (h *Handler) handle(ctx context.Context, ev *Event, start bool) ([]Outcome, error) {
	fire, out, err := Match(ctx, h.Store.Triggers(), ev)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ev.Description, err)
	}
	for _, e := range fire {
		o := outcomeOf(e, "")
		p, err := h.Store.Pipelines().Get(ctx, e.PipelineID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since the lookup
		}
		if err != nil {
			return out, fmt.Errorf("%s: %w", ev.Description, err)
		}
		tr, err := h.runTrigger(ctx, p, e.Trigger, ev)
		if err != nil {
			o.Reason = err.Error()
			h.log().InfoContext(ctx, "trigger did not start a run", "event", ev.ID, "pipeline", p.ID, "application", p.Application, "reason", o.Reason)
			out = append(out, o)
			continue
		}
		if !start {
			o.Started, o.Trigger = true, &tr
			out = append(out, o)
			continue
		}
		o.ExecutionID, o.Duplicate, err = h.start(ctx, p, tr, ev, e.Trigger.Field("runAsUser"))
		if err != nil {
			o.Reason = err.Error()
			h.log().WarnContext(ctx, "trigger could not start a run", "event", ev.ID, "pipeline", p.ID, "application", p.Application, "error", err)
		} else {
			o.Started = true
			h.log().InfoContext(ctx, "trigger started a run", "event", ev.ID, "pipeline", p.ID, "application", p.Application, "executionId", o.ExecutionID, "duplicate", o.Duplicate)
		}
		out = append(out, o)
	}
	return out, nil
}

// deliveryKey is the record that says which run a delivery of an event
// started for a pipeline.
func deliveryKey(ev *Event, id model.PipelineID) string {
	return "trigger-delivery/" + ev.Type + "/" + ev.ID + "/" + string(id)
}

// start starts the run, or finds the one an earlier delivery started.
func (h *Handler) start(ctx context.Context, p *model.Pipeline, tr model.ExecutionTrigger, ev *Event, runAsUser string) (model.ExecutionID, bool, error) {
	if h.Policy != nil {
		ctx = auth.WithIdentity(ctx, h.Policy.AutomatedIdentity(p, runAsUser))
	}
	key := deliveryKey(ev, p.ID)
	if v, found, err := h.Store.Records().Get(ctx, key); err != nil {
		return "", false, err
	} else if found {
		return model.ExecutionID(v), true, nil
	}
	// The same key reaches the orchestrator, so deliveries racing past the
	// record above still start one run.
	id, err := h.Starter.TriggerPipeline(ctx, p, tr, key)
	if err != nil {
		return "", false, err
	}
	if err := h.Store.Records().Put(ctx, key, []byte(id)); err != nil {
		h.log().WarnContext(ctx, "record trigger delivery", "key", key, "error", err)
	}
	return id, false, nil
}

// maxRecordedEvent bounds the event recorded on a run, so a large webhook
// payload cannot push the run past the store's record size.
const maxRecordedEvent = 32 << 10

// runTrigger builds the run's trigger: the trigger's configuration, what
// the event adds, and the expected artifacts resolved. It returns an error
// that says why when the pipeline's required artifacts are not there.
func (h *Handler) runTrigger(ctx context.Context, p *model.Pipeline, cfg model.Trigger, ev *Event) (model.ExecutionTrigger, error) {
	tr := model.ExecutionTrigger{Type: cfg.Type, Extra: model.Extra{}}
	maps.Copy(tr.Extra, cfg.Extra)
	tr.Extra["enabled"] = json.RawMessage("true")
	tr.User = "[anonymous]"
	if u := cfg.Field("runAsUser"); u != "" {
		tr.User = u
	}
	if ev.fields != nil {
		for k, v := range ev.fields(cfg) {
			b, err := json.Marshal(v)
			if err != nil {
				return tr, fmt.Errorf("trigger field %s: %w", k, err)
			}
			tr.Extra[k] = b
		}
	}
	tr.Extra["eventId"] = mustJSON(ev.ID)
	if len(ev.Raw) > 0 && len(ev.Raw) <= maxRecordedEvent && json.Valid(ev.Raw) {
		tr.Extra["event"] = ev.Raw
	}
	tr.Parameters = maps.Clone(ev.Parameters)
	received := append([]model.Artifact(nil), ev.Artifacts...)
	res, err := Resolve(ctx, h.Store, p, cfg, received)
	if err != nil {
		return tr, err
	}
	tr.Artifacts = res.Artifacts
	tr.Extra["resolvedExpectedArtifacts"] = mustJSON(res.Expected)
	return tr, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only values built here, which always encode
	}
	return b
}

// hashID is an event id made from what identifies a delivery when its
// source gives none: the same payload is the same event.
func hashID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// fullMatch reports whether s matches the pattern as a whole (see
// artifacts.FullMatch).
func fullMatch(pattern, s string) bool { return artifacts.FullMatch(pattern, s) }
