package notify

import (
	"cmp"
	"slices"
)

// rank orders events of the same instant as they happen: a start before a
// judgment's wait, before an end, before a judgment's outcome, before the
// end of the run.
func rank(typ string) int {
	switch typ {
	case PipelineStarting:
		return 0
	case StageStarting:
		return 1
	case JudgmentWaiting:
		return 2
	case StageComplete, StageFailed:
		return 3
	case JudgmentContinue, JudgmentStop:
		return 4
	case PipelineComplete, PipelineFailed, PipelineCanceled:
		return 6
	}
	return 5
}

func compareEvents(a, b Event) int {
	return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(rank(a.Type), rank(b.Type)))
}

func sortEvents(events []Event) { slices.SortStableFunc(events, compareEvents) }
