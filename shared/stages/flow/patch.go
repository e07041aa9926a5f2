package flow

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
)

// A user changes a running stage with Gate's PATCH
// /pipelines/{id}/stages/{stageId}: a manual judgment (judgmentStatus and
// judgmentInput) or skipping the rest of a wait or of an execution window
// (skipRemainingWait). Every stage type that takes a change decides it with
// decidePatch, so a body gets the same answer whichever patcher reads it
// first.

// patchableFields are the fields a PATCH body may hold; Gate adds
// lastModifiedBy, which the API records itself.
var patchableFields = []string{"judgmentStatus", "judgmentInput", "skipRemainingWait", "lastModifiedBy"}

// patchRules say which changes a stage type takes.
type patchRules struct {
	// judge: the stage takes a manual judgment.
	judge bool
	// skip reports whether the stage waits in a way a user may cut short.
	skip func(s *model.StageExecution) bool
}

// patchFields are the context fields a PATCH sets.
type patchFields struct {
	JudgmentStatus    string `json:"judgmentStatus,omitempty"`
	JudgmentInput     string `json:"judgmentInput,omitempty"`
	SkipRemainingWait bool   `json:"skipRemainingWait,omitempty"`
}

// decidePatch checks a PATCH body against a stage and returns the context
// fields to set, or a *stages.PatchError: a wrong change is refused (400), a
// right one for a stage that is not running conflicts (409).
func decidePatch(s *model.StageExecution, patch map[string]any, rules patchRules) (map[string]any, error) {
	if len(patch) == 0 {
		return nil, stages.BadPatch("the body must set judgmentStatus (and judgmentInput) for a manual judgment, or skipRemainingWait for a wait")
	}
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	// Sorted, so that a body with several unknown fields always names the
	// same one.
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(patchableFields, k) {
			return nil, stages.BadPatch("%s: cannot be changed on a running stage; send judgmentStatus and judgmentInput for a manual judgment, or skipRemainingWait for a wait", k)
		}
	}
	var fields patchFields
	if raw, ok := patch["judgmentStatus"]; ok {
		judgment, err := decideJudgment(s, raw, patch["judgmentInput"], rules.judge)
		if err != nil {
			return nil, err
		}
		fields = judgment
	} else if _, ok := patch["judgmentInput"]; ok {
		return nil, stages.BadPatch("judgmentInput: send it together with judgmentStatus (%q or %q)", JudgmentContinue, JudgmentStop)
	}
	if raw, ok := patch["skipRemainingWait"]; ok {
		skip, isBool := raw.(bool)
		if !isBool {
			return nil, stages.BadPatch("skipRemainingWait: must be true or false, not %s", describePatchValue(raw))
		}
		if skip {
			if rules.skip == nil || !rules.skip(s) {
				return nil, stages.BadPatch("stage %q is a %s stage with nothing to skip; skipRemainingWait applies to wait stages and stages held by an execution window", s.Name, s.Type)
			}
			if s.Status != model.StatusRunning {
				return nil, stages.PatchConflict("stage %q is %s; only a RUNNING wait can be skipped", s.Name, s.Status)
			}
			fields.SkipRemainingWait = true
		}
	}
	if fields == (patchFields{}) {
		return nil, stages.BadPatch("the body changes nothing; send judgmentStatus for a manual judgment or skipRemainingWait: true for a wait")
	}
	return stages.Record(fields), nil
}

// decideJudgment checks a judgment (judgmentStatus with an optional
// judgmentInput) and returns the fields recording it.
func decideJudgment(s *model.StageExecution, rawStatus, rawInput any, judge bool) (patchFields, error) {
	var none patchFields
	status, isString := rawStatus.(string)
	if !isString {
		return none, stages.BadPatch("judgmentStatus: must be %q or %q, not %s", JudgmentContinue, JudgmentStop, describePatchValue(rawStatus))
	}
	input := ""
	if rawInput != nil {
		in, isString := rawInput.(string)
		if !isString {
			return none, stages.BadPatch("judgmentInput: must be a string, not %s", describePatchValue(rawInput))
		}
		input = in
	}
	if !judge {
		return none, stages.BadPatch("stage %q is a %s stage, not a manual judgment; judgmentStatus applies only to manualJudgment stages", s.Name, s.Type)
	}
	if s.Status != model.StatusRunning {
		return none, stages.PatchConflict("stage %q is %s; a judgment can be made only while the stage is RUNNING (waiting for judgment)", s.Name, s.Status)
	}
	if err := ValidateJudgment(s.Context, status, input); err != nil {
		return none, stages.BadPatch("%v", err)
	}
	return patchFields{JudgmentStatus: strings.ToLower(strings.TrimSpace(status)), JudgmentInput: input}, nil
}

// describePatchValue names a value of a PATCH body as the API's messages do:
// booleans bare, strings quoted and cut to 40 characters.
func describePatchValue(v any) string {
	switch x := v.(type) {
	case bool:
		return fmt.Sprintf("%t", x)
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("the string %q", x)
	}
	return stages.Describe(v)
}
