package model

import (
	"encoding/json"
	"fmt"
)

// Status is the state of an execution, a stage or a task. The values and
// their meaning are Spinnaker's (orca's ExecutionStatus).
type Status string

// Every status there is.
const (
	StatusNotStarted     Status = "NOT_STARTED"
	StatusRunning        Status = "RUNNING"
	StatusPaused         Status = "PAUSED"
	StatusSuspended      Status = "SUSPENDED"
	StatusSucceeded      Status = "SUCCEEDED"
	StatusFailedContinue Status = "FAILED_CONTINUE"
	StatusTerminal       Status = "TERMINAL"
	StatusCanceled       Status = "CANCELED"
	StatusRedirect       Status = "REDIRECT"
	StatusStopped        Status = "STOPPED"
	StatusSkipped        Status = "SKIPPED"
	StatusBuffered       Status = "BUFFERED"
)

var statusTraits = map[Status]struct{ complete, halt, successful bool }{
	StatusNotStarted:     {},
	StatusRunning:        {},
	StatusPaused:         {},
	StatusSuspended:      {},
	StatusSucceeded:      {complete: true, successful: true},
	StatusFailedContinue: {complete: true, successful: true},
	StatusTerminal:       {complete: true, halt: true},
	StatusCanceled:       {complete: true, halt: true},
	StatusRedirect:       {},
	StatusStopped:        {complete: true, halt: true},
	StatusSkipped:        {complete: true, successful: true},
	StatusBuffered:       {},
}

// IsComplete reports whether the status is final.
func (s Status) IsComplete() bool { return statusTraits[s].complete }

// IsHalt reports whether the status stops what comes after it: downstream
// stages do not start after a halted stage.
func (s Status) IsHalt() bool { return statusTraits[s].halt }

// IsSuccessful reports whether downstream stages may start after a stage with
// this status (SUCCEEDED, FAILED_CONTINUE and SKIPPED).
func (s Status) IsSuccessful() bool { return statusTraits[s].successful }

// IsFailure reports whether the status records a failure, whether or not the
// pipeline continued past it.
func (s Status) IsFailure() bool {
	return s == StatusTerminal || s == StatusStopped || s == StatusFailedContinue
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool { _, ok := statusTraits[s]; return ok }

// ParseStatus returns the status named by s, or an error naming the valid ones.
func ParseStatus(s string) (Status, error) {
	st := Status(s)
	if !st.Valid() {
		return "", fmt.Errorf("unknown status %q (want one of NOT_STARTED, RUNNING, PAUSED, SUSPENDED, SUCCEEDED, FAILED_CONTINUE, TERMINAL, CANCELED, STOPPED, SKIPPED, BUFFERED)", s)
	}
	return st, nil
}

// UnmarshalJSON rejects unknown statuses so a corrupt record is noticed.
func (s *Status) UnmarshalJSON(b []byte) error {
	var raw string
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if raw == "" {
		*s = ""
		return nil
	}
	st, err := ParseStatus(raw)
	if err != nil {
		return err
	}
	*s = st
	return nil
}
