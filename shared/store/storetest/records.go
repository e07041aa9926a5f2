package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gennaker/gennaker/shared/store"
)

// scanned is one key and value Scan delivered.
type scanned struct {
	Key   string
	Value string
}

func scanAll(t *testing.T, s store.Store, prefix string) []scanned {
	t.Helper()
	out := []scanned{}
	err := s.Records().Scan(ctx(t), prefix, func(k string, v []byte) error {
		out = append(out, scanned{k, string(v)})
		return nil
	})
	noErr(t, err, "scan "+prefix)
	return out
}

var recordTests = []test{
	{"GetMissing", func(t *testing.T, s store.Store) {
		v, found, err := s.Records().Get(ctx(t), "journal/nothing")
		noErr(t, err, "get")
		if found || v != nil {
			t.Fatalf("missing key: found=%v value=%q, want found=false", found, v)
		}
	}},
	{"PutGetOverwrite", func(t *testing.T, s store.Store) {
		r := s.Records()
		binary := []byte{0, 1, 2, 0xfe, 0xff, '\n', 0}
		noErr(t, r.Put(ctx(t), "journal/a", binary), "put")
		got, found, err := r.Get(ctx(t), "journal/a")
		noErr(t, err, "get")
		if !found || !bytes.Equal(got, binary) {
			t.Fatalf("got %q found=%v, want %q", got, found, binary)
		}
		noErr(t, r.Put(ctx(t), "journal/a", []byte("second")), "overwrite")
		got, _, err = r.Get(ctx(t), "journal/a")
		noErr(t, err, "get")
		if string(got) != "second" {
			t.Fatalf("after overwrite got %q, want %q", got, "second")
		}
	}},
	{"EmptyValueIsFound", func(t *testing.T, s store.Store) {
		noErr(t, s.Records().Put(ctx(t), "marker", nil), "put empty")
		got, found, err := s.Records().Get(ctx(t), "marker")
		noErr(t, err, "get")
		if !found || len(got) != 0 {
			t.Fatalf("empty value: found=%v value=%q, want found with no bytes", found, got)
		}
	}},
	{"CallerMayReuseBuffers", func(t *testing.T, s store.Store) {
		r := s.Records()
		buf := []byte("original")
		noErr(t, r.Put(ctx(t), "k", buf), "put")
		copy(buf, "XXXXXXXX")
		got, _, err := r.Get(ctx(t), "k")
		noErr(t, err, "get")
		if string(got) != "original" {
			t.Fatalf("changing the caller's buffer after Put changed the record to %q", got)
		}
		copy(got, "YYYYYYYY")
		again, _, err := r.Get(ctx(t), "k")
		noErr(t, err, "get")
		if string(again) != "original" {
			t.Fatalf("changing a returned value changed the record to %q", again)
		}
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		r := s.Records()
		noErr(t, r.Put(ctx(t), "k", []byte("v")), "put")
		noErr(t, r.Delete(ctx(t), "k"), "delete")
		_, found, err := r.Get(ctx(t), "k")
		noErr(t, err, "get")
		if found {
			t.Fatal("a deleted key is found")
		}
		noErr(t, r.Delete(ctx(t), "k"), "deleting a missing key")
	}},
	{"ScanPrefixInKeyOrder", func(t *testing.T, s store.Store) {
		r := s.Records()
		for _, k := range []string{"run/2/b", "run/10/a", "run/1/b", "runner", "run/1/a", "ru", "stage/1", "run/"} {
			noErr(t, r.Put(ctx(t), k, []byte("v:"+k)), "put "+k)
		}
		sameJSON(t, "scan run/", scanAll(t, s, "run/"), []scanned{
			{"run/", "v:run/"}, {"run/1/a", "v:run/1/a"}, {"run/1/b", "v:run/1/b"}, {"run/10/a", "v:run/10/a"}, {"run/2/b", "v:run/2/b"},
		})
		sameJSON(t, "scan run/1/", scanAll(t, s, "run/1/"), []scanned{{"run/1/a", "v:run/1/a"}, {"run/1/b", "v:run/1/b"}})
		sameJSON(t, "scan nothing/", scanAll(t, s, "nothing/"), []scanned{})
		if all := scanAll(t, s, ""); len(all) != 8 || all[0].Key != "ru" || all[7].Key != "stage/1" {
			t.Fatalf("scan of every key = %v", all)
		}
	}},
	{"ScanMany", func(t *testing.T, s store.Store) {
		// More keys than a backend is likely to return in one page, put by
		// several writers at once as the local runtime's branches would.
		r := s.Records()
		const n, writers = 600, 8
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += writers {
					k := fmt.Sprintf("j/%04d", i)
					if err := r.Put(ctx(t), k, []byte(k)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("put: %v", err)
		}
		got := scanAll(t, s, "j/")
		if len(got) != n {
			t.Fatalf("scan returned %d of %d keys", len(got), n)
		}
		for i := 1; i < len(got); i++ {
			if got[i-1].Key >= got[i].Key {
				t.Fatalf("scan out of order at %d: %q then %q", i, got[i-1].Key, got[i].Key)
			}
		}
	}},
	{"ScanCallbackMayWrite", func(t *testing.T, s store.Store) {
		// The journal replays entries and deletes them as it goes.
		r := s.Records()
		for _, k := range []string{"q/1", "q/2", "q/3"} {
			noErr(t, r.Put(ctx(t), k, []byte(k)), "put")
		}
		var seen []string
		err := r.Scan(ctx(t), "q/", func(k string, v []byte) error {
			seen = append(seen, k)
			if err := r.Delete(ctx(t), k); err != nil {
				return err
			}
			return r.Put(ctx(t), "done/"+k, v)
		})
		noErr(t, err, "scan")
		sameJSON(t, "keys seen", seen, []string{"q/1", "q/2", "q/3"})
		if left := scanAll(t, s, "q/"); len(left) != 0 {
			t.Fatalf("keys deleted during the scan remain: %v", left)
		}
		if done := scanAll(t, s, "done/"); len(done) != 3 {
			t.Fatalf("keys written during the scan: %v", done)
		}
	}},
	{"ScanStopsAtCallbackError", func(t *testing.T, s store.Store) {
		r := s.Records()
		for _, k := range []string{"a", "b", "c"} {
			noErr(t, r.Put(ctx(t), k, []byte(k)), "put")
		}
		stop := errors.New("stop here")
		var seen []string
		err := r.Scan(ctx(t), "", func(k string, _ []byte) error {
			seen = append(seen, k)
			if k == "b" {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) {
			t.Fatalf("Scan returned %v, want the callback's error", err)
		}
		sameJSON(t, "keys seen", seen, []string{"a", "b"})
	}},
}
