package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// pipeline returns a small configuration with one stage.
func pipeline(id model.PipelineID, app model.ApplicationName, name string) *model.Pipeline {
	return &model.Pipeline{
		ID:          id,
		Application: app,
		Name:        name,
		Stages: []model.Stage{{
			RefID: "1",
			Type:  "wait",
			Name:  "Wait",
			Extra: model.Extra{"waitTime": []byte("5")},
		}},
	}
}

// save saves p, failing the test on error, and returns the version.
func save(t *testing.T, s store.Store, p *model.Pipeline, user string, expect int) int {
	t.Helper()
	v, err := s.Pipelines().Save(ctx(t), p, user, expect)
	noErr(t, err, fmt.Sprintf("save pipeline %s", p.ID))
	return v
}

func intp(i int) *int { return &i }

var pipelineTests = []test{
	{"GetMissing", func(t *testing.T, s store.Store) {
		_, err := s.Pipelines().Get(ctx(t), "no-such-pipeline")
		wantErr(t, err, store.ErrNotFound, "no-such-pipeline")
		_, err = s.Pipelines().GetByName(ctx(t), "shop", "No such pipeline")
		wantErr(t, err, store.ErrNotFound, "shop", "No such pipeline")
		_, err = s.Pipelines().History(ctx(t), "no-such-pipeline")
		wantErr(t, err, store.ErrNotFound, "no-such-pipeline")
		_, err = s.Pipelines().Version(ctx(t), "no-such-pipeline", 1)
		wantErr(t, err, store.ErrNotFound, "no-such-pipeline")
	}},
	{"RoundTripKeepsUnknownFields", func(t *testing.T, s store.Store) {
		var p model.Pipeline
		load(t, "pipeline.json", &p)
		if p.Extra["pluginSettings"] == nil || p.Stages[1].Extra["clusters"] == nil || p.Triggers[0].Extra["repository"] == nil {
			t.Fatal("testdata/pipeline.json should have fields the model does not declare")
		}
		want := normalize(t, &p)
		v := save(t, s, &p, "alice@example.com", 0)
		if v != 1 {
			t.Fatalf("first save returned version %d, want 1", v)
		}
		sameJSON(t, "caller's pipeline after save", &p, want)

		got, err := s.Pipelines().Get(ctx(t), p.ID)
		noErr(t, err, "get")
		sameJSON(t, "pipeline", got, want)
		if string(got.Stages[0].Extra["waitTime"]) != "30" {
			t.Errorf("stage field waitTime = %s, want 30", got.Stages[0].Extra["waitTime"])
		}
		byName, err := s.Pipelines().GetByName(ctx(t), p.Application, p.Name)
		noErr(t, err, "get by name")
		sameJSON(t, "pipeline by name", byName, want)
		ver, err := s.Pipelines().Version(ctx(t), p.ID, 1)
		noErr(t, err, "version 1")
		sameJSON(t, "version 1", &ver.Pipeline, want)
		list, err := s.Pipelines().List(ctx(t), p.Application)
		noErr(t, err, "list")
		if len(list) != 1 {
			t.Fatalf("list has %d pipelines, want 1", len(list))
		}
		sameJSON(t, "listed pipeline", &list[0], want)
	}},
	{"SaveAssignsVersionsAndGetReturnsLatest", func(t *testing.T, s store.Store) {
		p := pipeline("p1", "shop", "Deploy")
		for want := 1; want <= 3; want++ {
			p.Description = "revision " + strconv.Itoa(want)
			if got := save(t, s, p, "alice", 0); got != want {
				t.Fatalf("save #%d returned version %d", want, got)
			}
		}
		got, err := s.Pipelines().Get(ctx(t), "p1")
		noErr(t, err, "get")
		if got.Description != "revision 3" {
			t.Errorf("Get returned description %q, want the latest, %q", got.Description, "revision 3")
		}
		got, err = s.Pipelines().GetByName(ctx(t), "shop", "Deploy")
		noErr(t, err, "get by name")
		if got.Description != "revision 3" {
			t.Errorf("GetByName returned description %q, want %q", got.Description, "revision 3")
		}
	}},
	{"HistoryNewestFirstWithUserAndTime", func(t *testing.T, s store.Store) {
		p := pipeline("p1", "shop", "Deploy")
		users := []string{"alice", "bob", "carol"}
		var before, after []int64
		for i, u := range users {
			p.Description = "by " + u
			before = append(before, time.Now().UnixMilli())
			if v := save(t, s, p, u, 0); v != i+1 {
				t.Fatalf("save by %s returned version %d, want %d", u, v, i+1)
			}
			after = append(after, time.Now().UnixMilli())
		}
		hist, err := s.Pipelines().History(ctx(t), "p1")
		noErr(t, err, "history")
		if len(hist) != len(users) {
			t.Fatalf("history has %d versions, want %d", len(hist), len(users))
		}
		for i, h := range hist {
			n := len(users) - i // newest first
			u := users[n-1]
			if h.Version != n || h.User != u || h.Pipeline.Description != "by "+u {
				t.Errorf("history[%d] = version %d by %q (%q), want version %d by %q", i, h.Version, h.User, h.Pipeline.Description, n, u)
			}
			if h.Timestamp < before[n-1] || h.Timestamp > after[n-1] {
				t.Errorf("version %d timestamp %d is not the save time in Unix ms (between %d and %d)", n, h.Timestamp, before[n-1], after[n-1])
			}
			v, err := s.Pipelines().Version(ctx(t), "p1", n)
			noErr(t, err, fmt.Sprintf("version %d", n))
			sameJSON(t, fmt.Sprintf("version %d", n), v, &h)
		}
		_, err = s.Pipelines().Version(ctx(t), "p1", 4)
		wantErr(t, err, store.ErrNotFound, "p1")
		_, err = s.Pipelines().Version(ctx(t), "p1", 0)
		wantErr(t, err, store.ErrNotFound, "p1")
	}},
	{"ExpectVersionConflictStoresNothing", func(t *testing.T, s store.Store) {
		p := pipeline("p1", "shop", "Deploy")
		save(t, s, p, "alice", 0)
		p.Description = "second"
		if v := save(t, s, p, "alice", 1); v != 2 {
			t.Fatalf("save expecting version 1 returned %d, want 2", v)
		}
		p.Description = "stale edit"
		_, err := s.Pipelines().Save(ctx(t), p, "bob", 1)
		wantErr(t, err, store.ErrConflict, "p1")
		got, err := s.Pipelines().Get(ctx(t), "p1")
		noErr(t, err, "get")
		if got.Description != "second" {
			t.Errorf("after a conflicting save, Get returned %q, want %q", got.Description, "second")
		}
		hist, err := s.Pipelines().History(ctx(t), "p1")
		noErr(t, err, "history")
		if len(hist) != 2 {
			t.Errorf("after a conflicting save, history has %d versions, want 2", len(hist))
		}
		p.Description = "third"
		if v := save(t, s, p, "bob", 2); v != 3 {
			t.Fatalf("save expecting the current version returned %d, want 3", v)
		}
	}},
	{"ExpectVersionOfMissingPipelineConflicts", func(t *testing.T, s store.Store) {
		_, err := s.Pipelines().Save(ctx(t), pipeline("p1", "shop", "Deploy"), "alice", 3)
		wantErr(t, err, store.ErrConflict, "p1")
		_, err = s.Pipelines().Get(ctx(t), "p1")
		wantErr(t, err, store.ErrNotFound, "p1")
	}},
	{"ConcurrentSavesExpectingOneVersionOnlyOneWins", func(t *testing.T, s store.Store) {
		save(t, s, pipeline("p1", "shop", "Deploy"), "alice", 0)
		const writers = 8
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := pipeline("p1", "shop", "Deploy")
				p.Description = "writer " + strconv.Itoa(i)
				_, errs[i] = s.Pipelines().Save(ctx(t), p, "writer", 1)
			}()
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("writer %d: %v, want nil or ErrConflict", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d concurrent saves expecting version 1 succeeded, want exactly 1", wins, writers)
		}
		hist, err := s.Pipelines().History(ctx(t), "p1")
		noErr(t, err, "history")
		if len(hist) != 2 {
			t.Fatalf("history has %d versions, want 2", len(hist))
		}
	}},
	{"NameClashInApplicationConflicts", func(t *testing.T, s store.Store) {
		save(t, s, pipeline("p1", "shop", "Deploy"), "alice", 0)
		_, err := s.Pipelines().Save(ctx(t), pipeline("p2", "shop", "Deploy"), "bob", 0)
		wantErr(t, err, store.ErrConflict, "Deploy")
		_, err = s.Pipelines().Get(ctx(t), "p2")
		wantErr(t, err, store.ErrNotFound, "p2")
		got, err := s.Pipelines().GetByName(ctx(t), "shop", "Deploy")
		noErr(t, err, "get by name")
		if got.ID != "p1" {
			t.Fatalf("shop's Deploy is now pipeline %s, want p1", got.ID)
		}
		// The same name in another application is a different pipeline.
		save(t, s, pipeline("p3", "web", "Deploy"), "bob", 0)
	}},
	{"RenameFreesOldName", func(t *testing.T, s store.Store) {
		p := pipeline("p1", "shop", "Deploy")
		save(t, s, p, "alice", 0)
		p.Name = "Deploy to prod"
		save(t, s, p, "alice", 0)
		_, err := s.Pipelines().GetByName(ctx(t), "shop", "Deploy")
		wantErr(t, err, store.ErrNotFound, "Deploy")
		got, err := s.Pipelines().GetByName(ctx(t), "shop", "Deploy to prod")
		noErr(t, err, "get by new name")
		if got.ID != "p1" {
			t.Fatalf("GetByName(new name) = %s, want p1", got.ID)
		}
		save(t, s, pipeline("p2", "shop", "Deploy"), "bob", 0)
		list, err := s.Pipelines().List(ctx(t), "shop")
		noErr(t, err, "list")
		if len(list) != 2 {
			t.Fatalf("list has %d pipelines after a rename and a new one, want 2", len(list))
		}
	}},
	{"SaveRequiresID", func(t *testing.T, s store.Store) {
		if _, err := s.Pipelines().Save(ctx(t), pipeline("", "shop", "Deploy"), "alice", 0); err == nil {
			t.Fatal("saving a pipeline without an id succeeded")
		}
		list, err := s.Pipelines().List(ctx(t), "shop")
		noErr(t, err, "list")
		if len(list) != 0 {
			t.Fatalf("a refused save left %d pipelines", len(list))
		}
	}},
	{"ListOrderedByIndexThenName", func(t *testing.T, s store.Store) {
		for _, p := range []struct {
			id    model.PipelineID
			name  string
			index *int
		}{
			{"p-none-b", "Nightly", nil},
			{"p-2", "Promote", intp(2)},
			{"p-1-b", "Deploy", intp(1)},
			{"p-0", "Build", intp(0)},
			{"p-none-a", "Cleanup", nil},
			{"p-1-a", "Canary", intp(1)},
		} {
			pl := pipeline(p.id, "shop", p.name)
			pl.Index = p.index
			save(t, s, pl, "alice", 0)
		}
		save(t, s, pipeline("other", "web", "Another app's"), "alice", 0)
		list, err := s.Pipelines().List(ctx(t), "shop")
		noErr(t, err, "list")
		var names []string
		for _, p := range list {
			names = append(names, p.Name)
		}
		sameJSON(t, "pipeline order", names, []string{"Build", "Canary", "Deploy", "Promote", "Cleanup", "Nightly"})
	}},
	{"ListShowsLatestVersion", func(t *testing.T, s store.Store) {
		p := pipeline("p1", "shop", "Deploy")
		save(t, s, p, "alice", 0)
		p.Description = "latest"
		save(t, s, p, "alice", 0)
		list, err := s.Pipelines().List(ctx(t), "shop")
		noErr(t, err, "list")
		if len(list) != 1 || list[0].Description != "latest" {
			t.Fatalf("list = %+v, want one pipeline at its latest version", list)
		}
		empty, err := s.Pipelines().List(ctx(t), "nosuchapp")
		noErr(t, err, "list an application without pipelines")
		if len(empty) != 0 {
			t.Fatalf("an application without pipelines lists %d", len(empty))
		}
	}},
	{"DeleteRemovesHistoryAndName", func(t *testing.T, s store.Store) {
		p := pipeline("p1", "shop", "Deploy")
		save(t, s, p, "alice", 0)
		save(t, s, p, "alice", 0)
		save(t, s, pipeline("p2", "shop", "Other"), "alice", 0)
		noErr(t, s.Pipelines().Delete(ctx(t), "p1"), "delete")
		_, err := s.Pipelines().Get(ctx(t), "p1")
		wantErr(t, err, store.ErrNotFound, "p1")
		_, err = s.Pipelines().History(ctx(t), "p1")
		wantErr(t, err, store.ErrNotFound, "p1")
		_, err = s.Pipelines().Version(ctx(t), "p1", 1)
		wantErr(t, err, store.ErrNotFound, "p1")
		_, err = s.Pipelines().GetByName(ctx(t), "shop", "Deploy")
		wantErr(t, err, store.ErrNotFound, "Deploy")
		list, err := s.Pipelines().List(ctx(t), "shop")
		noErr(t, err, "list")
		if len(list) != 1 || list[0].ID != "p2" {
			t.Fatalf("after deleting p1, list = %+v, want only p2", list)
		}
		noErr(t, s.Pipelines().Delete(ctx(t), "p1"), "deleting a missing pipeline")

		// The name is free again, and a pipeline saved under the old id
		// starts a history of its own.
		save(t, s, pipeline("p3", "shop", "Deploy"), "bob", 0)
		save(t, s, pipeline("p1", "shop", "Reborn"), "bob", 0)
		hist, err := s.Pipelines().History(ctx(t), "p1")
		noErr(t, err, "history")
		if len(hist) != 1 || hist[0].Pipeline.Name != "Reborn" {
			t.Fatalf("history of a re-created pipeline = %+v, want only the new save", hist)
		}
	}},
	{"TooLarge", func(t *testing.T, s store.Store) {
		p := pipeline("p1", "shop", "Deploy")
		p.Description = oversized
		_, err := s.Pipelines().Save(ctx(t), p, "alice", 0)
		wantErr(t, err, store.ErrTooLarge, "p1")
		_, err = s.Pipelines().Get(ctx(t), "p1")
		wantErr(t, err, store.ErrNotFound, "p1")
	}},
}
