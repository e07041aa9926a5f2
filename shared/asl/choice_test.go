package asl

import (
	"strings"
	"testing"
)

func TestChoiceRules(t *testing.T) {
	input := `{
		"s": "banana", "s2": "banana", "t": "cherry",
		"n": 10, "n2": 10.0, "m": 20, "big": 9007199254740993,
		"b": true, "f": false,
		"ts": "2024-03-01T12:00:00Z", "ts2": "2024-03-01T13:00:00+01:00", "later": "2024-03-02T00:00:00.000Z",
		"file": "log-2024.txt", "star": "a*b", "slash": "a\\b",
		"nul": null, "obj": {"k": 1}, "arr": [1]
	}`
	tests := []struct {
		rule string
		want bool
	}{
		// Strings
		{`{"Variable":"$.s","StringEquals":"banana"}`, true},
		{`{"Variable":"$.s","StringEquals":"apple"}`, false},
		{`{"Variable":"$.s","StringEqualsPath":"$.s2"}`, true},
		{`{"Variable":"$.s","StringLessThan":"cherry"}`, true},
		{`{"Variable":"$.s","StringLessThanPath":"$.t"}`, true},
		{`{"Variable":"$.s","StringGreaterThan":"apple"}`, true},
		{`{"Variable":"$.t","StringGreaterThanPath":"$.s"}`, true},
		{`{"Variable":"$.s","StringLessThanEquals":"banana"}`, true},
		{`{"Variable":"$.s","StringLessThanEqualsPath":"$.s2"}`, true},
		{`{"Variable":"$.s","StringGreaterThanEquals":"banana"}`, true},
		{`{"Variable":"$.s","StringGreaterThanEqualsPath":"$.t"}`, false},
		{`{"Variable":"$.n","StringEquals":"10"}`, false}, // no type conversion
		// StringMatches
		{`{"Variable":"$.file","StringMatches":"log-*.txt"}`, true},
		{`{"Variable":"$.file","StringMatches":"*.txt"}`, true},
		{`{"Variable":"$.file","StringMatches":"log-*"}`, true},
		{`{"Variable":"$.file","StringMatches":"*2024*"}`, true},
		{`{"Variable":"$.file","StringMatches":"*.csv"}`, false},
		{`{"Variable":"$.file","StringMatches":"log-2024.txt"}`, true},
		{`{"Variable":"$.star","StringMatches":"a\\*b"}`, true},
		{`{"Variable":"$.file","StringMatches":"log\\*"}`, false},
		{`{"Variable":"$.slash","StringMatches":"a\\\\b"}`, true},
		{`{"Variable":"$.s","StringMatches":"*"}`, true},
		// Numbers
		{`{"Variable":"$.n","NumericEquals":10}`, true},
		{`{"Variable":"$.n","NumericEquals":10.0}`, true},
		{`{"Variable":"$.n","NumericEqualsPath":"$.n2"}`, true},
		{`{"Variable":"$.n","NumericLessThan":10.5}`, true},
		{`{"Variable":"$.n","NumericLessThanPath":"$.m"}`, true},
		{`{"Variable":"$.n","NumericGreaterThan":9}`, true},
		{`{"Variable":"$.m","NumericGreaterThanPath":"$.n"}`, true},
		{`{"Variable":"$.n","NumericLessThanEquals":10}`, true},
		{`{"Variable":"$.m","NumericLessThanEqualsPath":"$.n"}`, false},
		{`{"Variable":"$.n","NumericGreaterThanEquals":11}`, false},
		{`{"Variable":"$.n","NumericGreaterThanEqualsPath":"$.n2"}`, true},
		{`{"Variable":"$.big","NumericEquals":9007199254740992}`, false}, // integers compare exactly
		{`{"Variable":"$.s","NumericEquals":10}`, false},
		// Booleans
		{`{"Variable":"$.b","BooleanEquals":true}`, true},
		{`{"Variable":"$.f","BooleanEquals":true}`, false},
		{`{"Variable":"$.b","BooleanEqualsPath":"$.f"}`, false},
		{`{"Variable":"$.s","BooleanEquals":true}`, false},
		// Timestamps (compared as instants, whatever the offset)
		{`{"Variable":"$.ts","TimestampEquals":"2024-03-01T12:00:00Z"}`, true},
		{`{"Variable":"$.ts","TimestampEqualsPath":"$.ts2"}`, true},
		{`{"Variable":"$.ts","TimestampLessThan":"2024-03-01T12:00:01Z"}`, true},
		{`{"Variable":"$.ts","TimestampLessThanPath":"$.later"}`, true},
		{`{"Variable":"$.later","TimestampGreaterThan":"2024-03-01T12:00:00Z"}`, true},
		{`{"Variable":"$.ts","TimestampGreaterThanPath":"$.later"}`, false},
		{`{"Variable":"$.ts","TimestampLessThanEquals":"2024-03-01T12:00:00Z"}`, true},
		{`{"Variable":"$.later","TimestampLessThanEqualsPath":"$.ts"}`, false},
		{`{"Variable":"$.ts","TimestampGreaterThanEquals":"2024-03-01T12:00:00Z"}`, true},
		{`{"Variable":"$.later","TimestampGreaterThanEqualsPath":"$.ts2"}`, true},
		{`{"Variable":"$.s","TimestampEquals":"2024-03-01T12:00:00Z"}`, false},
		{`{"Variable":"$.ts","TimestampEqualsPath":"$.s"}`, false},
		// Type tests
		{`{"Variable":"$.nul","IsNull":true}`, true},
		{`{"Variable":"$.s","IsNull":true}`, false},
		{`{"Variable":"$.s","IsNull":false}`, true},
		{`{"Variable":"$.s","IsPresent":true}`, true},
		{`{"Variable":"$.missing","IsPresent":true}`, false},
		{`{"Variable":"$.missing","IsPresent":false}`, true},
		{`{"Variable":"$.nul","IsPresent":true}`, true},
		{`{"Variable":"$.n","IsNumeric":true}`, true},
		{`{"Variable":"$.s","IsNumeric":true}`, false},
		{`{"Variable":"$.s","IsString":true}`, true},
		{`{"Variable":"$.n","IsString":true}`, false},
		{`{"Variable":"$.b","IsBoolean":true}`, true},
		{`{"Variable":"$.nul","IsBoolean":false}`, true},
		{`{"Variable":"$.ts","IsTimestamp":true}`, true},
		{`{"Variable":"$.s","IsTimestamp":true}`, false},
		{`{"Variable":"$.obj.k","IsNumeric":true}`, true},
		{`{"Variable":"$.arr[0]","NumericEquals":1}`, true},
		// Context object
		{`{"Variable":"$$.Execution.Name","StringEquals":"exec-1"}`, true},
		// Combinators
		{`{"And":[{"Variable":"$.n","NumericGreaterThan":1},{"Variable":"$.s","StringEquals":"banana"}]}`, true},
		{`{"And":[{"Variable":"$.n","NumericGreaterThan":1},{"Variable":"$.s","StringEquals":"apple"}]}`, false},
		{`{"Or":[{"Variable":"$.n","NumericGreaterThan":100},{"Variable":"$.s","StringEquals":"banana"}]}`, true},
		{`{"Or":[{"Variable":"$.n","NumericGreaterThan":100},{"Variable":"$.s","StringEquals":"apple"}]}`, false},
		{`{"Not":{"Variable":"$.s","StringEquals":"apple"}}`, true},
		{`{"Not":{"And":[{"Variable":"$.b","BooleanEquals":true},{"Not":{"Variable":"$.f","BooleanEquals":true}}]}}`, false},
		// A guarded comparison never reads the missing field.
		{`{"And":[{"Variable":"$.missing","IsPresent":true},{"Variable":"$.missing","StringEquals":"x"}]}`, false},
	}
	env := &evalEnv{
		input:   mustDecode(t, input),
		context: func() any { return mustDecode(t, `{"Execution":{"Name":"exec-1"}}`) },
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			r, err := parseChoiceRule(mustDecode(t, tt.rule).(map[string]any), false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.eval(env)
			if err != nil || got != tt.want {
				t.Fatalf("eval = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestChoiceRuleMissingVariable(t *testing.T) {
	env := &evalEnv{input: mustDecode(t, `{"a":1}`)}
	for _, rule := range []string{
		`{"Variable":"$.missing","StringEquals":"x"}`,
		`{"Variable":"$.missing","IsNull":true}`,
		`{"Variable":"$.a","NumericEqualsPath":"$.missing"}`,
	} {
		r, err := parseChoiceRule(mustDecode(t, rule).(map[string]any), false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.eval(env)
		if se, ok := asStatesError(err); !ok || se.Name != ErrorRuntime {
			t.Errorf("%s: eval = %v; want States.Runtime", rule, err)
		}
	}
}

func TestChoiceRuleParseErrors(t *testing.T) {
	tests := []struct {
		rule string
		top  bool
		want string
	}{
		{`{"Variable":"$.a","StringEquals":"x"}`, true, "has no Next"},
		{`{"Variable":"$.a","StringEquals":"x","Next":"B"}`, false, "must not have Next"},
		{`{"Variable":"$.a","Next":"B"}`, true, "no comparison operator"},
		{`{"StringEquals":"x","Next":"B"}`, true, "no Variable"},
		{`{"Variable":"$.a","StringEquals":"x","NumericEquals":1,"Next":"B"}`, true, "more than one comparison operator"},
		{`{"Variable":"$.a","StringEquals":1,"Next":"B"}`, true, "must be a string"},
		{`{"Variable":"$.a","NumericEquals":"1","Next":"B"}`, true, "must be a number"},
		{`{"Variable":"$.a","BooleanEquals":"true","Next":"B"}`, true, "must be a boolean"},
		{`{"Variable":"$.a","IsNull":1,"Next":"B"}`, true, "must be a boolean"},
		{`{"Variable":"$.a","TimestampEquals":"yesterday","Next":"B"}`, true, "not an RFC 3339 timestamp"},
		{`{"Variable":"$.a","TimestampEquals":"2024-03-01t12:00:00z","Next":"B"}`, true, "not an RFC 3339 timestamp"},
		{`{"Variable":"$.a","StringEqualsPath":"nope","Next":"B"}`, true, "must start with '$'"},
		{`{"Variable":"$.a[*]","StringEquals":"x","Next":"B"}`, true, "not a reference path"},
		{`{"Variable":"$.a","StringMatchesPath":"$.b","Next":"B"}`, true, "unknown field"},
		{`{"Variable":"$.a","Bogus":1,"Next":"B"}`, true, "unknown field"},
		{`{"And":[],"Next":"B"}`, true, "non-empty array"},
		{`{"And":[{"Variable":"$.a","IsNull":true}],"Or":[{"Variable":"$.a","IsNull":true}],"Next":"B"}`, true, "exactly one of"},
		{`{"Not":{"Variable":"$.a"},"Next":"B"}`, true, "no comparison operator"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			_, err := parseChoiceRule(mustDecode(t, tt.rule).(map[string]any), tt.top)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parse = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}
