package model

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a configuration, at a JSON path.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	// Warning marks what keeps a pipeline from running rather than from
	// being stored: Front50 stores any pipeline whose shape holds together,
	// and so does gennaker; it refuses only to run one with warnings.
	Warning bool `json:"-"`
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists every problem found in a configuration.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// StageValidator knows the stage types a runtime can run.
type StageValidator interface {
	// ValidateStage checks a stage's type-specific configuration. It reports
	// known=false for a stage type it does not know, and otherwise the
	// problems found, with paths relative to the stage ("waitTime").
	ValidateStage(s *Stage) (known bool, problems []Problem)
	// StageTypes lists the known types, for error messages.
	StageTypes() []string
}

// Validate checks that a pipeline configuration holds together — it has an
// application and a name, its stages have unique refIds, and their
// requisites exist and form no cycle — and returns every problem found, or
// nil. What only keeps it from running (a stage type this installation
// lacks, a stage's own fields, an account that is not configured) is not a
// problem for Validate; Check returns it as warnings. Stage types are checked
// when types is not nil.
func Validate(p *Pipeline, types StageValidator) error {
	_, err := Check(p, types)
	return err
}

// Check validates a pipeline configuration as Validate does, and also
// returns the warnings: what keeps it from running in this installation.
func Check(p *Pipeline, types StageValidator) (warnings []Problem, err error) {
	var probs []Problem
	add := func(path, format string, args ...any) {
		probs = append(probs, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	warn := func(path, format string, args ...any) {
		warnings = append(warnings, Problem{Path: path, Message: fmt.Sprintf(format, args...), Warning: true})
	}
	if p.Application == "" {
		add("application", "is required")
	}
	if strings.TrimSpace(p.Name) == "" {
		add("name", "is required")
	}
	stages := p.RunStages()
	byRef := map[string]int{}
	for i := range stages {
		s := &stages[i]
		path := fmt.Sprintf("stages[%d]", i)
		switch {
		case s.RefID == "":
			add(path+".refId", "is required")
		case byRef[s.RefID] > 0:
			add(path+".refId", "duplicate refId %q (also stages[%d])", s.RefID, byRef[s.RefID]-1)
		default:
			byRef[s.RefID] = i + 1
		}
		if s.Type == "" {
			add(path+".type", "is required")
		} else if types != nil {
			known, stageProbs := types.ValidateStage(s)
			if !known {
				warnings = append(warnings, Problem{Path: path + ".type", Warning: true,
					Message: fmt.Sprintf("stage type %q is not available here (available types: %s)", s.Type, strings.Join(types.StageTypes(), ", "))})
			}
			for _, sp := range stageProbs {
				sp.Path = strings.TrimSuffix(path+"."+sp.Path, ".")
				sp.Warning = true
				warnings = append(warnings, sp)
			}
		}
		if s.StageTimeoutMs < 0 {
			warn(path+".stageTimeoutMs", "must not be negative")
		}
		if s.RestrictExecutionDuringTimeWindow {
			for _, wp := range validateWindow(path+".restrictedExecutionWindow", s.RestrictedExecutionWindow) {
				wp.Warning = true
				warnings = append(warnings, wp)
			}
		}
	}
	for i := range stages {
		s := &stages[i]
		for j, req := range s.RequisiteStageRefIDs {
			rpath := fmt.Sprintf("stages[%d].requisiteStageRefIds[%d]", i, j)
			switch {
			case byRef[req] == 0:
				add(rpath, "no stage with refId %q", req)
			case req == s.RefID:
				add(rpath, "stage %q requires itself", req)
			}
		}
	}
	if cycle := findCycle(stages, byRef); cycle != nil {
		add("stages", "requisiteStageRefIds form a cycle: %s", strings.Join(cycle, " -> "))
	}
	for i, param := range p.ParameterConfig {
		path := fmt.Sprintf("parameterConfig[%d]", i)
		if param.Name == "" {
			warn(path+".name", "is required")
		}
		if param.HasOptions && len(param.Options) == 0 {
			warn(path+".options", "hasOptions is set but no options are listed")
		}
	}
	if p.MaxConcurrentExecutions < 0 {
		warn("maxConcurrentExecutions", "must not be negative")
	}
	if len(probs) == 0 {
		return warnings, nil
	}
	return warnings, &ValidationError{Problems: probs}
}

// CannotRunError lists what keeps a pipeline from running in this
// installation: Check's warnings.
type CannotRunError struct {
	Problems []Problem
}

func (e *CannotRunError) Error() string {
	return "it cannot run here: " + (&ValidationError{Problems: e.Problems}).Error()
}

func validateWindow(path string, w *ExecutionWindow) []Problem {
	if w == nil {
		return []Problem{{Path: path, Message: "is required when restrictExecutionDuringTimeWindow is true"}}
	}
	var probs []Problem
	for i, r := range w.Whitelist {
		p := fmt.Sprintf("%s.whitelist[%d]", path, i)
		if r.StartHour < 0 || r.StartHour > 23 || r.EndHour < 0 || r.EndHour > 24 || r.StartMin < 0 || r.StartMin > 59 || r.EndMin < 0 || r.EndMin > 59 {
			probs = append(probs, Problem{Path: p, Message: "hours must be 0-23 and minutes 0-59"})
		}
	}
	for i, d := range w.Days {
		if d < 1 || d > 7 {
			probs = append(probs, Problem{Path: fmt.Sprintf("%s.days[%d]", path, i), Message: fmt.Sprintf("day %d is not 1 (Sunday) to 7 (Saturday)", d)})
		}
	}
	return probs
}

// findCycle returns the refIds of one cycle of requisites, or nil.
func findCycle(stages []Stage, byRef map[string]int) []string {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(ref string) []string
	visit = func(ref string) []string {
		state[ref] = visiting
		stack = append(stack, ref)
		s := &stages[byRef[ref]-1]
		reqs := append([]string(nil), s.RequisiteStageRefIDs...)
		sort.Strings(reqs)
		for _, req := range reqs {
			if byRef[req] == 0 || req == ref {
				continue
			}
			switch state[req] {
			case visiting:
				for i, r := range stack {
					if r == req {
						return append(append([]string(nil), stack[i:]...), req)
					}
				}
			case unvisited:
				if c := visit(req); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[ref] = done
		return nil
	}
	for _, s := range stages {
		if s.RefID == "" || byRef[s.RefID] == 0 || state[s.RefID] != unvisited {
			continue
		}
		if c := visit(s.RefID); c != nil {
			return c
		}
	}
	return nil
}
