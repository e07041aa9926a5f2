package stages

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Record is a typed value as the JSON object a Result's Context or Outputs
// carries. What a task writes is declared as a struct with JSON tags in
// Spinnaker's shape; Record turns it into the object the store keeps, with
// numbers as float64, so a later task reads the same values whether they
// were just recorded or stored and read back. A value that is not a JSON
// object is a programming error and panics (the orchestrator fails the
// task with it).
func Record(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("record %T: %v", v, err))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("record %T: %v", v, err))
	}
	return m
}

// Errors returns a stage's failure messages from its context's
// exception.details: the list in errors, else the single error; none when
// the context holds no exception.
func Errors(ctx map[string]any) []string {
	exc, _ := ctx["exception"].(map[string]any)
	details, _ := exc["details"].(map[string]any)
	var out []string
	if list, ok := details["errors"].([]any); ok {
		for _, e := range list {
			if msg, ok := e.(string); ok && msg != "" {
				out = append(out, msg)
			}
		}
	}
	if len(out) == 0 {
		if msg, ok := details["error"].(string); ok && msg != "" {
			out = append(out, msg)
		}
	}
	return out
}

// SetErrors lists every message in ctx's exception.details.errors and
// joins them in its error, adding the exception (see ExceptionContext)
// when ctx holds none.
func SetErrors(ctx map[string]any, messages []string) {
	exc, _ := ctx["exception"].(map[string]any)
	if exc == nil {
		exc = ExceptionContext("")["exception"].(map[string]any)
		ctx["exception"] = exc
	}
	details, _ := exc["details"].(map[string]any)
	if details == nil {
		details = map[string]any{}
		exc["details"] = details
	}
	errs := make([]any, len(messages))
	for i, m := range messages {
		errs[i] = m
	}
	details["error"] = strings.Join(messages, "; ")
	details["errors"] = errs
}
