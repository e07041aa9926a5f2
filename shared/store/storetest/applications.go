package storetest

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

var applicationTests = []test{
	{"GetMissing", func(t *testing.T, s store.Store) {
		_, err := s.Applications().Get(ctx(t), "nosuchapp")
		wantErr(t, err, store.ErrNotFound, "nosuchapp")
	}},
	{"PutThenGetKeepsUnknownFields", func(t *testing.T, s store.Store) {
		var app model.Application
		load(t, "application.json", &app)
		if len(app.Extra) == 0 {
			t.Fatal("testdata/application.json should have fields the model does not declare")
		}
		noErr(t, s.Applications().Put(ctx(t), &app), "put")
		got, err := s.Applications().Get(ctx(t), app.Name)
		noErr(t, err, "get")
		sameJSON(t, "application", got, &app)
		if string(got.Extra["instancePort"]) != "8080" {
			t.Errorf("unknown field instancePort = %s, want 8080", got.Extra["instancePort"])
		}
	}},
	{"PutReplaces", func(t *testing.T, s store.Store) {
		apps := s.Applications()
		noErr(t, apps.Put(ctx(t), &model.Application{Name: "shop", Email: "old@example.com", Description: "old"}), "put")
		noErr(t, apps.Put(ctx(t), &model.Application{Name: "shop", Email: "new@example.com"}), "put again")
		got, err := apps.Get(ctx(t), "shop")
		noErr(t, err, "get")
		sameJSON(t, "replaced application", got, &model.Application{Name: "shop", Email: "new@example.com"})
		list, err := apps.List(ctx(t))
		noErr(t, err, "list")
		if len(list) != 1 {
			t.Fatalf("list has %d applications after replacing one, want 1", len(list))
		}
	}},
	{"ListOrderedByName", func(t *testing.T, s store.Store) {
		apps := s.Applications()
		for _, name := range []model.ApplicationName{"web", "api", "shop", "api-gateway", "batch"} {
			noErr(t, apps.Put(ctx(t), &model.Application{Name: name, Email: string(name) + "@example.com"}), "put")
		}
		list, err := apps.List(ctx(t))
		noErr(t, err, "list")
		var names []model.ApplicationName
		for _, a := range list {
			names = append(names, a.Name)
			if a.Email != string(a.Name)+"@example.com" {
				t.Errorf("application %s listed with email %q", a.Name, a.Email)
			}
		}
		sameJSON(t, "application names", names, []model.ApplicationName{"api", "api-gateway", "batch", "shop", "web"})
	}},
	{"ListEmpty", func(t *testing.T, s store.Store) {
		list, err := s.Applications().List(ctx(t))
		noErr(t, err, "list")
		if len(list) != 0 {
			t.Fatalf("empty store lists %d applications", len(list))
		}
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		apps := s.Applications()
		noErr(t, apps.Put(ctx(t), &model.Application{Name: "shop"}), "put")
		noErr(t, apps.Put(ctx(t), &model.Application{Name: "web"}), "put")
		noErr(t, apps.Delete(ctx(t), "shop"), "delete")
		_, err := apps.Get(ctx(t), "shop")
		wantErr(t, err, store.ErrNotFound, "shop")
		list, err := apps.List(ctx(t))
		noErr(t, err, "list")
		if len(list) != 1 || list[0].Name != "web" {
			t.Fatalf("after deleting shop, list = %v, want only web", list)
		}
		noErr(t, apps.Delete(ctx(t), "shop"), "deleting a missing application")
	}},
	{"TooLarge", func(t *testing.T, s store.Store) {
		err := s.Applications().Put(ctx(t), &model.Application{Name: "shop", Description: oversized})
		wantErr(t, err, store.ErrTooLarge, "shop")
		_, err = s.Applications().Get(ctx(t), "shop")
		wantErr(t, err, store.ErrNotFound, "shop")
	}},
}
