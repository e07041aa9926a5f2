package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// withTrigger returns p with one more trigger of the given type and fields.
func withTrigger(p *model.Pipeline, typ string, enabled bool, fields map[string]any) *model.Pipeline {
	tr := model.Trigger{Type: typ, Enabled: enabled, Extra: model.Extra{}}
	for k, v := range fields {
		b, _ := json.Marshal(v)
		tr.Extra[k] = b
	}
	p.Triggers = append(p.Triggers, tr)
	return p
}

func dockerKey(repo string) string { return model.TriggerIndexKey("docker", repo) }

// lookup returns the ids and trigger indexes under key, as "id/index".
func lookup(t *testing.T, s store.Store, key string) []string {
	t.Helper()
	entries, err := s.Triggers().Lookup(ctx(t), key)
	noErr(t, err, "look up "+key)
	out := []string{}
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%s/%d", e.PipelineID, e.Index))
	}
	return out
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

var triggerTests = []test{
	{"LookupNothing", func(t *testing.T, s store.Store) {
		sameList(t, "an empty index", lookup(t, s, dockerKey("shop/api")), []string{})
	}},
	{"SaveIndexesEveryTrigger", func(t *testing.T, s store.Store) {
		p := withTrigger(pipeline("p1", "shop", "Deploy"), "docker", true, map[string]any{"repository": "shop/api", "tag": "v.*"})
		withTrigger(p, "git", false, map[string]any{"source": "github", "slug": "api", "branch": "main"})
		save(t, s, p, "", 0)
		save(t, s, withTrigger(pipeline("p0", "shop", "Other"), "docker", true, map[string]any{"repository": "Shop/API"}), "", 0)

		sameList(t, "docker shop/api (case does not matter)", lookup(t, s, dockerKey("shop/api")), []string{"p0/0", "p1/0"})
		sameList(t, "git github api", lookup(t, s, model.TriggerIndexKey("git", "github", "api")), []string{"p1/1"})
		entries, err := s.Triggers().Lookup(ctx(t), model.TriggerIndexKey("git", "github", "api"))
		noErr(t, err, "look up git")
		e := entries[0]
		if e.Application != "shop" || e.PipelineName != "Deploy" || e.Trigger.Enabled || e.Trigger.Field("branch") != "main" {
			t.Fatalf("entry %+v does not carry the pipeline and its disabled trigger with its fields", e)
		}
	}},
	{"UpdateMovesEntries", func(t *testing.T, s store.Store) {
		p := withTrigger(pipeline("p1", "shop", "Deploy"), "docker", true, map[string]any{"repository": "shop/api"})
		save(t, s, p, "", 0)
		p = withTrigger(pipeline("p1", "shop", "Deploy"), "docker", true, map[string]any{"repository": "shop/web"})
		save(t, s, p, "", 1)
		sameList(t, "old repository", lookup(t, s, dockerKey("shop/api")), []string{})
		sameList(t, "new repository", lookup(t, s, dockerKey("shop/web")), []string{"p1/0"})

		p.Disabled = true
		save(t, s, p, "", 2)
		entries, err := s.Triggers().Lookup(ctx(t), dockerKey("shop/web"))
		noErr(t, err, "look up")
		if len(entries) != 1 || !entries[0].PipelineDisabled {
			t.Fatalf("a disabled pipeline's trigger should be indexed as disabled, got %+v", entries)
		}

		p = pipeline("p1", "shop", "Deploy")
		save(t, s, p, "", 3)
		sameList(t, "no triggers any more", lookup(t, s, dockerKey("shop/web")), []string{})
	}},
	{"RefusedSaveKeepsEntries", func(t *testing.T, s store.Store) {
		save(t, s, withTrigger(pipeline("p1", "shop", "Deploy"), "docker", true, map[string]any{"repository": "shop/api"}), "", 0)
		_, err := s.Pipelines().Save(ctx(t), withTrigger(pipeline("p1", "shop", "Deploy"), "docker", true, map[string]any{"repository": "shop/web"}), "", 7)
		wantErr(t, err, store.ErrConflict, "p1")
		sameList(t, "after a refused save", lookup(t, s, dockerKey("shop/api")), []string{"p1/0"})
		sameList(t, "the refused save's trigger", lookup(t, s, dockerKey("shop/web")), []string{})
	}},
	{"DeleteRemovesEntries", func(t *testing.T, s store.Store) {
		save(t, s, withTrigger(pipeline("p1", "shop", "Deploy"), "webhook", true, map[string]any{"source": "ci"}), "", 0)
		save(t, s, withTrigger(pipeline("p2", "shop", "Other"), "webhook", true, map[string]any{"source": "ci"}), "", 0)
		noErr(t, s.Pipelines().Delete(ctx(t), "p1"), "delete p1")
		sameList(t, "after delete", lookup(t, s, model.TriggerIndexKey("webhook", "ci")), []string{"p2/0"})
	}},
}
