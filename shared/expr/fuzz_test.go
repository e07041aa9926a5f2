package expr

import (
	"strings"
	"sync"
	"testing"
)

var (
	fuzzContextOnce sync.Once
	fuzzContext     *Context
)

// FuzzEvaluateString checks that no input makes evaluation panic or hang,
// and that a failure always leaves the input unchanged.
func FuzzEvaluateString(f *testing.F) {
	for _, s := range []string{
		"${trigger.parameters.env}", "${#stage('Deploy').context.serverGroup}", "a ${b ?: 'c'} d",
		"${ {'a': {1, 2}}['a'].?[#this > 1].![#this + 'x'] }", "${T(Math).max(1, 2)}", `\${x}`,
		"${'it''s' matches '.*'}", "${parameters.tag.split('.').size()}", "${x?.y?.z()}", "${#root}",
		"${execution.stages.$[status == 'SUCCEEDED']?.outputs}", "${1 / 0}", "${{:}}", "${'a' + null + 1.5}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fuzzContextOnce.Do(func() { fuzzContext = loadContext(t) })
		out, err := EvaluateString(s, fuzzContext)
		if err != nil && out != s {
			t.Errorf("EvaluateString(%q) failed with %v but returned %#v", s, err, out)
		}
		if panicked(err) {
			t.Errorf("EvaluateString(%q) panicked: %v", s, err)
		}
		if _, err := EvaluateBool(s, fuzzContext); panicked(err) {
			t.Errorf("EvaluateBool(%q) panicked: %v", s, err)
		}
	})
}

// panicked reports whether err is a recovered panic rather than an
// evaluation error: ours ("internal error") or Go's ("runtime error").
func panicked(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "internal error") || strings.Contains(err.Error(), "runtime error"))
}

// FuzzTranslate checks the SpEL rewrite alone, which runs outside
// expr-lang's own panic recovery.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{"a.?[b]", "{a: {1}}", "T(java.lang.Integer).MAX_VALUE", "#stage('x')", "'a''b'", "1.5e3f", "x ?: y ? z : w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		translate(s)
		splitTemplate(s)
	})
}
