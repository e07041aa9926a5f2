package expr

import "testing"

// BenchmarkEvaluateStageContext evaluates the context of a typical webhook
// stage: nine expressions (stage lookups, a judgment, parameters, an
// upstream output, a helper, a method call) in a nested payload. Programs
// come from the cache, as they do from the second execution of a pipeline.
func BenchmarkEvaluateStageContext(b *testing.B) {
	c := loadContext(b)
	stageContext := c.Stage["context"]
	if _, errs := Evaluate(stageContext, c); len(errs) > 0 {
		b.Fatal(errs)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(stageContext, c)
	}
}

// BenchmarkEvaluateBool is a stageEnabled condition.
func BenchmarkEvaluateBool(b *testing.B) {
	c := loadContext(b)
	const cond = "parameters.env == 'prod' && #stage('Deploy').status == 'SUCCEEDED'"
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := EvaluateBool(cond, c); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkCompile measures what the cache saves: translating, parsing,
// patching and compiling one expression.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := compileUncached("#stage('Deploy').context.serverGroup.toUpperCase() ?: parameters.env"); err != nil {
			b.Fatal(err)
		}
	}
}
