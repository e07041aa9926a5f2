package asl

import (
	"regexp"
	"strings"
	"testing"
)

func evalIntrinsic(t *testing.T, text, input string) (any, error) {
	t.Helper()
	c, err := parseIntrinsic(text)
	if err != nil {
		t.Fatalf("parse %s: %v", text, err)
	}
	env := &evalEnv{
		input:   mustDecode(t, input),
		context: func() any { return mustDecode(t, `{"Execution":{"Name":"exec-1"}}`) },
	}
	return c.eval(env)
}

func TestIntrinsics(t *testing.T) {
	input := `{
		"name": "Arnav", "template": "Hello, my name is {}.",
		"someJson": {"random": "abcdefg"},
		"escapedJsonString": "{\"foo\": \"bar\"}",
		"unescapedJson": {"foo": "bar"},
		"inputArray": [1,2,3,4,5,6,7,8,9],
		"dups": [1,2,3,3,3,3,3,3,4,{"a":1},{"a":1}],
		"json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
		"json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
		"value1": 111, "step": -1,
		"inputString": "This.is+a,test=string", "splitter": ".+,=",
		"csv": "1,2,,3",
		"arn": "arn:aws:imagebuilder:us-east-1:123:image-recipe/my-recipe/1.0.2"
	}`
	tests := []struct {
		name, call, want string
	}{
		// Generic
		{"Format literal", `States.Format('Hello, my name is {}.', $.name)`, `"Hello, my name is Arnav."`},
		{"Format template from a path", `States.Format($.template, $.name)`, `"Hello, my name is Arnav."`},
		{"Format scalars", `States.Format('{} {} {} {}', 1, 2.5, true, null)`, `"1 2.5 true null"`},
		{"Format object and array", `States.Format('{} {}', $.json1, $.inputArray[0:2])`, `"{a={a1=1, a2=2}, b=2} [1, 2]"`},
		{"Format escapes", `States.Format('It\'s \{literal\} {} \\ done', $.name)`, `"It's {literal} Arnav \\ done"`},
		{"Format context object", `States.Format('run {}', $$.Execution.Name)`, `"run exec-1"`},
		{"Format no placeholders", `States.Format('plain')`, `"plain"`},
		// JSON
		{"StringToJson", `States.StringToJson($.escapedJsonString)`, `{"foo":"bar"}`},
		{"JsonToString", `States.JsonToString($.unescapedJson)`, `"{\"foo\":\"bar\"}"`},
		{"JsonMerge is shallow", `States.JsonMerge($.json1, $.json2, false)`, `{"a":{"a3":1,"a4":2},"b":2,"c":3}`},
		// Arrays
		{"Array", `States.Array('Foo', 2020, $.someJson, null)`, `["Foo",2020,{"random":"abcdefg"},null]`},
		{"Array empty", `States.Array()`, `[]`},
		{"ArrayPartition", `States.ArrayPartition($.inputArray, 4)`, `[[1,2,3,4],[5,6,7,8],[9]]`},
		{"ArrayContains true", `States.ArrayContains($.inputArray, 5)`, `true`},
		{"ArrayContains object", `States.ArrayContains($.dups, $.dups[9])`, `true`},
		{"ArrayContains false", `States.ArrayContains($.inputArray, 42)`, `false`},
		{"ArrayRange", `States.ArrayRange(1, 9, 2)`, `[1,3,5,7,9]`},
		{"ArrayRange descending", `States.ArrayRange(5, 1, -2)`, `[5,3,1]`},
		{"ArrayGetItem", `States.ArrayGetItem($.inputArray, 5)`, `6`},
		{"ArrayLength", `States.ArrayLength($.inputArray)`, `9`},
		{"ArrayUnique", `States.ArrayUnique($.dups)`, `[1,2,3,4,{"a":1}]`},
		// Encoding and hashing
		{"Base64Encode", `States.Base64Encode('Data to encode')`, `"RGF0YSB0byBlbmNvZGU="`},
		{"Base64Decode", `States.Base64Decode('RGF0YSB0byBlbmNvZGU=')`, `"Data to encode"`},
		// Math
		{"MathAdd", `States.MathAdd($.value1, $.step)`, `110`},
		{"MathAdd rounds like Java", `States.MathAdd(1.5, -2.5)`, `0`},
		{"MathRandom seeded is deterministic", `States.MathRandom(1, 999, 1234)`, `SAME`},
		// Strings
		{"StringSplit", `States.StringSplit($.inputString, $.splitter)`, `["This","is","a","test","string"]`},
		{"StringSplit drops empty pieces", `States.StringSplit($.csv, ',')`, `["1","2","3"]`},
		// Nesting, as in the Step Functions guide
		{"nested", `States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.arn, '/'), 2), '.'), 1), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.arn, '/'), 2), '.'), 2))`, `"1.0.2"`},
		{"whitespace between arguments", `States.Array( 1 ,  'a' )`, `[1,"a"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := evalIntrinsic(t, tt.call, input)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == "SAME":
				again, _ := evalIntrinsic(t, tt.call, input)
				if !jsonEqual(got, again) {
					t.Fatalf("seeded MathRandom gave %s then %s", mustJSON(got), mustJSON(again))
				}
			default:
				if !jsonEqual(got, mustDecode(t, tt.want)) {
					t.Fatalf("got %s; want %s", mustJSON(got), tt.want)
				}
			}
		})
	}
}

func TestIntrinsicHashDigests(t *testing.T) {
	// Digests of "input data" computed independently (coreutils md5sum,
	// sha1sum, sha256sum, sha384sum, sha512sum).
	want := map[string]string{
		"MD5":     "812f45842bc6d66ee14572ce20db8e86",
		"SHA-1":   "aaff4a450a104cd177d28d18d74485e8cae074b7",
		"SHA-256": "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
		"SHA-384": "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
		"SHA-512": "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
	}
	for alg, digest := range want {
		got, err := evalIntrinsic(t, "States.Hash('input data', '"+alg+"')", `{}`)
		if err != nil || got != digest {
			t.Errorf("Hash %s = %v, %v; want %s", alg, got, err, digest)
		}
	}
}

func TestIntrinsicRandomAndUUID(t *testing.T) {
	for range 200 {
		got, err := evalIntrinsic(t, "States.MathRandom(3, 6)", `{}`)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := intValue(got)
		if n < 3 || n >= 6 {
			t.Fatalf("MathRandom(3, 6) = %d; want 3 <= n < 6", n)
		}
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, _ := evalIntrinsic(t, "States.UUID()", `{}`)
	b, _ := evalIntrinsic(t, "States.UUID()", `{}`)
	if !uuid.MatchString(a.(string)) || a == b {
		t.Fatalf("UUID() = %v, %v; want two distinct version 4 UUIDs", a, b)
	}
}

func TestIntrinsicFailures(t *testing.T) {
	tests := []struct{ name, call, input string }{
		{"Format placeholder count", `States.Format('{} {}', 1)`, `{}`},
		{"Format template not a string", `States.Format($.n)`, `{"n":1}`},
		{"StringToJson invalid", `States.StringToJson('{nope')`, `{}`},
		{"ArrayPartition zero", `States.ArrayPartition($.a, 0)`, `{"a":[1]}`},
		{"ArrayPartition not an array", `States.ArrayPartition($.a, 1)`, `{"a":"x"}`},
		{"ArrayRange too long", `States.ArrayRange(1, 2000, 1)`, `{}`},
		{"ArrayRange zero step", `States.ArrayRange(1, 2, 0)`, `{}`},
		{"ArrayGetItem out of bounds", `States.ArrayGetItem($.a, 3)`, `{"a":[1]}`},
		{"ArrayLength not an array", `States.ArrayLength($.a)`, `{"a":{}}`},
		{"Base64Decode invalid", `States.Base64Decode('!!!')`, `{}`},
		{"Base64Encode too long", `States.Base64Encode($.s)`, `{"s":"` + strings.Repeat("x", 10001) + `"}`},
		{"Hash unknown algorithm", `States.Hash('x', 'SHA-3')`, `{}`},
		{"Hash not a string", `States.Hash($.n, 'MD5')`, `{"n":1}`},
		{"JsonMerge deep", `States.JsonMerge($.a, $.a, true)`, `{"a":{}}`},
		{"JsonMerge not objects", `States.JsonMerge($.a, 1, false)`, `{"a":{}}`},
		{"MathAdd not numbers", `States.MathAdd('a', 1)`, `{}`},
		{"MathRandom empty range", `States.MathRandom(5, 5)`, `{}`},
		{"StringSplit not a string", `States.StringSplit(1, ',')`, `{}`},
		{"missing path", `States.Array($.missing)`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := evalIntrinsic(t, tt.call, tt.input)
			se, ok := asStatesError(err)
			if !ok || se.Name != ErrorIntrinsicFailure {
				t.Fatalf("eval = %v; want a States.IntrinsicFailure", err)
			}
		})
	}
}

func TestIntrinsicParseErrors(t *testing.T) {
	tests := []struct{ call, want string }{
		{"States.Nope(1)", "unknown intrinsic function"},
		{"States.Format", "expected '('"},
		{"States.Array(1", "missing ')'"},
		{"States.Array(1 2)", "expected ',' or ')'"},
		{"States.Array('open)", "unterminated string"},
		{`States.Array('bad \x escape')`, "open escape"},
		{"States.UUID(1)", "takes 0 arguments"},
		{"States.ArrayRange(1, 2)", "takes 3 arguments"},
		{"States.MathRandom(1)", "takes 2 to 3 arguments"},
		{"States.Format()", "at least 1 arguments"},
		{"States.Array(1) trailing", "after the closing parenthesis"},
		{"States.Array($..x)", "recursive descent"},
		{"States.Array(" + strings.Repeat("States.Array(", 10) + "1" + strings.Repeat(")", 11), "nested"},
		{"States.Array(bogus)", "invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.call, func(t *testing.T) {
			_, err := parseIntrinsic(tt.call)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseIntrinsic = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}
