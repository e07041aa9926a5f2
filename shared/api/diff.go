package api

import (
	"fmt"
	"reflect"
	"sort"
)

// Change is one difference between two JSON documents.
type Change struct {
	// Path is where the documents differ, as model.Validate writes paths
	// ("stages[0].waitTime"). Stages — list items with a unique refId in
	// both documents — are matched by refId rather than by position, so
	// inserting a stage shows as one addition: "stages[refId=3].name".
	Path string `json:"path"`
	// Kind is "added", "removed" or "changed".
	Kind string `json:"kind"`
	From any    `json:"from,omitempty"`
	To   any    `json:"to,omitempty"`
}

// Diff lists the changes that turn a into b, in path order.
func Diff(a, b any) []Change {
	out := []Change{}
	diffValues("", a, b, &out)
	return out
}

func diffValues(path string, a, b any, out *[]Change) {
	switch av := a.(type) {
	case map[string]any:
		if bv, ok := b.(map[string]any); ok {
			diffObjects(path, av, bv, out)
			return
		}
	case []any:
		if bv, ok := b.([]any); ok {
			diffLists(path, av, bv, out)
			return
		}
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, Change{Path: orRoot(path), Kind: "changed", From: a, To: b})
	}
}

func diffObjects(path string, a, b map[string]any, out *[]Change) {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		av, inA := a[k]
		bv, inB := b[k]
		p := joinPath(path, k)
		switch {
		case !inA:
			*out = append(*out, Change{Path: p, Kind: "added", To: bv})
		case !inB:
			*out = append(*out, Change{Path: p, Kind: "removed", From: av})
		default:
			diffValues(p, av, bv, out)
		}
	}
}

func diffLists(path string, a, b []any, out *[]Change) {
	if ia, ib := refIndex(a), refIndex(b); ia != nil && ib != nil {
		// Stages: match by refId, in the order of the newer document, then
		// the removed ones in the order of the older.
		for _, item := range b {
			id := item.(map[string]any)["refId"].(string)
			p := fmt.Sprintf("%s[refId=%s]", path, id)
			if j, found := ia[id]; found {
				diffValues(p, a[j], item, out)
			} else {
				*out = append(*out, Change{Path: p, Kind: "added", To: item})
			}
		}
		for _, item := range a {
			id := item.(map[string]any)["refId"].(string)
			if _, found := ib[id]; !found {
				*out = append(*out, Change{Path: fmt.Sprintf("%s[refId=%s]", path, id), Kind: "removed", From: item})
			}
		}
		return
	}
	for i := 0; i < len(a) || i < len(b); i++ {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case i >= len(a):
			*out = append(*out, Change{Path: p, Kind: "added", To: b[i]})
		case i >= len(b):
			*out = append(*out, Change{Path: p, Kind: "removed", From: a[i]})
		default:
			diffValues(p, a[i], b[i], out)
		}
	}
}

// refIndex maps refId to position when every item of the list is an object
// with a distinct string refId; otherwise it returns nil.
func refIndex(list []any) map[string]int {
	if len(list) == 0 {
		return map[string]int{}
	}
	idx := make(map[string]int, len(list))
	for i, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil
		}
		id, ok := obj["refId"].(string)
		if !ok || id == "" {
			return nil
		}
		if _, dup := idx[id]; dup {
			return nil
		}
		idx[id] = i
	}
	return idx
}

func orRoot(path string) string {
	if path == "" {
		return "(document)"
	}
	return path
}
