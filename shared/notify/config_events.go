package notify

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/auth"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

type userKey struct{}

// WithUser returns ctx carrying who makes a request, for the configuration
// events it causes.
func WithUser(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, userKey{}, user)
}

func userOf(ctx context.Context) string {
	if id, ok := auth.FromContext(ctx); ok && id.Name != "" {
		return id.Name
	}
	u, _ := ctx.Value(userKey{}).(string)
	return u
}

// ConfigEvents is a store whose pipeline saves and deletes publish
// configuration events (pipeline.saved, pipeline.enabled,
// pipeline.disabled, pipeline.deleted) with who made them: the API's view
// of the store.
type ConfigEvents struct {
	store.Store
	Publisher Publisher
	Now       func() time.Time
}

// Pipelines implements store.Store.
func (c ConfigEvents) Pipelines() store.Pipelines {
	return configPipelines{Pipelines: c.Store.Pipelines(), c: c}
}

type configPipelines struct {
	store.Pipelines
	c ConfigEvents
}

func (c ConfigEvents) now() int64 {
	if c.Now != nil {
		return c.Now().UnixMilli()
	}
	return time.Now().UnixMilli()
}

func (p configPipelines) Save(ctx context.Context, pl *model.Pipeline, user string, expect int) (int, error) {
	before, _ := p.Pipelines.Get(ctx, pl.ID)
	v, err := p.Pipelines.Save(ctx, pl, user, expect)
	if err != nil {
		return v, err
	}
	if user == "" {
		user = userOf(ctx)
	}
	ev := p.event(pl, user, PipelineSaved, fmt.Sprintf("%s/%d", pl.ID, v))
	events := []Event{ev}
	if before != nil && before.Disabled != pl.Disabled {
		typ := PipelineEnabled
		if pl.Disabled {
			typ = PipelineDisabled
		}
		events = append(events, p.event(pl, user, typ, fmt.Sprintf("%s/%d", pl.ID, v)))
	}
	p.publish(ctx, events)
	return v, nil
}

func (p configPipelines) Delete(ctx context.Context, id model.PipelineID) error {
	before, _ := p.Pipelines.Get(ctx, id)
	if err := p.Pipelines.Delete(ctx, id); err != nil {
		return err
	}
	if before != nil {
		p.publish(ctx, []Event{p.event(before, userOf(ctx), PipelineDeleted, fmt.Sprintf("%s/%d", id, p.c.now()))})
	}
	return nil
}

func (p configPipelines) event(pl *model.Pipeline, user, typ, key string) Event {
	return Event{
		Key: "config/" + key + "/" + typ, Type: typ, Time: p.c.now(),
		Application: pl.Application, PipelineID: pl.ID, Pipeline: pl.Name, User: user,
	}
}

func (p configPipelines) publish(ctx context.Context, events []Event) {
	if p.c.Publisher != nil {
		_ = p.c.Publisher.Publish(ctx, events)
	}
}

// UserContext passes who makes each request (Gate's X-SPINNAKER-USER) to
// the configuration events it causes.
func UserContext(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := strings.TrimSpace(r.Header.Get("X-SPINNAKER-USER")); u != "" {
			r = r.WithContext(WithUser(r.Context(), u))
		} else {
			r = r.WithContext(WithUser(r.Context(), "anonymous"))
		}
		h.ServeHTTP(w, r)
	})
}
