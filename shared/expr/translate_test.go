package expr

import (
	"errors"
	"strings"
	"testing"
)

func TestTranslate(t *testing.T) {
	tests := []struct {
		name string
		spel string
		want string
	}{
		{"index", "trigger['parameters']['env']", `trigger [ "parameters" ] [ "env" ]`},
		{"helper gets the context", "#stage('Deploy').context.serverGroup", `_spel_fn_stage ( $env , "Deploy" ) . context . serverGroup`},
		{"helper without arguments", "#currentStage()", `_spel_fn_currentStage ( $env )`},
		{"pure helper", "#toJson(x)", `_spel_fn_toJson ( x )`},
		{"elvis", "a ?: 'x'", `a ? _spel_elvis : "x"`},
		{"ternary untouched", "a ? b : c", `a ? b : c`},
		{"safe navigation", "a?.b", `a ?. b`},
		{"word operators", "a and not b or c", `a && ! b || c`},
		{"word operators in capitals", "a AND NOT b OR c", `a && ! b || c`},
		{"word comparisons", "a eq b ne c lt d le e gt f ge g", `a == b != c < d <= e > f >= g`},
		{"word arithmetic", "a div b mod c", `a / b % c`},
		{"null", "NULL == null", `nil == nil`},
		{"keywords as properties", "a.null.and.eq", `a . null . and . eq`},
		{"selection", "x.?[type == 'deploy']", `x . _spel_select ( type == "deploy" )`},
		{"safe projection", "x?.![name]", `x ?. _spel_project ( name )`},
		{"first and last", "x.^[a].$[b]", `x . _spel_first ( a ) . _spel_last ( b )`},
		{"inline list", "{1, 2}", `[ 1 , 2 ]`},
		{"inline map", "{'a': 1}", `{ "a" : 1 }`},
		{"inline map with identifier key", "{a: 1}", `{ a : 1 }`},
		{"list of maps", "{{'a': 1}, {'b': 2}}", `[ { "a" : 1 } , { "b" : 2 } ]`},
		{"list with ternary", "{a ? 1 : 2}", `[ a ? 1 : 2 ]`},
		{"empty map", "{:}", `{ }`},
		{"empty list", "{}", `[ ]`},
		{"doubled quote", "'it''s'", `"it's"`},
		{"double quotes", `"say ""hi"""`, `"say \"hi\""`},
		{"backslash kept", `'a\b'`, `"a\\b"`},
		{"control characters escaped", "'a\tb\nc'", `"a\tb\nc"`},
		{"java number suffixes", "10L + 1.5f + 2d", `10 + 1.5 + 2.0`},
		{"hex", "0x1F", `0x1F`},
		{"exponent", "1.5e3", `1.5e3`},
		{"type reference", "T(java.lang.Integer).parseInt('5')", `_spel_T_Integer . parseInt ( "5" )`},
		{"short type reference", "T(Math).max(1, 2)", `_spel_T_Math . max ( 1 , 2 )`},
		{"deployedServerGroups variable", "deployedServerGroups[0]", `_spel_fn_deployedServerGroups ( $env ) [ 0 ]`},
		{"root", "#root.x", `$env . x`},
		{"this", "#this", `_spel_this`},
		{"matches", "x matches 'y'", `x matches "y"`},
		{"unicode identifier", "paramètres.clé", `paramètres . clé`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := translate(tt.spel)
			if err != nil {
				t.Fatalf("translate(%q): %v", tt.spel, err)
			}
			if tr.code != tt.want {
				t.Errorf("translate(%q)\n got %s\nwant %s", tt.spel, tr.code, tt.want)
			}
		})
	}
}

func TestTranslateErrors(t *testing.T) {
	tests := []struct {
		name    string
		spel    string
		wantErr string
		is      error
	}{
		{"empty", "  ", "empty expression", nil},
		{"unterminated string", "'abc", "unterminated string literal at offset 0", nil},
		{"lone hash", "# x", "'#' must be followed by", nil},
		{"unknown function", "#nope()", "unknown function #nope", nil},
		{"unknown variable", "#nope", "unknown variable #nope", nil},
		{"omitted helper", "#fromUrl('x')", "#fromUrl would fetch a URL", ErrUnsupported},
		{"unbalanced close", "a)", `unexpected ")" at offset 1`, nil},
		{"mismatched close", "a[1)", `unexpected ")" at offset 3`, nil},
		{"unclosed", "f(a", `missing ")"`, nil},
		{"unclosed selection", "x.?[a", `missing "]"`, nil},
		{"assignment", "a = 1", "assignment", ErrUnsupported},
		{"bean", "@bean.x", "bean references", ErrUnsupported},
		{"increment", "a++", "the ++ operator", ErrUnsupported},
		{"instanceof", "a instanceof T(String)", "instanceof", ErrUnsupported},
		{"between", "a between {1, 2}", "between", ErrUnsupported},
		{"new", "new String('x')", "constructors", ErrUnsupported},
		{"forbidden type", "T(java.lang.Runtime).getRuntime()", "T(java.lang.Runtime) is not available", ErrUnsupported},
		{"type outside java.lang", "T(com.evil.Integer).parseInt('1')", "T(com.evil.Integer) is not available", ErrUnsupported},
		{"malformed type", "T(java lang)", "malformed type reference", nil},
		{"reserved name", "_spel_method('x', 1)", "names starting with _spel_ are reserved", nil},
		{"pipe", "a | b", `unexpected "|"`, nil},
		{"unknown character", "a § b", "unexpected character '§'", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := translate(tt.spel)
			if err == nil {
				t.Fatalf("translate(%q) = %s, want an error", tt.spel, tr.code)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("translate(%q): %v, want %q", tt.spel, err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("translate(%q): %v does not wrap %v", tt.spel, err, tt.is)
			}
		})
	}
}

func TestSplitTemplate(t *testing.T) {
	type seg = segment
	tests := []struct {
		name string
		in   string
		want []segment
	}{
		{"literal", "abc", []seg{{text: "abc"}}},
		{"one expression", "${a}", []seg{{text: "a", raw: "${a}", isExpr: true}}},
		{"mixed", "x${a}y${b}", []seg{{text: "x"}, {text: "a", raw: "${a}", isExpr: true}, {text: "y"}, {text: "b", raw: "${b}", isExpr: true}}},
		{"braces of a map", "${ {'a': 1}['a'] }", []seg{{text: " {'a': 1}['a'] ", raw: "${ {'a': 1}['a'] }", isExpr: true}}},
		{"brace in single quotes", "${'}'}", []seg{{text: "'}'", raw: "${'}'}", isExpr: true}}},
		{"brace in double quotes", `${"}"}`, []seg{{text: `"}"`, raw: `${"}"}`, isExpr: true}}},
		{"doubled quote", "${'a''}'}", []seg{{text: "'a''}'", raw: "${'a''}'}", isExpr: true}}},
		{"dollar brace in quotes", "${'${x}'}", []seg{{text: "'${x}'", raw: "${'${x}'}", isExpr: true}}},
		{"escaped", `a\${b}c`, []seg{{text: `a\${b}c`}}},
		{"escaped then real", `\${b}${c}`, []seg{{text: `\${b}`}, {text: "c", raw: "${c}", isExpr: true}}},
		{"dollar without brace", "$a {b}", []seg{{text: "$a {b}"}}},
		{"closing brace in text", "} ${a} }", []seg{{text: "} "}, {text: "a", raw: "${a}", isExpr: true}, {text: " }"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitTemplate(tt.in)
			if err != nil {
				t.Fatalf("splitTemplate(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("splitTemplate(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("splitTemplate(%q)[%d] = %+v, want %+v", tt.in, i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestSplitTemplateErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"unclosed", "a ${b", "missing closing }"},
		{"unclosed map", "${ {'a': 1 }", "missing closing }"},
		{"unterminated string", "${'a}", "unterminated string literal"},
		{"empty", "${ }", "empty expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := splitTemplate(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrSyntax) {
				t.Errorf("splitTemplate(%q): %v, want a syntax error with %q", tt.in, err, tt.wantErr)
			}
		})
	}
}
