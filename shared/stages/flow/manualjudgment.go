package flow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
)

// ManualJudgmentStage is Spinnaker's "manualJudgment" stage: the run waits
// until a person chooses to continue or stop, optionally picking one of the
// judgmentInputs. The API records the choice in the stage context
// (judgmentStatus, judgmentInput, lastModifiedBy) and wakes the task.
//
// instructions, notifications and propagateAuthenticationContext are kept in
// the context for people and notifiers; the task does not use them.
type ManualJudgmentStage struct{}

// Type implements Definition.
func (ManualJudgmentStage) Type() string { return "manualJudgment" }

// Validate checks judgmentInputs: a list of {value} with non-empty, unique
// values.
func (ManualJudgmentStage) Validate(s *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(s, &p)
	stages.CheckField(cfg, "instructions", &p, stages.ReadsString)
	stages.CheckField(cfg, "propagateAuthenticationContext", &p, stages.ReadsBool)
	if _, err := judgmentInputs(cfg); err != nil {
		p.AddErr(err)
	}
	return p
}

// Plan implements Definition.
func (ManualJudgmentStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{WaitForJudgmentTask{}.Name()}, nil
}

// Judgment choices, as Deck sends them in judgmentStatus.
const (
	JudgmentContinue = "continue"
	JudgmentStop     = "stop"
)

// ErrInvalidJudgment is wrapped by every error of ValidateJudgment, so the
// API can answer 400.
var ErrInvalidJudgment = errors.New("invalid judgment")

// ValidateJudgment checks a judgment before the API records it in the stage
// context: status must be "continue" or "stop", the stage must not be judged
// already, and when the stage lists judgmentInputs a non-empty input must be
// one of them. Errors wrap ErrInvalidJudgment and say what to fix.
func ValidateJudgment(stageContext map[string]any, status, input string) error {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case JudgmentContinue, JudgmentStop:
	default:
		return fmt.Errorf("%w: judgmentStatus must be %q or %q, not %q", ErrInvalidJudgment, JudgmentContinue, JudgmentStop, status)
	}
	if prev, _, _ := stages.String(stageContext, "judgmentStatus"); prev != "" {
		by, _, _ := stages.String(stageContext, "lastModifiedBy")
		return fmt.Errorf("%w: the stage was already judged %q%s", ErrInvalidJudgment, prev, byWhom(by))
	}
	inputs, err := judgmentInputs(stageContext)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidJudgment, err)
	}
	if input == "" || len(inputs) == 0 {
		return nil
	}
	for _, allowed := range inputs {
		if input == allowed {
			return nil
		}
	}
	return fmt.Errorf("%w: judgmentInput %q is not one of the stage's inputs (%s)", ErrInvalidJudgment, input, quoteAll(inputs))
}

// judgmentInputs returns the values of judgmentInputs ([{value}]).
func judgmentInputs(ctx map[string]any) ([]string, error) {
	var items []struct {
		Value any `json:"value"`
	}
	if _, err := stages.DecodeField(ctx, "judgmentInputs", &items); err != nil {
		return nil, err
	}
	values := make([]string, 0, len(items))
	seen := map[string]int{}
	for i, it := range items {
		v, ok := it.Value.(string)
		if !ok || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("judgmentInputs[%d].value: must be a non-empty string", i)
		}
		if j, dup := seen[v]; dup {
			return nil, fmt.Errorf("judgmentInputs[%d].value: %q is listed twice (also judgmentInputs[%d])", i, v, j)
		}
		seen[v] = i
		values = append(values, v)
	}
	return values, nil
}

// WaitForJudgmentTask waits for a person's judgment. It is only called again
// when woken (a judgment is recorded, the run is canceled or resumed).
type WaitForJudgmentTask struct{}

// Name implements Task.
func (WaitForJudgmentTask) Name() string { return "WaitForJudgment" }

// judgmentRecheck is how long a sleeping judgment may go unchecked should a
// wake-up be lost; it is not a poll.
const judgmentRecheck = time.Hour

// Timeout is Spinnaker's: three days, unless the stage sets stageTimeoutMs.
func (WaitForJudgmentTask) Timeout(s *model.StageExecution) time.Duration {
	return stages.OverridableTimeout(s, 72*time.Hour)
}

// Execute implements Task.
func (WaitForJudgmentTask) Execute(_ context.Context, run *stages.Run) (stages.Result, error) {
	ctx := run.Stage.Context
	status, _, err := stages.String(ctx, "judgmentStatus")
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	switch strings.ToLower(strings.TrimSpace(status)) {
	case JudgmentContinue:
		return stages.Succeeded(), nil
	case JudgmentStop:
		by := judgedBy(run.Stage)
		input, _, _ := stages.String(ctx, "judgmentInput")
		if by == "" {
			by = "an unknown user"
		}
		msg := "Manual judgment: stopped by " + by
		if input != "" {
			msg += fmt.Sprintf(" (judgment input %q)", input)
		}
		return stages.Failed("%s", msg), nil
	default:
		return stages.Result{Status: model.StatusRunning, Backoff: judgmentRecheck, Wake: stages.Callback}, nil
	}
}

// judgedBy is who made the judgment: Gate's lastModifiedBy in the context,
// else the stage's lastModified record.
func judgedBy(s *model.StageExecution) string {
	if by, _, _ := stages.String(s.Context, "lastModifiedBy"); by != "" {
		return by
	}
	if s.LastModified != nil {
		return s.LastModified.User
	}
	return ""
}

func byWhom(user string) string {
	if user == "" {
		return ""
	}
	return " by " + user
}

func quoteAll(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

var _ stages.TimeoutTask = WaitForJudgmentTask{}
