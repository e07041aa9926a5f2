package stages

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
)

// Numbers are read as Spinnaker reads them: JSON numbers or the strings
// expressions evaluate to.
func TestDecodeWholeNumbers(t *testing.T) {
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
		{name: "fraction", value: 2.5, wantErr: "waitTime: 2.5 is not a whole number"},
		{name: "words", value: "ten", wantErr: `waitTime: must be a number, not "ten"`},
		{name: "boolean", value: true, wantErr: "waitTime: must be a number, not the boolean true"},
		{name: "object", value: map[string]any{}, wantErr: "waitTime: must be a number, not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg struct {
				WaitTime *int64 `json:"waitTime"`
			}
			err := Decode(map[string]any{"waitTime": tt.value}, &cfg).Err()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || (cfg.WaitTime != nil) != tt.wantSet || (tt.wantSet && *cfg.WaitTime != tt.want) {
				t.Fatalf("got %v, %v; want %d, set %v", cfg.WaitTime, err, tt.want, tt.wantSet)
			}
		})
	}
}

func TestDecodeBooleansStringsAndLists(t *testing.T) {
	type fields struct {
		Bool   *bool   `json:"b"`
		String string  `json:"s"`
		Ints   []int64 `json:"i"`
	}
	tests := []struct {
		name    string
		ctx     map[string]any
		want    fields
		wantErr string
	}{
		{name: "bool true", ctx: map[string]any{"b": true}, want: fields{Bool: ptr(true)}},
		{name: "bool from evaluated string", ctx: map[string]any{"b": "False"}, want: fields{Bool: ptr(false)}},
		{name: "bool from a word", ctx: map[string]any{"b": "yes"}, wantErr: `b: must be true or false, not "yes"`},
		{name: "bool from a number", ctx: map[string]any{"b": 1.0}, wantErr: "b: must be true or false, not the number 1"},
		{name: "string", ctx: map[string]any{"s": "x"}, want: fields{String: "x"}},
		{name: "string from a number", ctx: map[string]any{"s": 3.0}, wantErr: "s: must be a string, not the number 3"},
		{name: "ints", ctx: map[string]any{"i": []any{409.0, "429"}}, want: fields{Ints: []int64{409, 429}}},
		{name: "ints not a list", ctx: map[string]any{"i": "409"}, wantErr: `i: must be a list, not the string "409"`},
		{name: "ints with a word", ctx: map[string]any{"i": []any{409.0, "busy"}}, wantErr: `i[1]: must be a number, not "busy"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got fields
			err := Decode(tt.ctx, &got).Err()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

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
		{name: "wrong list", ctx: map[string]any{"w": map[string]any{"days": "weekdays"}}, wantErr: `w.days: must be a list, not the string "weekdays"`},
		{name: "wrong element", ctx: map[string]any{"w": map[string]any{"days": []any{"monday"}}}, wantErr: `w.days[0]: must be a number, not "monday"`},
		{name: "wrong kind", ctx: map[string]any{"w": []any{}}, wantErr: "w: must be an object, not a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg struct {
				W window `json:"w"`
			}
			err := Decode(tt.ctx, &cfg).Err()
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
}

func TestOverridableTimeout(t *testing.T) {
	for _, tc := range []struct {
		ctx  map[string]any
		want time.Duration
	}{
		{map[string]any{}, time.Minute},
		{map[string]any{"stageTimeoutMs": 1500.0}, 1500 * time.Millisecond},
		{map[string]any{"stageTimeoutMs": "2000"}, 2 * time.Second},
		{map[string]any{"stageTimeoutMs": ""}, time.Minute},
		{map[string]any{"stageTimeoutMs": "soon"}, time.Minute},
	} {
		if got := OverridableTimeout(&model.StageExecution{Context: tc.ctx}, time.Minute); got != tc.want {
			t.Errorf("OverridableTimeout(%v) = %s, want %s", tc.ctx, got, tc.want)
		}
	}
}
