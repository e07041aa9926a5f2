package model

import (
	"encoding/json"
	"fmt"
)

// Pipeline is a pipeline configuration as Spinnaker's Front50 stores it.
type Pipeline struct {
	ID                      PipelineID         `json:"id,omitempty"`
	Application             ApplicationName    `json:"application"`
	Name                    string             `json:"name"`
	Description             string             `json:"description,omitempty"`
	Disabled                bool               `json:"disabled,omitempty"`
	Stages                  []Stage            `json:"stages"`
	Triggers                []Trigger          `json:"triggers,omitempty"`
	ParameterConfig         []Parameter        `json:"parameterConfig,omitempty"`
	ExpectedArtifacts       []ExpectedArtifact `json:"expectedArtifacts,omitempty"`
	Notifications           []map[string]any   `json:"notifications,omitempty"`
	LimitConcurrent         *bool              `json:"limitConcurrent,omitempty"`
	MaxConcurrentExecutions int                `json:"maxConcurrentExecutions,omitempty"`
	KeepWaitingPipelines    bool               `json:"keepWaitingPipelines,omitempty"`
	SpelEvaluator           string             `json:"spelEvaluator,omitempty"`
	Index                   *int               `json:"index,omitempty"`
	UpdateTs                string             `json:"updateTs,omitempty"`
	LastModifiedBy          string             `json:"lastModifiedBy,omitempty"`
	Extra                   Extra              `json:"-"`
}

// LimitsConcurrency reports whether runs of this pipeline wait for one
// another. As in orca, an absent limitConcurrent is false (Deck writes true
// into the pipelines it creates).
func (p *Pipeline) LimitsConcurrency() bool {
	return p.LimitConcurrent != nil && *p.LimitConcurrent
}

// ConcurrencyLimit is how many runs may be active at once; 0 means no limit.
func (p *Pipeline) ConcurrencyLimit() int {
	if !p.LimitsConcurrency() {
		return 0
	}
	if p.MaxConcurrentExecutions > 0 {
		return p.MaxConcurrentExecutions
	}
	return 1
}

// IsLinear reports whether the pipeline has Spinnaker's older linear shape:
// no stage has a refId and the pipeline is not marked "parallel": true. Its
// stages run one after another, in the order they are listed.
func (p *Pipeline) IsLinear() bool {
	if len(p.Stages) == 0 {
		return false
	}
	for i := range p.Stages {
		if p.Stages[i].RefID != "" || len(p.Stages[i].RequisiteStageRefIDs) > 0 {
			return false
		}
	}
	var parallel bool
	if raw, ok := p.Extra["parallel"]; ok && json.Unmarshal(raw, &parallel) == nil && parallel {
		return false
	}
	return true
}

// RunStages returns the stages as a run executes them: those of a linear
// pipeline get the refIds "1", "2", … and each requires the one before it;
// other pipelines' stages are returned as they are. The saved configuration
// is never changed.
func (p *Pipeline) RunStages() []Stage {
	if !p.IsLinear() {
		return p.Stages
	}
	out := make([]Stage, len(p.Stages))
	for i, s := range p.Stages {
		s.RefID = fmt.Sprint(i + 1)
		if i > 0 {
			s.RequisiteStageRefIDs = []string{fmt.Sprint(i)}
		}
		out[i] = s
	}
	return out
}

// StageByRefID returns the stage with the given refId, or nil.
func (p *Pipeline) StageByRefID(refID string) *Stage {
	for i := range p.Stages {
		if p.Stages[i].RefID == refID {
			return &p.Stages[i]
		}
	}
	return nil
}

type pipelineJSON Pipeline

// UnmarshalJSON keeps fields gennaker does not know.
func (p *Pipeline) UnmarshalJSON(b []byte) error {
	var v pipelineJSON
	extra, err := decodeWithExtra(b, &v)
	if err != nil {
		return err
	}
	*p = Pipeline(v)
	p.Extra = extra
	return nil
}

// MarshalJSON writes back the fields gennaker does not know.
func (p Pipeline) MarshalJSON() ([]byte, error) {
	if p.Stages == nil {
		p.Stages = []Stage{}
	}
	return encodeWithExtra(pipelineJSON(p), p.Extra)
}

// Stage is one stage of a pipeline configuration. The fields every stage
// shares are declared; a stage type's own fields (waitTime, url, clusters, …)
// live in Extra and reach the stage as its context.
type Stage struct {
	RefID                             string           `json:"refId,omitempty"`
	Type                              string           `json:"type"`
	Name                              string           `json:"name,omitempty"`
	RequisiteStageRefIDs              []string         `json:"requisiteStageRefIds,omitempty"`
	StageEnabled                      *StageEnabled    `json:"stageEnabled,omitempty"`
	FailPipeline                      *bool            `json:"failPipeline,omitempty"`
	ContinuePipeline                  *bool            `json:"continuePipeline,omitempty"`
	CompleteOtherBranchesThenFail     *bool            `json:"completeOtherBranchesThenFail,omitempty"`
	FailOnFailedExpressions           *bool            `json:"failOnFailedExpressions,omitempty"`
	RestrictExecutionDuringTimeWindow bool             `json:"restrictExecutionDuringTimeWindow,omitempty"`
	RestrictedExecutionWindow         *ExecutionWindow `json:"restrictedExecutionWindow,omitempty"`
	SkipWindowText                    string           `json:"skipWindowText,omitempty"`
	StageTimeoutMs                    int64            `json:"stageTimeoutMs,omitempty"`
	Extra                             Extra            `json:"-"`
}

// StageEnabled makes a stage conditional on an expression.
type StageEnabled struct {
	Type       string `json:"type,omitempty"`
	Expression string `json:"expression,omitempty"`
	Extra      Extra  `json:"-"`
}

// ExecutionWindow restricts when a stage may start.
type ExecutionWindow struct {
	Whitelist []TimeRange `json:"whitelist,omitempty"`
	// Days are Spinnaker's weekday numbers, 1 (Sunday) to 7 (Saturday), as
	// Deck writes them; empty means every day.
	Days   []int         `json:"days,omitempty"`
	Jitter *WindowJitter `json:"jitter,omitempty"`
	// TimeZone is an IANA zone name such as "Europe/Paris"; empty means UTC.
	TimeZone string `json:"timeZone,omitempty"`
	Extra    Extra  `json:"-"`
}

// TimeRange is a daily range of wall-clock time, end exclusive.
type TimeRange struct {
	StartHour int   `json:"startHour"`
	StartMin  int   `json:"startMin"`
	EndHour   int   `json:"endHour"`
	EndMin    int   `json:"endMin"`
	Extra     Extra `json:"-"`
}

// WindowJitter delays a stage by a random time after its window opens.
type WindowJitter struct {
	Enabled    bool  `json:"enabled"`
	MinDelay   int   `json:"minDelay"`
	MaxDelay   int   `json:"maxDelay"`
	SkipManual bool  `json:"skipManual,omitempty"`
	Extra      Extra `json:"-"`
}

type (
	stageEnabledJSON    StageEnabled
	executionWindowJSON ExecutionWindow
	timeRangeJSON       TimeRange
	windowJitterJSON    WindowJitter
)

// UnmarshalJSON keeps fields gennaker does not know.
func (x *StageEnabled) UnmarshalJSON(b []byte) error {
	return decodeKeeping(b, (*stageEnabledJSON)(x), &x.Extra)
}

// MarshalJSON writes back the fields gennaker does not know.
func (x StageEnabled) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(stageEnabledJSON(x), x.Extra)
}

// UnmarshalJSON keeps fields gennaker does not know.
func (x *ExecutionWindow) UnmarshalJSON(b []byte) error {
	return decodeKeeping(b, (*executionWindowJSON)(x), &x.Extra)
}

// MarshalJSON writes back the fields gennaker does not know.
func (x ExecutionWindow) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(executionWindowJSON(x), x.Extra)
}

// UnmarshalJSON keeps fields gennaker does not know.
func (x *TimeRange) UnmarshalJSON(b []byte) error {
	return decodeKeeping(b, (*timeRangeJSON)(x), &x.Extra)
}

// MarshalJSON writes back the fields gennaker does not know.
func (x TimeRange) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(timeRangeJSON(x), x.Extra)
}

// UnmarshalJSON keeps fields gennaker does not know.
func (x *WindowJitter) UnmarshalJSON(b []byte) error {
	return decodeKeeping(b, (*windowJitterJSON)(x), &x.Extra)
}

// MarshalJSON writes back the fields gennaker does not know.
func (x WindowJitter) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(windowJitterJSON(x), x.Extra)
}

// FailureBehaviour is what a failed stage does to its pipeline.
type FailureBehaviour int

// The four "if stage fails" choices Spinnaker offers.
const (
	// HaltPipeline fails the pipeline at once (TERMINAL) and cancels running branches.
	HaltPipeline FailureBehaviour = iota
	// HaltBranch stops this branch (STOPPED); the pipeline may still succeed.
	HaltBranch
	// HaltBranchThenFail stops this branch and fails the pipeline once the others finish.
	HaltBranchThenFail
	// IgnoreFailure marks the stage FAILED_CONTINUE and carries on.
	IgnoreFailure
)

// OnFailure returns the stage's failure behaviour from its flags, with
// Spinnaker's defaults (failPipeline true, continuePipeline false).
func (s *Stage) OnFailure() FailureBehaviour {
	return FailureBehaviourOf(s.FailPipeline, s.ContinuePipeline, s.CompleteOtherBranchesThenFail)
}

// FailureBehaviourOf decides the failure behaviour from Spinnaker's flags.
func FailureBehaviourOf(failPipeline, continuePipeline, completeOtherBranchesThenFail *bool) FailureBehaviour {
	is := func(b *bool, dflt bool) bool {
		if b == nil {
			return dflt
		}
		return *b
	}
	switch {
	case is(continuePipeline, false):
		return IgnoreFailure
	case is(completeOtherBranchesThenFail, false):
		return HaltBranchThenFail
	case is(failPipeline, true):
		return HaltPipeline
	default:
		return HaltBranch
	}
}

// Config returns the whole stage as a JSON object, as Spinnaker hands a stage
// its context.
func (s *Stage) Config() (map[string]any, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("stage %q: %w", s.RefID, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("stage %q: %w", s.RefID, err)
	}
	return m, nil
}

// StageFromConfig builds a stage from its configuration, as Config returns
// it.
func StageFromConfig(cfg map[string]any) (*Stage, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	var s Stage
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

type stageJSON Stage

// UnmarshalJSON keeps the stage type's own fields in Extra.
func (s *Stage) UnmarshalJSON(b []byte) error {
	var v stageJSON
	extra, err := decodeWithExtra(b, &v)
	if err != nil {
		return err
	}
	*s = Stage(v)
	s.Extra = extra
	return nil
}

// MarshalJSON writes the stage type's own fields back.
func (s Stage) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(stageJSON(s), s.Extra)
}

// Trigger is a pipeline's trigger configuration (docker, git, cron,
// webhook, pipeline, …). Type-specific fields live in Extra.
type Trigger struct {
	Type    string `json:"type"`
	Enabled bool   `json:"enabled"`
	Extra   Extra  `json:"-"`
}

type triggerJSON Trigger

// UnmarshalJSON keeps the trigger type's own fields.
func (t *Trigger) UnmarshalJSON(b []byte) error {
	var v triggerJSON
	extra, err := decodeWithExtra(b, &v)
	if err != nil {
		return err
	}
	*t = Trigger(v)
	t.Extra = extra
	return nil
}

// MarshalJSON writes the trigger type's own fields back.
func (t Trigger) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(triggerJSON(t), t.Extra)
}

// Parameter declares a pipeline parameter.
type Parameter struct {
	Name        string           `json:"name"`
	Label       string           `json:"label,omitempty"`
	Description string           `json:"description,omitempty"`
	Default     any              `json:"default,omitempty"`
	Required    bool             `json:"required,omitempty"`
	HasOptions  bool             `json:"hasOptions,omitempty"`
	Options     []ParameterValue `json:"options,omitempty"`
	Pinned      bool             `json:"pinned,omitempty"`
	Extra       Extra            `json:"-"`
}

// ParameterValue is one allowed value of a parameter with options.
type ParameterValue struct {
	Value any `json:"value"`
}

type parameterJSON Parameter

// UnmarshalJSON keeps fields gennaker does not know.
func (p *Parameter) UnmarshalJSON(b []byte) error {
	var v parameterJSON
	extra, err := decodeWithExtra(b, &v)
	if err != nil {
		return err
	}
	*p = Parameter(v)
	p.Extra = extra
	return nil
}

// MarshalJSON writes back the fields gennaker does not know.
func (p Parameter) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(parameterJSON(p), p.Extra)
}
