package statemachines_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/orchestration"
	"github.com/gennaker/gennaker/statemachines"
)

// errorNames collects every ErrorEquals name in a definition.
func errorNames(v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if k == "ErrorEquals" {
				for _, n := range val.([]any) {
					out[n.(string)] = true
				}
				continue
			}
			errorNames(val, out)
		}
	case []any:
		for _, val := range x {
			errorNames(val, out)
		}
	}
}

// The ASL files and the Go code share one list of the error names the state
// machines route on; a name in one but not the other is a retry that never
// fires or an error that is never retried.
func TestErrorNamesAreSharedWithGo(t *testing.T) {
	seen := map[string]bool{}
	for name, def := range statemachines.Definitions() {
		var v any
		if err := json.Unmarshal(def, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		errorNames(v, seen)
	}
	var ours []string
	for n := range seen {
		if strings.HasPrefix(n, "States.") || strings.HasPrefix(n, "Lambda.") || strings.HasPrefix(n, "StepFunctions.") {
			continue
		}
		ours = append(ours, n)
	}
	sort.Strings(ours)
	want := slices.Clone(orchestration.StateMachineErrorNames)
	sort.Strings(want)
	if !slices.Equal(ours, want) {
		t.Fatalf("ASL routes on %v, Go declares %v", ours, want)
	}
	// A Go Lambda reports the type name of the error it returns.
	if got := reflect.TypeOf(&orchestration.TransientError{}).Elem().Name(); !slices.Contains(want, got) {
		t.Fatalf("TransientError reports as %q, which the state machines do not list", got)
	}
}

// State data carries ids and counters only: every Payload the machines send
// is built from a fixed set of small fields.
func TestPayloadsCarryIDsOnly(t *testing.T) {
	allowed := map[string]bool{"action": true, "executionId.$": true, "stageId.$": true, "attempt.$": true, "taskToken.$": true, "error.$": true,
		// The stage machine's counters and the name of its run.
		"name.$": true, "generation.$": true, "polls.$": true}
	for name, def := range statemachines.Definitions() {
		var m struct {
			States map[string]struct {
				Parameters map[string]any `json:"Parameters"`
			} `json:"States"`
		}
		if err := json.Unmarshal(def, &m); err != nil {
			t.Fatal(err)
		}
		for state, s := range m.States {
			payload, ok := s.Parameters["Payload"].(map[string]any)
			if !ok {
				continue
			}
			for k := range payload {
				if !allowed[k] {
					t.Errorf("%s.%s sends %q: state data must carry ids only", name, state, k)
				}
			}
		}
	}
}
