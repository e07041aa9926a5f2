package orchestration

import (
	"context"
	"errors"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// stageCall is one runStage invocation of a stage machine.
//
// When the stage it runs ends, the stages that may follow are dispatched as
// always, except one: the machine carries on with it, in the same
// invocation while the task budget lasts, then in the same machine run. A
// chain of stages thus costs one machine run and, when its stages finish at
// once, one invocation, where it used to cost a run per stage. Stages that
// can start at the same time still run at the same time: every other one
// gets a machine of its own. The stage carried is recorded with the name of
// the machine run (StageOrchestration.Carrier) in the same write that
// dispatches it, so a retried invocation finds it again and no other
// machine starts it.
type stageCall struct {
	req    Request
	budget int
	// view is the run as this call last read and wrote it, for the next
	// carried stage; nil means read it afresh.
	view *model.Execution
	// carry is the stage the machine goes on with.
	carry *model.StageExecution
	// current is the stage the call runs, which a carried stage must share
	// a machine with.
	current *model.StageExecution
	o       *Orchestrator
}

// carrier names the machine run that may carry a stage, or "" when the
// caller cannot (an orchestrator call, or a machine of an earlier
// definition, which does not send its name).
func (c *stageCall) carrier() string {
	if c == nil {
		return ""
	}
	return c.req.Name
}

// resumes reports whether s is the stage this machine run took before an
// invocation was retried; if so the machine goes on with it.
func (c *stageCall) resumes(s *model.StageExecution) bool {
	if c.carrier() == "" || s.Orchestration.Carrier != c.req.Name || s.Status.IsComplete() {
		return false
	}
	if c.carry == nil {
		c.carry = s
	}
	return c.carry.ID == s.ID
}

// take makes a claimed stage the one the machine goes on with, if the
// machine carries none yet.
func (c *stageCall) take(s *model.StageExecution) bool {
	if c.carrier() == "" || c.carry != nil || s.Orchestration.Carrier != c.req.Name {
		return false
	}
	c.carry = s
	return true
}

// next moves the call on to the carried stage.
func (c *stageCall) next() {
	c.req.StageID = c.carry.ID
	c.req.Attempt = c.carry.Orchestration.Attempt
	c.carry = nil
}

// state is the machine's next state: the response, the stage it carries
// and its counters. A machine that polls or sleeps counts it; past its
// threshold (in stage.asl.json) it continues in a fresh run.
func (c *stageCall) state(resp Response) Response {
	if c.req.Name == "" {
		return resp
	}
	resp.ExecutionID = c.req.ExecutionID
	resp.StageID = c.req.StageID
	resp.Attempt = c.req.Attempt
	resp.Name = c.req.Name
	resp.Generation = c.req.Generation
	resp.Polls = c.req.Polls
	if resp.Next == "poll" || resp.Next == "sleep" {
		resp.Polls++
	}
	return resp
}

// readRun reads the run for the stage the call runs. For a stage carried
// on from the one before, the stages are those the call already holds,
// fresh where it matters (the carried stage was just written, its
// requisites have ended and no longer change), and only the header is
// read again, for a cancel or a pause that came meanwhile.
func (o *Orchestrator) readRun(ctx context.Context, c *stageCall) (*model.Execution, error) {
	if c.view == nil {
		return o.store.Executions().Get(ctx, c.req.ExecutionID)
	}
	h, err := o.store.Executions().GetHeader(ctx, c.req.ExecutionID)
	if err != nil {
		return nil, err
	}
	h.Stages = c.view.Stages
	c.view = nil
	return h, nil
}

// stageEnded advances the run once the stage s of e has ended and been
// stored. For a stage that succeeded it looks only at what the stage
// concerns: the stages that require it, and their other requisites, read
// afresh unless they had already succeeded. Every writer stores its stage
// before it reads the others, so of two requisites ending together at
// least one sees both, as with a whole read of the run. When nothing could
// start, the run goes on only if another stage is still running, read
// afresh for the same reason; failing that proof it reads the whole run.
func (o *Orchestrator) stageEnded(ctx context.Context, c *stageCall, e *model.Execution, s *model.StageExecution) error {
	if !s.Status.IsSuccessful() || e.Status != model.StatusRunning || e.Canceled || e.Orchestration.Halted || !scheduled(s) {
		return o.afterStageOf(ctx, c, e.ID)
	}
	decided, err := o.startFollowers(ctx, c, e, s)
	if err != nil || decided {
		if c != nil && c.carry != nil {
			c.view = e
		}
		return err
	}
	return o.afterStageOf(ctx, c, e.ID)
}

// maxRunningProbes bounds the stages stageEnded reads to find one still
// running before it reads the whole run instead.
const maxRunningProbes = 3

// startFollowers dispatches the stages that s was the last requisite of. It
// reports false when the run must be looked at whole: nothing was
// dispatched and no other stage is known to be running.
func (o *Orchestrator) startFollowers(ctx context.Context, c *stageCall, e *model.Execution, s *model.StageExecution) (bool, error) {
	var ready []*model.StageExecution
	for i := range e.Stages {
		f := &e.Stages[i]
		if !scheduled(f) || f.ID == s.ID || !requires(f, s.RefID) ||
			f.Status != model.StatusNotStarted || f.Orchestration.DispatchedAt > 0 {
			continue
		}
		met := true
		for _, ref := range f.RequisiteStageRefIDs {
			r := e.StageByRefID(ref)
			if r == nil {
				return false, nil
			}
			if r.Status.IsSuccessful() {
				continue
			}
			fresh, err := o.store.Executions().GetStage(ctx, e.ID, r.ID)
			if err != nil {
				return false, err
			}
			*r = *fresh
			if !r.Status.IsSuccessful() {
				met = false // it, or what it waits on, looks at f when it ends
				break
			}
		}
		if met {
			ready = append(ready, f)
		}
	}
	for _, f := range ready {
		if err := o.dispatch(ctx, c, e.ID, f); err != nil {
			return false, err
		}
	}
	if len(ready) > 0 {
		return true, nil
	}
	return o.anotherRunning(ctx, e, s)
}

// anotherRunning reports whether a stage other than s is running, read
// after s was stored: that stage advances the run when it ends.
func (o *Orchestrator) anotherRunning(ctx context.Context, e *model.Execution, s *model.StageExecution) (bool, error) {
	probes := 0
	// Later stages first: what a view shows as running, and still runs, is
	// most likely among the stages that started last.
	for i := len(e.Stages) - 1; i >= 0; i-- {
		r := &e.Stages[i]
		if r.ID == s.ID || !scheduled(r) || !activeStage(r) {
			continue
		}
		if probes++; probes > maxRunningProbes {
			return false, nil
		}
		fresh, err := o.store.Executions().GetStage(ctx, e.ID, r.ID)
		if err != nil {
			return false, err
		}
		*r = *fresh
		if activeStage(r) {
			return true, nil
		}
	}
	return false, nil
}

// activeStage reports whether a stage runs or is about to.
func activeStage(s *model.StageExecution) bool {
	switch s.Status {
	case model.StatusRunning, model.StatusPaused, model.StatusSuspended:
		return true
	case model.StatusNotStarted:
		return s.Orchestration.DispatchedAt > 0
	}
	return false
}

func requires(f *model.StageExecution, ref string) bool {
	for _, r := range f.RequisiteStageRefIDs {
		if r == ref {
			return true
		}
	}
	return false
}

// carrierFor is the machine run that may carry s: the calling one, when s
// runs on the same stage machine as the stage it ran.
func (c *stageCall) carrierFor(s *model.StageExecution) string {
	if c.carrier() == "" || c.carry != nil || c.current == nil || !c.o.sameMachine(c.current, s) {
		return ""
	}
	return c.req.Name
}

// claim records that s is being dispatched, by carrier when it is not "",
// unless it has started, moved to another attempt, or a machine run that
// will come back to it carries it. A stage already given a machine of its
// own keeps it: that machine is named for the stage's attempt, so starting
// it again is harmless (a no-op if it runs, or ran), and claim then reports
// the stage claimed without writing, so the caller starts it again. This is
// what starts a stage whose dispatcher died before its machine started,
// however recently that was. A carried stage is left to its carrier, which
// a restart resumes in the middle of the invocation that carried it, until
// the claim is stale. It writes the copy of s the caller read and reads the
// stage again only when that write loses.
func (o *Orchestrator) claim(ctx context.Context, id model.ExecutionID, s *model.StageExecution, carrier string) (*model.StageExecution, bool, error) {
	attempt := s.Orchestration.Attempt
	now := o.nowMs()
	own := false
	take := func(st *model.StageExecution) bool {
		own = false
		if st.Status != model.StatusNotStarted || st.Orchestration.Attempt != attempt {
			return false
		}
		if st.Orchestration.DispatchedAt > 0 && st.Orchestration.Carrier == "" {
			own = true
			return false
		}
		if carriedElsewhere(st, carrier, now) {
			return false
		}
		st.Orchestration.DispatchedAt = now
		st.Orchestration.Carrier = carrier
		return true
	}
	mine := *s
	if !take(&mine) {
		return s, own, nil
	}
	err := o.store.Executions().PutStage(ctx, id, &mine)
	if err == nil {
		*s = mine
		return s, true, nil
	}
	if !errors.Is(err, store.ErrConflict) {
		return nil, false, err
	}
	claimed := false
	st, err := o.updateStage(ctx, id, s.ID, func(st *model.StageExecution) (bool, error) {
		claimed = take(st)
		return claimed, nil
	})
	if err != nil {
		return nil, false, err
	}
	*s = *st
	return s, claimed || own, nil
}

// carriedElsewhere reports whether a machine run other than carrier took s
// on less than redispatchAfter ago: it runs s, or will once resumed.
func carriedElsewhere(s *model.StageExecution, carrier string, now int64) bool {
	at := s.Orchestration.DispatchedAt
	return at > 0 && s.Orchestration.Carrier != "" && s.Orchestration.Carrier != carrier &&
		now-at <= redispatchAfter.Milliseconds()
}

// mayStart reports whether the machine run of c may start s, a stage that
// has not started: the stage must be claimed for it, its own machine or the
// run carrying it. Stages claimed for another machine are that machine's to
// start (a stale claim taken over, or a carrier that was replaced), which,
// with the store's conditional writes, is what keeps two machines from both
// starting a stage. Machines of an earlier definition send no name: they
// were started only for their own stage.
func (c *stageCall) mayStart(s *model.StageExecution) bool {
	if c.req.Name == "" || s.Orchestration.DispatchedAt == 0 {
		return true
	}
	if s.Orchestration.Carrier != "" {
		return s.Orchestration.Carrier == c.req.Name
	}
	return c.req.Name == stageMachineName(s)
}
