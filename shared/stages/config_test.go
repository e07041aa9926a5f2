package stages

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestInt(t *testing.T) {
	tests := []struct {
		name    string
		value   any
		want    int64
		wantSet bool
		wantErr string
	}{
		{name: "JSON number", value: 30.0, want: 30, wantSet: true},
		{name: "Go int", value: 7, want: 7, wantSet: true},
		{name: "json.Number", value: json.Number("12"), want: 12, wantSet: true},
		{name: "numeric string", value: " 45 ", want: 45, wantSet: true},
		{name: "float string that is whole", value: "60.0", want: 60, wantSet: true},
		{name: "absent", value: nil},
		{name: "empty string", value: ""},
		{name: "fraction", value: 2.5, wantSet: true, wantErr: "waitTime: 2.5 is not a whole number"},
		{name: "words", value: "ten", wantSet: true, wantErr: `waitTime: must be a number, not "ten"`},
		{name: "boolean", value: true, wantSet: true, wantErr: "waitTime: must be a number, not the boolean true"},
		{name: "object", value: map[string]any{}, wantSet: true, wantErr: "waitTime: must be a number, not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, set, err := Int(map[string]any{"waitTime": tt.value}, "waitTime")
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || set != tt.wantSet {
				t.Fatalf("got %d, %v, %v; want %d, %v", got, set, err, tt.want, tt.wantSet)
			}
		})
	}
}

func TestBoolStringInts(t *testing.T) {
	tests := []struct {
		name    string
		read    func(map[string]any) (any, bool, error)
		value   any
		want    any
		wantErr string
	}{
		{name: "bool true", read: readBool, value: true, want: true},
		{name: "bool from evaluated string", read: readBool, value: "False", want: false},
		{name: "bool from a word", read: readBool, value: "yes", wantErr: `f: must be true or false, not "yes"`},
		{name: "bool from a number", read: readBool, value: 1.0, wantErr: "f: must be true or false, not the number 1"},
		{name: "string", read: readString, value: "x", want: "x"},
		{name: "string from a number", read: readString, value: 3.0, wantErr: "f: must be a string, not the number 3"},
		{name: "ints", read: readInts, value: []any{409.0, "429"}, want: []int64{409, 429}},
		{name: "ints not a list", read: readInts, value: "409", wantErr: "f: must be a list of numbers"},
		{name: "ints with a word", read: readInts, value: []any{409.0, "busy"}, wantErr: `f[1]: must be a number, not "busy"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := tt.read(map[string]any{"f": tt.value})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func readBool(m map[string]any) (any, bool, error)   { return Bool(m, "f") }
func readString(m map[string]any) (any, bool, error) { return String(m, "f") }
func readInts(m map[string]any) (any, bool, error)   { return Ints(m, "f") }

func TestDecodeNamesTheField(t *testing.T) {
	type window struct {
		Days []int  `json:"days"`
		Zone string `json:"timeZone"`
	}
	tests := []struct {
		name    string
		ctx     map[string]any
		wantErr string
	}{
		{name: "fits", ctx: map[string]any{"w": map[string]any{"days": []any{2.0}, "timeZone": "UTC"}}},
		{name: "wrong list", ctx: map[string]any{"w": map[string]any{"days": "weekdays"}}, wantErr: "w.days: must be a list, not string"},
		{name: "wrong element", ctx: map[string]any{"w": map[string]any{"days": []any{"monday"}}}, wantErr: "w.days: must be a number, not string"},
		{name: "wrong kind", ctx: map[string]any{"w": []any{}}, wantErr: "w: must be an object, not array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w window
			_, err := DecodeField(tt.ctx, "w", &w)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	var whole struct {
		N int `json:"n"`
	}
	if err := Decode(map[string]any{"n": "x"}, &whole).Err(); err == nil || !strings.HasPrefix(err.Error(), "n: must be a number") {
		t.Fatalf("Decode err = %v, want one naming n", err)
	}
}
