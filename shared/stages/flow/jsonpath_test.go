package flow

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestReadJSONPath(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(`{
		"status": "RUNNING",
		"a": {"b": [{"c": 1}, {"c": 2}], "x.y": "dotted", "it's": "quoted"},
		"items": [10, 20, 30],
		"empty": null
	}`), &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		want     any
		notFound bool
		badPath  string
	}{
		{name: "root property", path: "$.status", want: "RUNNING"},
		{name: "without $", path: "status", want: "RUNNING"},
		{name: "nested with index", path: "$.a.b[1].c", want: 2.0},
		{name: "bracketed name", path: "$['a']['x.y']", want: "dotted"},
		{name: "double-quoted name", path: `$["a"]["it's"]`, want: "quoted"},
		{name: "mixed", path: "$.a['b'][0].c", want: 1.0},
		{name: "spaces in brackets", path: "$[ 'items' ][ 2 ]", want: 30.0},
		{name: "negative index", path: "$.items[-1]", want: 30.0},
		{name: "a list", path: "$.items", want: []any{10.0, 20.0, 30.0}},
		{name: "null value", path: "$.empty", want: nil},
		{name: "the whole document", path: "$", want: doc},
		{name: "missing property", path: "$.state", notFound: true},
		{name: "index out of range", path: "$.items[3]", notFound: true},
		{name: "index into an object", path: "$.a[0]", notFound: true},
		{name: "property of a list", path: "$.items.first", notFound: true},
		{name: "through null", path: "$.empty.x", notFound: true},
		{name: "deep scan", path: "$..status", badPath: "deep scan"},
		{name: "wildcard", path: "$.items[*]", badPath: "not an index or a quoted name"},
		{name: "filter", path: "$.a.b[?(@.c==1)]", badPath: "not an index"},
		{name: "unclosed bracket", path: "$.items[0", badPath: "missing ']'"},
		{name: "unclosed quote", path: "$['a", badPath: "unterminated"},
		{name: "empty", path: " ", badPath: "empty JSONPath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readJSONPath(doc, tt.path)
			switch {
			case tt.badPath != "":
				if err == nil || errors.Is(err, errPathNotFound) || !strings.Contains(err.Error(), tt.badPath) {
					t.Fatalf("err = %v, want a path error containing %q", err, tt.badPath)
				}
			case tt.notFound:
				if !errors.Is(err, errPathNotFound) {
					t.Fatalf("got %v, %v; want not found", got, err)
				}
			default:
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %v, %v; want %v", got, err, tt.want)
				}
			}
		})
	}
}
