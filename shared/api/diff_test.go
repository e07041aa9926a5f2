package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to string
		want     []string // "kind path"
	}{
		{"same", `{"a":1,"b":[1,2]}`, `{"a":1,"b":[1,2]}`, nil},
		{"changed field", `{"a":1}`, `{"a":2}`, []string{"changed a"}},
		{"added and removed fields", `{"a":1,"b":2}`, `{"b":2,"c":3}`, []string{"removed a", "added c"}},
		{"nested", `{"x":{"y":{"z":1}}}`, `{"x":{"y":{"z":"1"}}}`, []string{"changed x.y.z"}},
		{"list by index", `{"l":[1,2,3]}`, `{"l":[1,5]}`, []string{"changed l[1]", "removed l[2]"}},
		{"type change", `{"a":[1]}`, `{"a":{"b":1}}`, []string{"changed a"}},
		{"stages matched by refId", `{"stages":[{"refId":"1","w":1},{"refId":"2","w":2}]}`,
			`{"stages":[{"refId":"1","w":1},{"refId":"3","w":3},{"refId":"2","w":4}]}`,
			[]string{"added stages[refId=3]", "changed stages[refId=2].w"}},
		{"stage removed", `{"stages":[{"refId":"1"},{"refId":"2"}]}`, `{"stages":[{"refId":"2"}]}`, []string{"removed stages[refId=1]"}},
		{"duplicate refIds fall back to index", `{"s":[{"refId":"1","n":1},{"refId":"1","n":2}]}`, `{"s":[{"refId":"1","n":2},{"refId":"1","n":2}]}`, []string{"changed s[0].n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a, b any
			if err := json.Unmarshal([]byte(tc.from), &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.to), &b); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range Diff(a, b) {
				got = append(got, c.Kind+" "+c.Path)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Diff = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDecodeJSONMessages(t *testing.T) {
	type doc struct {
		Name  string             `json:"name"`
		Count int                `json:"count"`
		Tags  []string           `json:"tags"`
		Meta  map[string]bool    `json:"meta"`
		Any   any                `json:"any"`
		Raw   json.RawMessage    `json:"raw"`
		Inner *struct{ N int64 } `json:"inner"`
	}
	for _, tc := range []struct {
		name, in, want string
	}{
		{"syntax error position", "{\n  \"name\": \"x\",\n  \"count\": 1,,\n}", "malformed JSON at byte 31 (line 3, column 14): invalid character ','"},
		{"truncated", `{"name": "x"`, "the document ends early at byte 12"},
		{"not an object", `"x"`, `the body must be a JSON object, not the string "x"`},
		{"trailing", `{} x`, "unexpected data after the end of the JSON value"},
		{"every wrong type listed", `{"name":1,"count":1.5,"tags":["a",2],"meta":{"k":"v"},"inner":{"N":"1"},"any":[1],"raw":{}}`,
			`the request has values of the wrong type: name: must be a string, not the number 1; count: must be a whole number, not the number 1.5; tags[1]: must be a string, not the number 2; meta.k: must be true or false, not the string "v"; inner.N: must be a whole number, not the string "1"`},
		{"nulls are fine", `{"name":null,"tags":null,"inner":null}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := decodeJSON([]byte(tc.in), &d, "")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("decodeJSON: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("decodeJSON accepted %s", tc.in)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}
