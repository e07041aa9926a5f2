package orchestration

import "fmt"

// The state machines route on the names of these error types: a Go Lambda
// reports an error's type name as its error type, and the local runtime does
// the same. StateMachineErrorNames lists them; a test checks that the ASL
// files retry exactly these.

// TransientError is a failure worth retrying: a conditional write that lost a
// race, a store or engine that did not answer.
type TransientError struct {
	Err error
}

func (e *TransientError) Error() string { return fmt.Sprintf("transient: %v", e.Err) }

func (e *TransientError) Unwrap() error { return e.Err }

// StateMachineErrorNames are the error names the ASL files route on.
var StateMachineErrorNames = []string{"TransientError"}

func transient(format string, args ...any) error {
	return &TransientError{Err: fmt.Errorf(format, args...)}
}
