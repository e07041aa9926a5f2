package expr

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// loadContext builds the context of the "Notify" stage of
// testdata/execution.json, the way the orchestrator would: the execution,
// its trigger and parameters, the current stage, and the outputs of the
// stages before it as variables.
func loadContext(t testing.TB) *Context {
	t.Helper()
	data, err := os.ReadFile("testdata/execution.json")
	if err != nil {
		t.Fatal(err)
	}
	var execution map[string]any
	if err := json.Unmarshal(data, &execution); err != nil {
		t.Fatal(err)
	}
	trigger := execution["trigger"].(map[string]any)
	stages := execution["stages"].([]any)
	variables := map[string]any{}
	for _, s := range stages[:3] {
		for k, v := range s.(map[string]any)["outputs"].(map[string]any) {
			variables[k] = v
		}
	}
	return &Context{
		Execution:  execution,
		Trigger:    trigger,
		Parameters: trigger["parameters"].(map[string]any),
		Stage:      stages[3].(map[string]any),
		Variables:  variables,
	}
}

func TestEvaluateString(t *testing.T) {
	c := loadContext(t)
	tests := []struct {
		name string
		in   string
		want any
	}{
		// Reading the execution.
		{"trigger index", "${trigger['parameters']['env']}", "prod"},
		{"trigger property", "${trigger.parameters.env}", "prod"},
		{"parameters property", "${parameters.env}", "prod"},
		{"parameters index", "${parameters['env']}", "prod"},
		{"parameter comparison", "${parameters.env == 'prod'}", true},
		{"execution name", "${execution.name}", "Deploy to prod"},
		{"execution trigger user", "${execution['trigger']['user']}", "alice@example.com"},
		{"first stage status", "${execution.stages[0].status}", "SUCCEEDED"},
		{"whole map", "${trigger.parameters}", c.Parameters},
		{"number from JSON", "${#stage('Deploy').outputs.x}", float64(42)},
		{"root", "${#root.parameters.env}", "prod"},
		{"missing key in comparison", "${parameters.nope == null}", true},

		// Stage helpers.
		{"stage index", "${#stage('Deploy')['context']['serverGroup']}", "myapp-prod-v003"},
		{"stage property", "${#stage('Deploy').context.serverGroup}", "myapp-prod-v003"},
		{"stage by id", "${#stage('01JD3N0QA000000000000DEPLOY').name}", "Deploy"},
		{"stage hasSucceeded", "${#stage('Deploy').hasSucceeded}", true},
		{"stage by refId", "${#stageByRefId('2').outputs.x}", float64(42)},
		{"stage exists", "${#stageExists('Deploy')}", true},
		{"stage does not exist", "${#stageExists('Nope')}", false},
		{"judgment", "${#judgment('Approve')}", "Promote"},
		{"judgement spelling", "${#judgement('Approve')}", "Promote"},
		{"current stage", "${#currentStage()['name']}", "Notify"},
		{"current stage status", "${#currentStage().status}", "RUNNING"},
		{"deployed server groups", "${#deployedServerGroups()[0].serverGroup}", "myapp-prod-v003"},
		{"deployed server groups alias", "${deployedServerGroups[0].region}", "us-east-1"},
		{"resolved artifact", "${#triggerResolvedArtifact('registry.example.com/myapp').version}", "v1.2.3"},
		{"resolved artifact by type", "${#triggerResolvedArtifactByType('docker/image').reference}", "registry.example.com/myapp:v1.2.3"},

		// Upstream outputs and the stage's own context as names.
		{"upstream output", "${deploymentDetails[0].ami}", "ami-0abc"},
		{"own context", "${method}", "POST"},

		// Helpers.
		{"toJson", "${#toJson(#stage('Deploy').context.capacity)}", `{"desired":3,"max":3,"min":3}`},
		{"toJson no html escaping", "${#toJson('<a&b>')}", `"<a&b>"`},
		{"toInt", "${#toInt('42')}", 42},
		{"toInt arithmetic", "${#toInt(parameters.replicas) + 1}", 4},
		{"toFloat", "${#toFloat('1.5')}", 1.5},
		{"toBoolean", "${#toBoolean(parameters.flag)}", true},
		{"toBoolean other", "${#toBoolean('yes')}", false},
		{"toBase64", "${#toBase64('hello')}", "aGVsbG8="},
		{"fromBase64", "${#fromBase64('aGVsbG8=')}", "hello"},
		{"fromBase64 unpadded", "${#fromBase64('aGVsbG8')}", "hello"},
		{"alphanumerical", "${#alphanumerical('my-app_v1.2')}", "myappv12"},
		{"readJson object", `${#readJson('{"a": [1, 2]}').a[1]}`, float64(2)},
		{"readJson list", `${#readJson('[{"n": "x"}]')[0].n}`, "x"},
		{"readYaml", "${#readYaml('a:\n  b: c').a.b}", "c"},
		{"readAllYaml", "${#readAllYaml('a: 1\n---\na: 2').size()}", 2},

		// Operators.
		{"elvis missing", "${parameters.missing ?: 'default'}", "default"},
		{"elvis empty string", "${parameters.empty ?: 'default'}", "default"},
		{"elvis present", "${parameters.env ?: 'default'}", "prod"},
		{"elvis chain", "${parameters.a ?: parameters.b ?: 'c'}", "c"},
		{"elvis default is an expression", "${parameters.missing ?: 'v' + 2}", "v2"},
		{"ternary", "${parameters.env == 'prod' ? 'live' : 'test'}", "live"},
		{"ternary nested in elvis", "${parameters.missing ?: (parameters.env == 'prod' ? 'p' : 'q')}", "p"},
		{"safe navigation on null", "${trigger.nothing?.deeper == null}", true},
		{"safe navigation on value", "${trigger?.user}", "alice@example.com"},
		{"safe method call on null", "${parameters.missing?.toUpperCase() ?: 'none'}", "none"},
		{"and or not", "${parameters.env == 'prod' and not (parameters.tag == 'x') or false}", true},
		{"symbolic and or", "${parameters.env == 'prod' && !(parameters.tag == 'x') || false}", true},
		{"uppercase keywords", "${parameters.env == 'prod' AND NOT false}", true},
		{"word comparisons", "${3 gt 2 and 2 ge 2 and 1 lt 2 and 1 le 1 and 1 eq 1 and 1 ne 2}", true},
		{"string less than", "${'abc' < 'abd'}", true},
		{"string greater or equal", "${parameters.tag >= 'v1'}", true},
		{"not equal", "${parameters.env != 'dev'}", true},
		{"number and JSON number equal", "${#stage('Deploy').outputs.x == 42}", true},
		{"matches full string", "${parameters.tag matches 'v\\d+\\.\\d+\\.\\d+'}", true},
		{"matches is anchored", "${parameters.tag matches '\\d+'}", false},
		{"string plus number", "${'v' + 5}", "v5"},
		{"number plus string", "${1 + 'x'}", "1x"},
		{"string plus JSON number", "${'x=' + #stage('Deploy').outputs.x}", "x=42"},
		{"string plus null", "${'a' + parameters.missing}", "anull"},
		{"string plus bool", "${'ok:' + true}", "ok:true"},
		{"number addition", "${1 + 2}", 3},
		{"float addition", "${1.5 + 1}", 2.5},
		{"integer division truncates", "${7 / 2}", 3},
		{"word division", "${7 div 2}", 3},
		{"float division", "${7.0 / 2}", 3.5},
		{"modulo", "${7 % 4}", 3},
		{"power", "${2 ^ 3}", float64(8)},
		{"unary minus", "${-(2 + 1)}", -3},
		{"null literal", "${parameters.missing == null}", true},
		{"long suffix", "${10L + 1}", 11},
		{"inline list", "${{1, 2, 3}.size()}", 3},
		{"inline map", "${ {'a': 1}['a'] }", 1},
		{"inline map with ternary value", "${ {'a': true ? 1 : 2}['a'] }", 1},
		{"empty inline map", "${{:}.isEmpty()}", true},
		{"quoted braces", "${'}' + '{'}", "}{"},
		{"quoted ${", "${'${' + 'x}'}", "${x}"},
		{"doubled quote", "${'it''s'}", "it's"},
		{"double quoted", `${"say ""hi"""}`, `say "hi"`},
		{"backslash is literal", `${'a\nb'}`, `a\nb`},
		{"static method", "${T(java.lang.Integer).parseInt('5') + 1}", 6},
		{"static max", "${T(Math).max(3, 7)}", 7},
		{"static field", "${T(java.lang.Integer).MAX_VALUE}", 2147483647},
		{"string join", "${T(String).join('-', {'a', 'b'})}", "a-b"},

		// Java methods on strings.
		{"toUpperCase", "${parameters.env.toUpperCase()}", "PROD"},
		{"toLowerCase", "${'PROD'.toLowerCase()}", "prod"},
		{"contains", "${parameters.tag.contains('1.2')}", true},
		{"startsWith", "${parameters.tag.startsWith('v')}", true},
		{"endsWith", "${parameters.tag.endsWith('.3')}", true},
		{"equals", "${parameters.env.equals('prod')}", true},
		{"equalsIgnoreCase", "${parameters.env.equalsIgnoreCase('PROD')}", true},
		{"length", "${parameters.tag.length()}", 6},
		{"substring from", "${parameters.tag.substring(1)}", "1.2.3"},
		{"substring range", "${parameters.tag.substring(1, 4)}", "1.2"},
		{"split drops trailing empty", "${parameters.regions.split(',')}", []any{"us-east-1", "us-west-2"}},
		{"split regex", "${'a1b22c'.split('\\d+')}", []any{"a", "b", "c"}},
		{"split then index", "${parameters.regions.split(',')[1]}", "us-west-2"},
		{"replace", "${parameters.tag.replace('.', '-')}", "v1-2-3"},
		{"replaceAll regex", "${parameters.tag.replaceAll('[^0-9]', '')}", "123"},
		{"replaceAll group", "${'a-b'.replaceAll('(\\w)-(\\w)', '$2-$1')}", "b-a"},
		{"trim", "${'  x '.trim()}", "x"},
		{"isEmpty", "${parameters.empty.isEmpty()}", true},
		{"indexOf", "${parameters.tag.indexOf('.')}", 2},
		{"indexOf missing", "${parameters.tag.indexOf('x')}", -1},
		{"charAt", "${parameters.tag.charAt(0)}", "v"},
		{"string matches method", "${parameters.env.matches('pr.*')}", true},
		{"toString", "${#stage('Deploy').outputs.x.toString()}", "42"},
		{"method chain", "${parameters.tag.substring(1).replace('.', '').length()}", 3},
		{"method on literal", "${'abc'.toUpperCase()}", "ABC"},

		// Java methods on lists and maps.
		{"list size", "${execution.stages.size()}", 4},
		{"list get", "${execution.stages.get(1).name}", "Deploy"},
		{"list isEmpty", "${execution.stages.isEmpty()}", false},
		{"list contains", "${{'a', 'b'}.contains('b')}", true},
		{"map containsKey", "${parameters.containsKey('env')}", true},
		{"map containsKey missing", "${parameters.containsKey('nope')}", false},
		{"map get", "${parameters.get('tag')}", "v1.2.3"},
		{"map size", "${#stage('Deploy').context.capacity.size()}", 3},
		{"map isEmpty", "${#stage('Approve').outputs.isEmpty()}", true},
		{"map keySet", "${#stage('Deploy').context.capacity.keySet()}", []any{"desired", "max", "min"}},
		{"map key with dots", "${#stage('Deploy').context['deploy.server.groups']['us-east-1'][0]}", "myapp-prod-v003"},

		// Selection and projection.
		{"selection", "${execution.stages.?[type == 'deploy'][0].name}", "Deploy"},
		{"selection size", "${execution.stages.?[status == 'SUCCEEDED'].size()}", 3},
		{"projection", "${execution.stages.![name]}", []any{"Bake", "Deploy", "Approve", "Notify"}},
		{"first match", "${execution.stages.^[refId > '1'].name}", "Deploy"},
		{"last match", "${execution.stages.$[status == 'SUCCEEDED'].name}", "Approve"},
		{"selection with this", "${{'a', 'bb', 'ccc'}.?[#this.length() > 1]}", []any{"bb", "ccc"}},
		{"projection with method", "${{'a', 'b'}.![#this.toUpperCase()]}", []any{"A", "B"}},
		{"selection with root", "${execution.stages.?[name == #root.parameters.env].size()}", 0},
		{"selection with helper", "${execution.stages.?[name == #stage('Deploy').name].![refId]}", []any{"2"}},
		{"nested selection", "${#stage('Bake').context.amiDetails.?[region.startsWith('us-')].![imageId]}", []any{"ami-0abc", "ami-0def"}},
		{"selection with elvis", "${execution.stages.?[(outputs.x ?: 0) == 42].![name]}", []any{"Deploy"}},
		{"safe selection on null", "${parameters.nothing?.?[true] == null}", true},

		// Templates.
		{"text around", "tag-${parameters.tag}-x", "tag-v1.2.3-x"},
		{"two expressions", "${parameters.env}/${parameters.tag}", "prod/v1.2.3"},
		{"number in text", "n=${#toInt('3')}", "n=3"},
		{"float in text", "f=${#toFloat('1.5')}", "f=1.5"},
		{"JSON number in text", "x=${#stage('Deploy').outputs.x}", "x=42"},
		{"map in text is JSON", "cap=${#stage('Deploy').context.capacity}", `cap={"desired":3,"max":3,"min":3}`},
		{"list in text is JSON", "l=${{1, 'a'}}", `l=[1,"a"]`},
		{"null in text is empty", "a${parameters.missing}b", "ab"},
		{"no expression", "plain text", "plain text"},
		{"escaped expression", `literal \${parameters.env}`, `literal \${parameters.env}`},
		{"escaped and real", `\${x} ${parameters.env}`, `\${x} prod`},
		{"whitespace inside", "${ parameters.env }", "prod"},
		{"multi-line", "${parameters.env ==\n 'prod'}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EvaluateString(tt.in, c)
			if err != nil {
				t.Fatalf("EvaluateString(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("EvaluateString(%q) = %#v (%T), want %#v (%T)", tt.in, got, got, tt.want, tt.want)
			}
		})
	}
}

func TestEvaluateStringErrors(t *testing.T) {
	c := loadContext(t)
	tests := []struct {
		name    string
		in      string
		wantErr string   // substring of the message
		is      error    // sentinel the error wraps, when there is one
		exprs   []string // expressions the error names; defaults to in
	}{
		{"unknown stage", "${#stage('X').context.url}", `#stage("X"): no stage named "X" in execution 01JD3N0Q9Z8X7W6V5T4S3R2Q1P`, nil, nil},
		{"unknown refId", "${#stageByRefId('9')}", `no stage with refId "9"`, nil, nil},
		{"judgment on a stage without input", "${#judgment('Deploy')}", `no manual judgment stage named "Deploy"`, nil, nil},
		{"property of missing key", "${trigger.foo.bar}", `cannot read property "bar" of null`, nil, nil},
		{"method on null", "${parameters.missing.toUpperCase()}", "cannot call toUpperCase() on null", nil, nil},
		{"null result", "${parameters.missing}", "evaluated to null", ErrNullResult, nil},
		{"syntax error", "${parameters.env ==}", "syntax error", ErrSyntax, nil},
		{"unbalanced bracket", "${parameters['env'}", "syntax error", ErrSyntax, nil},
		{"unterminated string", "${'abc}", "syntax error", ErrSyntax, nil},
		{"unterminated expression", "${parameters.env", "missing closing }", ErrSyntax, nil},
		{"empty expression", "${}", "empty expression", ErrSyntax, nil},
		{"unknown function", "${#nope('x')}", "unknown function #nope", ErrSyntax, nil},
		{"unknown variable", "${#foo}", "unknown variable #foo", ErrSyntax, nil},
		{"network helper", "${#fromUrl('http://x')}", "#fromUrl would fetch a URL", ErrUnsupported, nil},
		{"jsonFromUrl", "${#jsonFromUrl('http://x')}", "not supported", ErrUnsupported, nil},
		{"pipelineId", "${#pipelineId('p')}", "not supported", ErrUnsupported, nil},
		{"forbidden type", "${T(java.lang.System).exit(0)}", "T(java.lang.System) is not available", ErrUnsupported, nil},
		{"constructor", "${new java.io.File('/')}", "constructors", ErrUnsupported, nil},
		{"assignment", "${parameters.env = 'x'}", "assignment", ErrUnsupported, nil},
		{"bean reference", "${@bean}", "bean references", ErrUnsupported, nil},
		{"unknown method", "${parameters.env.frobnicate()}", "String has no method frobnicate()", nil, nil},
		{"bad method arguments", "${parameters.env.substring(9)}", "substring(): range [9, 4) out of bounds", nil, nil},
		{"index out of range", "${execution.stages[10]}", "index out of range", nil, nil},
		{"bad toInt", "${#toInt('x')}", `#toInt("x"): "x" is not an integer`, nil, nil},
		{"bad regex", "${'a' matches '('}", "invalid regular expression", nil, nil},
		{"division by zero", "${1 / 0}", "division by zero", nil, nil},
		{"toJson with expression", "${#toJson('${x}')}", "would contain an expression", nil, nil},
		{"selection on a string", "${parameters.env.?[true]}", "can only select from or project a List", nil, nil},
		{"too long", "${'" + strings.Repeat("a", MaxExpressionLength) + "'}", "the limit is", ErrTooLong, nil},
		{"too many nodes", "${" + strings.Repeat("1+", 4000) + "1}", "maximum allowed nodes", ErrTooLong, nil},
		{"and on a map", "${parameters and true}", "and and or need boolean operands, not Map", nil, nil},
		{"or on null", "${parameters.missing or parameters.env == 'prod'}", "and and or need boolean operands, not null", nil, nil},
		{"not on a string", "${not parameters.env}", "a condition is a String, not a boolean", nil, nil},
		{"ternary on null", "${parameters.missing ? 1 : 2}", "a condition is null, not a boolean", nil, nil},
		{"selection predicate not boolean", "${execution.stages.?[name]}", "a condition is a String, not a boolean", nil, nil},
		{"property of a string", "${parameters.env.foo}", "a List or String cannot be read by property name", nil, nil},
		{"map by number", "${parameters[0]}", "a Map cannot be indexed by an Integer", nil, nil},
		{"string minus number", "${parameters.env - 1}", "invalid operation", nil, nil},
		{"helper arity", "${#stage('a', 'b')}", `#stage("a", "b"): takes 1 argument(s), got 2`, nil, nil},
		{"failure in mixed text", "a-${#stage('X').name}-${parameters.env}", `no stage named "X"`, nil, []string{"${#stage('X').name}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EvaluateString(tt.in, c)
			if err == nil {
				t.Fatalf("EvaluateString(%q) = %#v, want an error", tt.in, got)
			}
			if got != tt.in {
				t.Errorf("EvaluateString(%q) returned %#v on failure, want the input unchanged", tt.in, got)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantErr) {
				t.Errorf("error %q does not contain %q", abbreviate(msg, 300), tt.wantErr)
			}
			exprs := tt.exprs
			if exprs == nil {
				exprs = []string{tt.in}
			}
			for _, e := range exprs {
				if !strings.Contains(msg, "expression "+quote(e)+" failed") {
					t.Errorf("error %q does not name the expression %q", msg, e)
				}
			}
			var ee *Error
			if !errors.As(err, &ee) {
				t.Errorf("error %T is not an *Error", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", msg, tt.is)
			}
		})
	}
}

// quote renders s as Error.Error does.
func quote(s string) string {
	b, _ := json.Marshal(s) // same as %q for the ASCII used in these tests
	return string(b)
}

func TestEvaluate(t *testing.T) {
	c := loadContext(t)
	stage := c.Stage
	before, _ := json.Marshal(stage)

	got, errs := Evaluate(stage["context"], c)
	if len(errs) > 0 {
		t.Fatalf("Evaluate: %v", errs)
	}
	want := map[string]any{
		"method": "POST",
		"url":    "https://hooks.example.com/myapp/prod",
		"payload": map[string]any{
			"text":     "Deployed myapp-prod-v003 (v1.2.3) by alice@example.com",
			"ami":      "ami-0abc",
			"replicas": 3,
			"approved": true,
			"regions":  []any{"us-east-1", "us-west-2"},
			"items":    []any{"v1.2.3", "static", "Notify"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("Evaluate = %s", g)
	}
	if after, _ := json.Marshal(stage); string(after) != string(before) {
		t.Errorf("Evaluate modified its input:\nbefore %s\nafter  %s", before, after)
	}

	// The result shares nothing with the context: changing it changes no
	// execution data.
	out, _ := EvaluateString("${#stage('Deploy').context.capacity}", c)
	out.(map[string]any)["min"] = 99
	if again, _ := EvaluateString("${#stage('Deploy').context.capacity.min}", c); again != float64(3) {
		t.Errorf("changing a result changed the context: min is now %v", again)
	}
}

func TestEvaluateReportsPaths(t *testing.T) {
	c := loadContext(t)
	in := map[string]any{
		"url":   "${trigger.foo.bar}",
		"count": 3,
		"payload": map[string]any{
			"items":        []any{"${#stage('X').name}", "fine ${parameters.env}"},
			"dotted.key":   "${nope.nope}",
			"${'k' + 1}":   "v",
			"${#bad('x')}": "kept key",
		},
		"list": []any{map[string]any{"x": "${1 / 0}"}},
	}
	got, errs := Evaluate(in, c)
	wantErrs := []struct{ path, expr, msg string }{
		{"list[0].x", "${1 / 0}", "division by zero"},
		{"payload[\"${#bad('x')}\"]", "${#bad('x')}", "unknown function #bad"},
		{"payload[\"dotted.key\"]", "${nope.nope}", `cannot read property "nope" of null`},
		{"payload.items[0]", "${#stage('X').name}", `no stage named "X"`},
		{"url", "${trigger.foo.bar}", `cannot read property "bar" of null`},
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("got %d errors, want %d: %v", len(errs), len(wantErrs), errs)
	}
	for i, w := range wantErrs {
		e := errs[i]
		if e.Path != w.path || e.Expression != w.expr || !strings.Contains(e.Error(), w.msg) {
			t.Errorf("error %d = {%q, %q, %v}, want {%q, %q, ...%s...}", i, e.Path, e.Expression, e.Err, w.path, w.expr, w.msg)
		}
		if !strings.HasPrefix(e.Error(), w.path+": expression "+quote(w.expr)+" failed: ") {
			t.Errorf("error %d reads %q", i, e.Error())
		}
	}
	payload := got.(map[string]any)["payload"].(map[string]any)
	wantPayload := map[string]any{
		"items":        []any{"${#stage('X').name}", "fine prod"},
		"dotted.key":   "${nope.nope}",
		"k1":           "v",
		"${#bad('x')}": "kept key",
	}
	if !reflect.DeepEqual(payload, wantPayload) {
		t.Errorf("payload = %#v, want %#v", payload, wantPayload)
	}
	if got.(map[string]any)["url"] != "${trigger.foo.bar}" || got.(map[string]any)["count"] != 3 {
		t.Errorf("result = %#v", got)
	}
}

func TestEvaluateValues(t *testing.T) {
	c := loadContext(t)
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"nil", nil, nil},
		{"number", 1.5, 1.5},
		{"bool", true, true},
		{"typed slice", []string{"${parameters.env}", "x"}, []any{"prod", "x"}},
		{"typed map", map[string]string{"e": "${parameters.env}"}, map[string]any{"e": "prod"}},
		{"nested", map[string]any{"a": []any{map[string]any{"b": "${1 + 1}"}}}, map[string]any{"a": []any{map[string]any{"b": 2}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := Evaluate(tt.in, c)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Evaluate(%#v) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestEvaluateBool(t *testing.T) {
	c := loadContext(t)
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"template", "${parameters.env == 'prod'}", true},
		{"bare", "parameters.env == 'prod'", true},
		{"bare false", "parameters.env == 'dev'", false},
		{"bare helper", "#stageExists('Deploy') && #judgment('Approve') == 'Promote'", true},
		{"string true", "${parameters.flag}", true},
		{"string false", "${'False'}", false},
		{"literal", "true", true},
		{"padded", "  ${true}  ", true},
		{"bare with braces", "{'a': 1}['a'] == 1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EvaluateBool(tt.in, c)
			if err != nil {
				t.Fatalf("EvaluateBool(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("EvaluateBool(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestEvaluateBoolErrors(t *testing.T) {
	c := loadContext(t)
	tests := []struct {
		name    string
		in      string
		wantErr string
		is      error
	}{
		{"string", "${parameters.env}", `evaluated to String "prod", want true or false`, ErrNotBoolean},
		{"number", "1 + 1", "evaluated to Integer 2", ErrNotBoolean},
		{"mixed text", "x ${true}", `evaluated to String "x true"`, ErrNotBoolean},
		{"null template", "${parameters.missing}", "evaluated to null", ErrNullResult},
		{"null bare", "parameters.missing", "evaluated to null", ErrNullResult},
		{"syntax", "parameters.env ==", "syntax error", ErrSyntax},
		{"empty", "  ", "empty expression", ErrSyntax},
		{"unknown stage", "#stage('X').status == 'SUCCEEDED'", `no stage named "X"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EvaluateBool(tt.in, c)
			if err == nil {
				t.Fatalf("EvaluateBool(%q) = %v, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "expression "+quote(tt.in)+" failed") &&
				!strings.Contains(err.Error(), "expression "+quote(strings.TrimSpace(tt.in))+" failed") {
				t.Errorf("error %q should name the expression and say %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestHasExpression(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"${x}", true},
		{"a ${x} b", true},
		{"no", false},
		{"$x {y}", false},
		{`\${x}`, false},
		{`\${x} ${y}`, true},
		{"", false},
	}
	for _, tt := range tests {
		if got := HasExpression(tt.in); got != tt.want {
			t.Errorf("HasExpression(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestEvaluateTooDeep checks that a cyclic value is reported, not followed
// until the stack runs out.
func TestEvaluateTooDeep(t *testing.T) {
	cyclic := map[string]any{"a": "${1}"}
	cyclic["self"] = cyclic
	_, errs := Evaluate(cyclic, nil)
	if len(errs) == 0 || !strings.Contains(errs[len(errs)-1].Error(), "nested more than 1000 levels") {
		t.Fatalf("errors = %v", errs)
	}
	if !strings.HasPrefix(errs[len(errs)-1].Path, "self.self.self") {
		t.Errorf("path = %q", errs[len(errs)-1].Path)
	}
}

// TestNames checks which value a top-level name refers to.
func TestNames(t *testing.T) {
	c := &Context{
		Execution: map[string]any{
			"name": "p",
			"trigger": map[string]any{
				"user":       "from-execution",
				"parameters": map[string]any{"env": "from-execution"},
				"buildInfo": map[string]any{"scm": []any{
					map[string]any{"branch": "master", "sha1": "aaa"},
					map[string]any{"branch": "feature/x", "sha1": "bbb"},
				}},
			},
		},
		Stage: map[string]any{"context": map[string]any{"shadowed": "stage", "own": "stage"}},
		Variables: map[string]any{
			"shadowed":   "variable",
			"upstream":   "variable",
			"execution":  "variable",
			"parameters": "variable",
		},
	}
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"trigger falls back to the execution's", "${trigger.user}", "from-execution"},
		{"parameters fall back to the trigger's", "${parameters.env}", "from-execution"},
		{"execution beats a variable", "${execution.name}", "p"},
		{"parameters beat a variable", "${parameters.env}", "from-execution"},
		{"stage context beats a variable", "${shadowed}", "stage"},
		{"stage context", "${own}", "stage"},
		{"variable", "${upstream}", "variable"},
		{"scmInfo skips master", "${scmInfo.sha1}", "bbb"},
		{"unknown name is null", "${nothing == null}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EvaluateString(tt.in, c)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("EvaluateString(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestNilContext checks that a missing context is an empty one, not a crash.
func TestNilContext(t *testing.T) {
	if got, err := EvaluateString("${'a' + 1}", nil); err != nil || got != "a1" {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := EvaluateString("${#stage('X')}", nil); err == nil || !strings.Contains(err.Error(), `no stage named "X"`) {
		t.Errorf("got %v", err)
	}
	if _, err := EvaluateString("${#currentStage()}", &Context{}); err == nil || !strings.Contains(err.Error(), "no current stage") {
		t.Errorf("got %v", err)
	}
	if got, err := EvaluateString("${parameters.size()}", nil); err != nil || got != 0 {
		t.Errorf("parameters default to an empty map: got %v, %v", got, err)
	}
}

// TestConcurrentEvaluation runs evaluations in parallel, for the race
// detector: the program cache, the VM pool and the regexp cache are shared.
func TestConcurrentEvaluation(t *testing.T) {
	c := loadContext(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				out, errs := Evaluate(c.Stage["context"], c)
				if len(errs) > 0 {
					t.Error(errs)
					return
				}
				if out.(map[string]any)["url"] != "https://hooks.example.com/myapp/prod" {
					t.Errorf("url = %v", out.(map[string]any)["url"])
					return
				}
				if ok, _ := EvaluateBool("parameters.tag matches 'v.*'", c); !ok {
					t.Error("matches failed")
					return
				}
			}
		}()
	}
	wg.Wait()
}
