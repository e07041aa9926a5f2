package asl

import (
	"strings"
	"testing"
)

func mustDecode(t testing.TB, s string) any {
	t.Helper()
	v, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestPathGet(t *testing.T) {
	doc := mustDecode(t, `{
		"a": {"b": {"c": 1}},
		"a b": "spaced",
		"list": [{"id": 1, "tags": ["x"]}, {"id": 2}, {"id": 3, "tags": ["y", "z"]}],
		"nums": [10, 20, 30, 40],
		"error-info": {"Cause": "c"},
		"o": {"k1": 1, "k2": 2}
	}`)
	tests := []struct {
		path string
		want string // JSON; "" means not found
	}{
		{"$", ""}, // checked separately below
		{"$.a.b.c", `1`},
		{"$.a.b", `{"c":1}`},
		{"$['a b']", `"spaced"`},
		{`$["a b"]`, `"spaced"`},
		{"$['a']['b'].c", `1`},
		{"$.error-info.Cause", `"c"`},
		{"$.list[0].id", `1`},
		{"$.list[-1].id", `3`},
		{"$.list[5]", ""},
		{"$.missing", ""},
		{"$.a.b.c.d", ""},
		{"$.list[*].id", `[1,2,3]`},
		{"$.list[*].tags", `[["x"],["y","z"]]`},
		{"$.list[*].tags[0]", `["x","y"]`},
		{"$.nums[1:3]", `[20,30]`},
		{"$.nums[:2]", `[10,20]`},
		{"$.nums[-2:]", `[30,40]`},
		{"$.nums[::2]", `[10,30]`},
		{"$.nums[0,3]", `[10,40]`},
		{"$['a b','missing','o']", `["spaced",{"k1":1,"k2":2}]`},
		{"$.o.*", `[1,2]`},
		{"$.missing[*]", `[]`},
	}
	for _, tt := range tests[1:] {
		t.Run(tt.path, func(t *testing.T) {
			p, err := parsePath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := p.get(doc)
			if tt.want == "" {
				if ok {
					t.Fatalf("got %s; want not found", mustJSON(got))
				}
				return
			}
			if !ok || !jsonEqual(got, mustDecode(t, tt.want)) {
				t.Fatalf("got %s (found %v); want %s", mustJSON(got), ok, tt.want)
			}
		})
	}
	t.Run("$", func(t *testing.T) {
		p, _ := parsePath("$")
		if got, ok := p.get(doc); !ok || !jsonEqual(got, doc) {
			t.Fatal("$ must select the whole document")
		}
	})
}

func TestPathParseErrors(t *testing.T) {
	tests := []struct{ path, want string }{
		{"a.b", "must start with '$'"},
		{"$..a", "recursive descent"},
		{"$.a[?(@.x)]", "filter expressions"},
		{"$.a[", "unterminated"},
		{"$.a['b", "unterminated"},
		{"$.", "empty field name"},
		{"$.a[x]", "invalid array index"},
		{"$.a[1:2:0]", "slice step"},
		{"$a", "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, err := parsePath(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parsePath(%q) = %v; want an error containing %q", tt.path, err, tt.want)
			}
		})
	}
	for _, path := range []string{"$.a[*]", "$.a[0:1]", "$.a[0,1]", "$.*"} {
		if _, err := parseReferencePath(path); err == nil {
			t.Errorf("parseReferencePath(%q) accepted an indefinite path", path)
		}
	}
}

func TestPathSet(t *testing.T) {
	tests := []struct {
		name, doc, path, value, want, wantErr string
	}{
		{"root", `{"a":1}`, "$", `"x"`, `"x"`, ""},
		{"new field", `{"a":1}`, "$.b", `2`, `{"a":1,"b":2}`, ""},
		{"replace field", `{"a":1}`, "$.a", `2`, `{"a":2}`, ""},
		{"nested creates objects", `{"a":1}`, "$.x.y", `true`, `{"a":1,"x":{"y":true}}`, ""},
		{"into existing object", `{"x":{"k":0}}`, "$.x.y", `1`, `{"x":{"k":0,"y":1}}`, ""},
		{"bracket name", `{}`, "$['a b']", `1`, `{"a b":1}`, ""},
		{"array element", `{"l":[1,2]}`, "$.l[1]", `9`, `{"l":[1,9]}`, ""},
		{"through a scalar", `{"a":1}`, "$.a.b", `1`, "", "is a number, not an object"},
		{"into a string input", `"text"`, "$.a", `1`, "", "is a string, not an object"},
		{"index out of range", `{"l":[]}`, "$.l[0]", `1`, "", "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustDecode(t, tt.doc)
			before := mustJSON(doc)
			p, err := parseReferencePath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.set(doc, mustDecode(t, tt.value))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("set = %v, %v; want error containing %q", mustJSON(got), err, tt.wantErr)
				}
				return
			}
			if err != nil || !jsonEqual(got, mustDecode(t, tt.want)) {
				t.Fatalf("set = %s, %v; want %s", mustJSON(got), err, tt.want)
			}
			if mustJSON(doc) != before {
				t.Fatalf("set modified its input: %s became %s", before, mustJSON(doc))
			}
		})
	}
}
