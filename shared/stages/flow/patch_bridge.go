package flow

// TEMPORARY: this file is a bridge. It holds, as one stages.Patcher, the
// rules the HTTP layer applied to PATCH /pipelines/{id}/stages/{stageId}
// before the registry decided stage patches, with the same messages. The
// manualJudgment and wait definitions, and an execution-window patcher, are
// to take these rules over one by one; when they do, delete this file and
// its RegisterPatcher line in flowcontrol.go.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// bridgePatchableFields are the stage context fields a PATCH may name: a
// manual judgment, and skipping the rest of a wait or an execution window.
// lastModifiedBy is accepted, as Deck sends it, but the orchestrator sets it
// from the request's user.
var bridgePatchableFields = []string{"judgmentStatus", "judgmentInput", "skipRemainingWait", "lastModifiedBy"}

// patchBridge decides every stage type's patches in one place, as the HTTP
// layer did.
type patchBridge struct{}

var _ stages.Patcher = patchBridge{}

// Patch implements stages.Patcher.
func (patchBridge) Patch(st *model.StageExecution, patch map[string]any) (map[string]any, error) {
	if len(patch) == 0 {
		return nil, stages.BadPatch("the body must set judgmentStatus (and judgmentInput) for a manual judgment, or skipRemainingWait for a wait")
	}
	for k := range patch {
		if !slices.Contains(bridgePatchableFields, k) {
			return nil, stages.BadPatch("%s: cannot be changed on a running stage; send judgmentStatus and judgmentInput for a manual judgment, or skipRemainingWait for a wait", k)
		}
	}
	clean := map[string]any{}
	if raw, ok := patch["judgmentStatus"]; ok {
		status, isString := raw.(string)
		if !isString {
			return nil, stages.BadPatch("judgmentStatus: must be %q or %q, not %s", JudgmentContinue, JudgmentStop, bridgeDescribeJSON(raw))
		}
		input := ""
		if v, ok := patch["judgmentInput"]; ok && v != nil {
			in, isString := v.(string)
			if !isString {
				return nil, stages.BadPatch("judgmentInput: must be a string, not %s", bridgeDescribeJSON(v))
			}
			input = in
		}
		if st.Type != "manualJudgment" {
			return nil, stages.BadPatch("stage %q is a %s stage, not a manual judgment; judgmentStatus applies only to manualJudgment stages", st.Name, st.Type)
		}
		if st.Status != model.StatusRunning {
			return nil, stages.PatchConflict("stage %q is %s; a judgment can be made only while the stage is RUNNING (waiting for judgment)", st.Name, st.Status)
		}
		if err := ValidateJudgment(st.Context, status, input); err != nil {
			return nil, stages.BadPatch("%v", err)
		}
		clean["judgmentStatus"] = strings.ToLower(strings.TrimSpace(status))
		if input != "" {
			clean["judgmentInput"] = input
		}
	} else if _, ok := patch["judgmentInput"]; ok {
		return nil, stages.BadPatch("judgmentInput: send it together with judgmentStatus (%q or %q)", JudgmentContinue, JudgmentStop)
	}
	if raw, ok := patch["skipRemainingWait"]; ok {
		skip, isBool := raw.(bool)
		if !isBool {
			return nil, stages.BadPatch("skipRemainingWait: must be true or false, not %s", bridgeDescribeJSON(raw))
		}
		if skip {
			if !bridgeCanSkipWait(st) {
				return nil, stages.BadPatch("stage %q is a %s stage with nothing to skip; skipRemainingWait applies to wait stages and stages held by an execution window", st.Name, st.Type)
			}
			if st.Status != model.StatusRunning {
				return nil, stages.PatchConflict("stage %q is %s; only a RUNNING wait can be skipped", st.Name, st.Status)
			}
			clean["skipRemainingWait"] = true
		}
	}
	if len(clean) == 0 {
		return nil, stages.BadPatch("the body changes nothing; send judgmentStatus for a manual judgment or skipRemainingWait: true for a wait")
	}
	return clean, nil
}

// bridgeCanSkipWait reports whether a stage waits in a way a user may cut
// short.
func bridgeCanSkipWait(st *model.StageExecution) bool {
	if st.Type == "wait" || st.Type == "restrictExecutionDuringTimeWindow" {
		return true
	}
	restricted, _ := st.Context["restrictExecutionDuringTimeWindow"].(bool)
	return restricted
}

// bridgeDescribeJSON names the JSON type of a decoded value, worded as the
// API words it in its other messages.
func bridgeDescribeJSON(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("%t", x)
	case json.Number:
		return "the number " + x.String()
	case float64:
		return fmt.Sprintf("the number %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
