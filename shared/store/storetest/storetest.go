// Package storetest is the contract every store.Store implementation meets.
// An implementation's test hands Run a function that opens a fresh, empty
// store and registers its cleanup:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := embedded.Open(filepath.Join(t.TempDir(), "gennaker.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Each subtest asserts something a user of the store would notice: a run
// that lists in the wrong order, an update that is silently lost, a
// pipeline field that vanishes on save. Besides the contracts written in
// package store, the suite pins down what store.go leaves implicit, so that
// every backend behaves the same:
//
//   - A PipelineVersion's Timestamp is the time of Save in Unix milliseconds.
//   - Pipelines.List puts pipelines without an index after those with one.
//   - Executions with the same BuildTime list in ascending id order.
//   - Executions.Create sets e.Revision and every stage's Revision to the
//     stored revisions, so the caller can update without reading back.
//   - A stage write (PutStage) does not change the header's revision, and a
//     header write (UpdateHeader) does not touch the stages.
//   - Writes after Executions.Delete do not bring the run back.
//   - A record larger than DynamoDB's 400 KB item limit is refused with
//     ErrTooLarge; a run whose stages together exceed it is not.
//   - Records.Scan's callback may use the store, and an error it returns
//     ends the scan and comes back from Scan.
//   - Every error names what failed: the id, name or key asked for.
package storetest

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/store"
)

// testdata holds real Spinnaker payloads (Front50 and Gate shapes) with
// fields gennaker does not model, embedded so the suite finds them whichever
// package's test runs it.
//
//go:embed testdata/*.json
var testdata embed.FS

// Run runs the contract suite. Every subtest calls open for a store of its
// own; open must return an empty store and register its cleanup with t.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Applications", applicationTests},
		{"Pipelines", pipelineTests},
		{"Executions", executionTests},
		{"Leases", leaseTests},
		{"Records", recordTests},
		{"Triggers", triggerTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, open(t))
				})
			}
		})
	}
}

// test is one named case of the suite; it gets a fresh store.
type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// ctx returns the test's context, cancelled when the test ends.
func ctx(t *testing.T) context.Context { return t.Context() }

// wantErr fails the test unless err matches target (errors.Is) and its
// message names every one of names, so a user reading it knows what failed.
func wantErr(t *testing.T, err, target error, names ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", target)
	}
	if !errors.Is(err, target) {
		t.Fatalf("got error %q, want one that errors.Is %v", err, target)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not name %q", err, n)
		}
	}
}

// noErr fails the test at once on an unexpected error.
func noErr(t *testing.T, err error, doing string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", doing, err)
	}
}

// sameJSON fails the test unless got and want encode to the same JSON
// document. Comparing documents rather than Go values is what a user sees
// (the API serves JSON) and ignores representation details such as a nil map
// coming back empty or a json.RawMessage coming back compacted.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := normalize(t, got), normalize(t, want)
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(g, "", "  ")
		wb, _ := json.MarshalIndent(w, "", "  ")
		t.Fatalf("%s differs from what was stored\ngot:  %s\nwant: %s", what, gb, wb)
	}
}

func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
	return out
}

// load decodes testdata/name into v.
func load(t *testing.T, name string, v any) {
	t.Helper()
	b, err := testdata.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("read testdata: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode testdata/%s: %v", name, err)
	}
}

// oversized is comfortably above DynamoDB's 400 KB item limit, so every
// backend must refuse a record holding it, and comfortably below anything a
// backend would choke on in transit.
var oversized = strings.Repeat("x", 1<<20)

// largeButFits is under the item limit, even with the rest of a record.
var largeButFits = strings.Repeat("y", 300<<10)
