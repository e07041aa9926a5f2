package canary_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/gennaker/gennaker/shared/canary"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/dynamodb"
	"github.com/gennaker/gennaker/shared/store/dynamodb/dynalitetest"
	"github.com/gennaker/gennaker/shared/store/embedded"
)

var prefixes atomic.Int64

// backends are the two stores canary configs live in: the embedded one
// and DynamoDB (dynalite).
func backends(t *testing.T) map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"embedded": func(t *testing.T) store.Store {
			s, err := embedded.Open(filepath.Join(t.TempDir(), "db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"dynamodb": func(t *testing.T) store.Store {
			client := dynalitetest.Client(dynalitetest.Start(t))
			tables := dynamodb.TablesWithPrefix(fmt.Sprintf("canary%d-", prefixes.Add(1)))
			if err := dynamodb.CreateTables(t.Context(), client, tables); err != nil {
				t.Fatal(err)
			}
			return dynamodb.New(client, tables)
		},
	}
}

func parse(t *testing.T, doc string) *canary.Config {
	t.Helper()
	c, probs := canary.ParseConfig([]byte(doc))
	if probs != nil {
		t.Fatal(probs)
	}
	return c
}

const doc = `{"name": %q, "applications": ["web"], "description": %q,
  "metrics": [{"name": "errors", "query": {"type": "prometheus", "metricName": "e", "resourceType": "aws_ec2_instance"}, "groups": ["g"]}]}`

// TestConfigsKeepEveryVersion: on both stores a config is saved, updated,
// listed, read back at each version, refused a name another config holds,
// and deleted with its history.
func TestConfigsKeepEveryVersion(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			configs := canary.NewConfigs(open(t))
			c := parse(t, fmt.Sprintf(doc, "web", "first"))
			if v, err := configs.Save(ctx, c, "ana"); err != nil || v != 1 || c.ID == "" {
				t.Fatalf("save: %d %v", v, err)
			}
			id := c.ID
			c2 := parse(t, fmt.Sprintf(doc, "web", "second"))
			c2.ID = id
			if v, err := configs.Save(ctx, c2, "bo"); err != nil || v != 2 {
				t.Fatalf("update: %d %v", v, err)
			}
			got, err := configs.Get(ctx, id)
			if err != nil || got.Description != "second" || got.Doc["id"] != id {
				t.Fatalf("get: %+v %v", got, err)
			}
			if byName, err := configs.GetByName(ctx, "web"); err != nil || byName.ID != id {
				t.Errorf("by name: %v", err)
			}
			hist, err := configs.History(ctx, id)
			if err != nil || len(hist) != 2 || hist[0].User != "bo" || hist[1].Config["description"] != "first" {
				t.Fatalf("history: %+v %v", hist, err)
			}
			other := parse(t, fmt.Sprintf(doc, "web", "clash"))
			if _, err := configs.Save(ctx, other, "cy"); !errors.Is(err, canary.ErrNameTaken) {
				t.Errorf("a second config named web: %v", err)
			}
			if list, _ := configs.List(ctx, ""); len(list) != 1 {
				t.Errorf("a refused save stores nothing: %+v", list)
			}
			missing := parse(t, fmt.Sprintf(doc, "x", "x"))
			missing.ID = "no-such-config"
			if _, err := configs.Save(ctx, missing, "cy"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("updating a missing config: %v", err)
			}
			if err := configs.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			if _, err := configs.Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("deleted: %v", err)
			}
			if _, err := configs.History(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("history of a deleted config: %v", err)
			}
		})
	}
}
