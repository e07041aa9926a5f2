package flow

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// manualJudgmentConfig is a manual judgment stage's configuration, plus the
// judgment a user recorded by PATCH.
type manualJudgmentConfig struct {
	Instructions                   string          `json:"instructions"`
	PropagateAuthenticationContext bool            `json:"propagateAuthenticationContext"`
	JudgmentInputs                 []judgmentInput `json:"judgmentInputs"`
	// SelectedStageRoles are the roles that may judge; the API refuses a
	// judgment from anyone else (shared/auth).
	SelectedStageRoles []string `json:"selectedStageRoles"`

	// JudgmentStatus, JudgmentInput and LastModifiedBy are the judgment.
	JudgmentStatus string `json:"judgmentStatus"`
	JudgmentInput  string `json:"judgmentInput"`
	LastModifiedBy string `json:"lastModifiedBy"`
}

// judgmentInput is one choice Deck offers with the judgment.
type judgmentInput struct {
	Value string `json:"value"`
}

// Validate checks judgmentInputs: a list of {value} with non-empty, unique
// values.
func (ManualJudgmentStage) Validate(s *model.Stage) []model.Problem {
	var cfg manualJudgmentConfig
	_, p := stages.DecodeConfig(s, &cfg)
	if !problemAt(p, "judgmentInputs") {
		if _, err := cfg.inputs(); err != nil {
			p = append(p, *err)
		}
	}
	return p
}

// Config implements stages.Configurer.
func (ManualJudgmentStage) Config(s *model.StageExecution) (any, error) {
	return decodeContext(s.Context, &manualJudgmentConfig{})
}

// Patch implements stages.Patcher: a user judges a running stage, and may
// skip the execution window that holds it.
func (ManualJudgmentStage) Patch(s *model.StageExecution, patch map[string]any) (map[string]any, error) {
	return decidePatch(s, patch, patchRules{judge: true, skip: heldByWindow})
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
	var cfg manualJudgmentConfig
	if err := stages.Decode(stageContext, &cfg).Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidJudgment, err)
	}
	if cfg.JudgmentStatus != "" {
		return fmt.Errorf("%w: the stage was already judged %q%s", ErrInvalidJudgment, cfg.JudgmentStatus, byWhom(cfg.LastModifiedBy))
	}
	inputs, perr := cfg.inputs()
	if perr != nil {
		return fmt.Errorf("%w: %v", ErrInvalidJudgment, perr)
	}
	if input == "" || len(inputs) == 0 || slices.Contains(inputs, input) {
		return nil
	}
	return fmt.Errorf("%w: judgmentInput %q is not one of the stage's inputs (%s)", ErrInvalidJudgment, input, quoteAll(inputs))
}

// inputs returns the values of judgmentInputs, or the first that is blank
// or listed twice.
func (c *manualJudgmentConfig) inputs() ([]string, *model.Problem) {
	values := make([]string, 0, len(c.JudgmentInputs))
	seen := map[string]int{}
	for i, it := range c.JudgmentInputs {
		path := stages.Path("judgmentInputs", i, "value")
		if strings.TrimSpace(it.Value) == "" {
			return nil, &model.Problem{Path: path, Message: "must be a non-empty string"}
		}
		if j, dup := seen[it.Value]; dup {
			return nil, &model.Problem{Path: path, Message: fmt.Sprintf("%q is listed twice (also judgmentInputs[%d])", it.Value, j)}
		}
		seen[it.Value] = i
		values = append(values, it.Value)
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
	cfg, err := stages.ConfigOf[*manualJudgmentConfig](run)
	if err != nil {
		return stages.Result{}, err
	}
	switch strings.ToLower(strings.TrimSpace(cfg.JudgmentStatus)) {
	case JudgmentContinue:
		return stages.Succeeded(), nil
	case JudgmentStop:
		by := cfg.judgedBy(run.Stage)
		if by == "" {
			by = "an unknown user"
		}
		msg := "Manual judgment: stopped by " + by
		if cfg.JudgmentInput != "" {
			msg += fmt.Sprintf(" (judgment input %q)", cfg.JudgmentInput)
		}
		return stages.Failed("%s", msg), nil
	default:
		return stages.Result{Status: model.StatusRunning, Backoff: judgmentRecheck, Wake: stages.Callback}, nil
	}
}

// judgedBy is who made the judgment: Gate's lastModifiedBy in the context,
// else the stage's lastModified record.
func (c *manualJudgmentConfig) judgedBy(s *model.StageExecution) string {
	if c.LastModifiedBy != "" {
		return c.LastModifiedBy
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

var (
	_ stages.Configurer  = ManualJudgmentStage{}
	_ stages.Patcher     = ManualJudgmentStage{}
	_ stages.TimeoutTask = WaitForJudgmentTask{}
)
