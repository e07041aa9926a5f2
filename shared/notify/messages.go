package notify

import (
	"fmt"
	"strings"
)

// Describe says what an event means to a person: a subject line and a text
// that says what happened, to what, by whom, for a failure where and why,
// and ends with the link to the run.
func Describe(ev Event) (subject, text string) {
	what := fmt.Sprintf("pipeline %s of %s", ev.Pipeline, ev.Application)
	if ev.Stage != nil {
		what = fmt.Sprintf("stage %s of pipeline %s (%s)", ev.Stage.Name, ev.Pipeline, ev.Application)
	}
	by := ""
	if ev.User != "" {
		by = " by " + ev.User
	}
	var line string
	switch ev.Type {
	case PipelineStarting:
		line = fmt.Sprintf("%s is starting, triggered%s", upper(what), orAnonymous(by))
	case PipelineComplete:
		line = fmt.Sprintf("%s succeeded (triggered%s)", upper(what), orAnonymous(by))
	case PipelineFailed:
		line = fmt.Sprintf("%s failed", upper(what))
		if ev.FailedStage != "" {
			line += fmt.Sprintf(" at stage %s", ev.FailedStage)
		}
		if ev.Error != "" {
			line += ": " + ev.Error
		}
		line += fmt.Sprintf(" (triggered%s)", orAnonymous(by))
	case PipelineCanceled:
		line = fmt.Sprintf("%s was canceled%s", upper(what), by)
		if ev.Error != "" {
			line += ": " + ev.Error
		}
	case StageStarting:
		line = fmt.Sprintf("%s is starting", upper(what))
	case StageComplete:
		line = fmt.Sprintf("%s completed", upper(what))
	case StageFailed:
		line = fmt.Sprintf("%s failed", upper(what))
		if ev.Error != "" {
			line += ": " + ev.Error
		}
	case JudgmentWaiting:
		line = fmt.Sprintf("%s is waiting for a judgment", upper(what))
		if ev.Stage != nil && ev.Stage.Instructions != "" {
			line += ": " + ev.Stage.Instructions
		}
	case JudgmentContinue:
		line = fmt.Sprintf("%s was continued%s", upper(what), by)
	case JudgmentStop:
		line = fmt.Sprintf("%s was stopped%s", upper(what), by)
	case PipelineSaved, PipelineDeleted, PipelineEnabled, PipelineDisabled:
		verb := strings.TrimPrefix(ev.Type, "pipeline.")
		line = fmt.Sprintf("%s was %s%s", upper(what), verb, by)
	default:
		line = fmt.Sprintf("%s: %s", upper(what), ev.Type)
	}
	subject = fmt.Sprintf("[%s] %s", ev.Application, line)
	if len(subject) > 120 {
		subject = subject[:117] + "..."
	}
	text = line + "."
	if ev.ExecutionID != "" && ev.Link != "" {
		text += "\n" + ev.Link
	}
	return subject, text
}

func orAnonymous(by string) string {
	if by == "" {
		return " by anonymous"
	}
	return by
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
