package api

import (
	"errors"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/orchestration"
)

// triggerProblems returns the problems of a refused trigger.
func triggerProblems(err error) ([]model.Problem, bool) {
	var terr *orchestration.TriggerError
	if errors.As(err, &terr) {
		return terr.Problems, true
	}
	return nil, false
}

func isDisabled(err error) bool { return errors.Is(err, orchestration.ErrPipelineDisabled) }

// isNotRunning: the run or stage is not in a state that allows the action.
// Gate answers such requests with a client error; 409 says the request was
// fine but the run's state is not.
func isNotRunning(err error) bool { return errors.Is(err, orchestration.ErrNotRunning) }
