package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gennaker/gennaker/shared/api/gateerr"
	"github.com/gennaker/gennaker/shared/model"
)

// Patterns are the paths HTTP serves, for the API to mount: EventBridge
// events (gennaker up's stand-in for the rules of the triggers function)
// and webhooks.
var Patterns = []string{"POST /events", "POST /webhooks/{type}/{source}",
	"POST /events/explain", "POST /webhooks/{type}/{source}/explain"}

// maxBody bounds a delivery's body.
const maxBody = 1 << 20

// Response is what POST /events and POST /webhooks answer: per event, what
// it did to each pipeline listening to its source.
type Response struct {
	Events []EventOutcome `json:"events"`
}

// EventOutcome is what one event did.
type EventOutcome struct {
	ID          string    `json:"id"`
	Description string    `json:"description,omitempty"`
	Ignored     string    `json:"ignored,omitempty"`
	Pipelines   []Outcome `json:"pipelines"`
}

// HTTP serves Patterns with the handler.
func (h *Handler) HTTP() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", h.serveEvents(true))
	mux.HandleFunc("POST /webhooks/{type}/{source}", h.serveWebhook(true))
	mux.HandleFunc("POST /events/explain", h.serveEvents(false))
	mux.HandleFunc("POST /webhooks/{type}/{source}/explain", h.serveWebhook(false))
	return mux
}

func writeError(w http.ResponseWriter, status int, msg string) {
	_ = gateerr.Write(w, status, msg, time.Now())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBody))
		return nil, false
	}
	return body, true
}

// serveEvents takes what the triggers function takes (an EventBridge
// event, a PutEvents request, an SQS batch, a schedule's input) and starts
// runs, or (start false) says which it would start and why not the others.
func (h *Handler) serveEvents(start bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		resp, err := h.dispatch(r.Context(), body, start)
		if err != nil {
			writeError(w, statusOf(err), "POST "+r.URL.Path+": "+err.Error())
			return
		}
		writeJSON(w, resp)
	}
}

// HandleEventBridge handles one EventBridge event, as the triggers function
// does: an event no trigger listens to, or one that starts nothing (an
// image deleted), is reported as ignored, not as an error.
func (h *Handler) HandleEventBridge(ctx context.Context, raw EventBridgeEvent) (EventOutcome, error) {
	return h.eventBridge(ctx, raw, true)
}

func (h *Handler) eventBridge(ctx context.Context, raw EventBridgeEvent, start bool) (EventOutcome, error) {
	ev, err := FromEventBridge(raw)
	if errors.Is(err, ErrUnknownEvent) || errors.Is(err, ErrIgnoredEvent) {
		return EventOutcome{ID: raw.ID, Ignored: err.Error(), Pipelines: []Outcome{}}, nil
	}
	if err != nil {
		return EventOutcome{}, &BadEventError{Err: err}
	}
	return h.handleOne(ctx, ev, start)
}

func (h *Handler) handleOne(ctx context.Context, ev *Event, start bool) (EventOutcome, error) {
	outs, err := h.handle(ctx, ev, start)
	if err != nil {
		return EventOutcome{}, err
	}
	if outs == nil {
		outs = []Outcome{}
	}
	return EventOutcome{ID: ev.ID, Description: ev.Description, Pipelines: outs}, nil
}

// BadEventError is an event the caller must fix.
type BadEventError struct{ Err error }

func (e *BadEventError) Error() string { return e.Err.Error() }
func (e *BadEventError) Unwrap() error { return e.Err }

func statusOf(err error) int {
	var bad *BadEventError
	if errors.As(err, &bad) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// serveWebhook takes a delivery to /webhooks/{type}/{source}, or (start
// false) explains it.
func (h *Handler) serveWebhook(start bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		typ, source := r.PathValue("type"), r.PathValue("source")
		ev, err := FromWebhook(typ, source, r.Header, body)
		switch {
		case errors.Is(err, ErrIgnoredEvent):
			writeJSON(w, Response{Events: []EventOutcome{{Ignored: err.Error(), Pipelines: []Outcome{}}}})
			return
		case errors.Is(err, ErrUnknownEvent):
			writeError(w, http.StatusNotFound, err.Error())
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("webhook %s/%s: %v", typ, source, err))
			return
		}
		out, err := h.handleOne(r.Context(), ev, start)
		if err != nil {
			writeError(w, statusOf(err), err.Error())
			return
		}
		writeJSON(w, Response{Events: []EventOutcome{out}})
	}
}

// RunEnded starts the runs whose pipeline triggers listen to a run that
// has ended; it is the orchestrator's run-end hook. It may be called more
// than once for one run and starts the runs once.
func (h *Handler) RunEnded(ctx context.Context, header *model.Execution) error {
	if header.PipelineConfigID == "" || triggerStatus(header.Status) == "" {
		return nil
	}
	e, err := h.Store.Executions().Get(ctx, header.ID)
	if err != nil {
		return fmt.Errorf("read run %s: %w", header.ID, err)
	}
	ev := PipelineEnded(e)
	if ev == nil {
		return nil
	}
	_, err = h.Handle(ctx, ev)
	return err
}
