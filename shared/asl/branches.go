package asl

import (
	"context"
	"strconv"
	"sync"
)

// This file runs Parallel and Map states. Each branch or iteration is a
// child frame in its own goroutine with its own journal record, so a
// resumed execution continues every unfinished child where it was and
// collects the results of finished ones without running them again.

// startChildren opens a new child generation for this attempt (or reuses
// the one a resumed position names) and records it durably.
func (f *frame) startChildren(ctx context.Context) (int, error) {
	if f.pos.Gen == 0 {
		f.pos.Seq++
		f.pos.Gen = f.pos.Seq
		f.dirty = true
	}
	return f.pos.Gen, f.persist(ctx)
}

// childRun collects the outcome of concurrently running children: the first
// error cancels the rest.
type childRun struct {
	mu      sync.Mutex
	wg      sync.WaitGroup
	err     error
	cancel  context.CancelCauseFunc
	results []any
}

func (c *childRun) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		c.cancel(err)
	}
}

func (f *frame) parallelAttempt(ctx context.Context, s *state) (any, error) {
	eff, err := f.effectiveInput(s, f.pos.Input, "")
	if err != nil {
		return nil, err
	}
	gen, err := f.startChildren(ctx)
	if err != nil {
		return nil, err
	}
	f.x.addEvents(1) // ParallelStateStarted
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	run := &childRun{cancel: cancel, results: make([]any, len(s.branches))}
	for i, branch := range s.branches {
		child := f.x.newFrame(childFrameID(f.id, gen, i), branch, eff)
		run.wg.Go(func() {
			out, err := child.runChild(cctx)
			if err != nil {
				run.fail(err)
				return
			}
			run.results[i] = out
		})
	}
	run.wg.Wait()
	f.x.dropFramesUnder(childPrefix(f.id, gen))
	f.x.addEvents(1) // ParallelStateSucceeded or ParallelStateFailed
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if run.err != nil {
		return nil, run.err
	}
	return run.results, nil
}

func (f *frame) mapAttempt(ctx context.Context, s *state) (any, error) {
	eff, err := f.selectPath(s, s.inputPath, f.pos.Input, "InputPath")
	if err != nil {
		return nil, err
	}
	items := eff
	if s.itemsPath != nil {
		var ok bool
		if items, ok = f.env(s, eff, "", nil).resolve(s.itemsPath); !ok {
			return nil, runtimeError("Invalid path '%s' : No results for path: %s (ItemsPath)", s.itemsPath.text, s.itemsPath.text)
		}
	}
	list, ok := items.([]any)
	if !ok {
		return nil, runtimeError("Map state input must be an array but was: %s (ItemsPath selected a %s)", mustJSON(items), jsonTypeName(items))
	}
	// Each iteration's input: the item, or what ItemSelector makes of the
	// state input and $$.Map.Item.
	inputs := list
	if s.itemSelector != nil {
		inputs = make([]any, len(list))
		for i, item := range list {
			if inputs[i], err = s.itemSelector.eval(f.env(s, eff, "", &mapItem{index: i, value: item})); err != nil {
				return nil, err
			}
		}
	}
	gen, err := f.startChildren(ctx)
	if err != nil {
		return nil, err
	}
	f.x.addEvents(1) // MapStateStarted
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	run := &childRun{cancel: cancel, results: make([]any, len(inputs))}
	tolerance := newFailureTolerance(s, len(inputs))
	limit := s.maxConcurrency
	if limit <= 0 {
		limit = len(inputs)
	}
	slots := make(chan struct{}, max(limit, 1))
launch:
	for i, input := range inputs {
		child := f.x.newFrame(childFrameID(f.id, gen, i), s.iterator, input)
		needsSlot := !child.pos.Done // a finished iteration needs no slot
		if needsSlot {
			select {
			case slots <- struct{}{}:
			case <-cctx.Done():
				break launch
			}
		}
		f.x.addEvents(1) // MapIterationStarted
		run.wg.Go(func() {
			if needsSlot {
				defer func() { <-slots }()
			}
			out, err := child.runChild(cctx)
			f.x.addEvents(1) // MapIterationSucceeded or MapIterationFailed
			if err == nil {
				run.results[i] = out
				return
			}
			se, isStates := asStatesError(err)
			if isStates && cctx.Err() == nil && tolerance.tolerate() {
				run.results[i] = map[string]any{"Error": se.Name, "Cause": se.Cause}
				return
			}
			if isStates && tolerance.enabled() {
				err = newError(ErrorExceedToleratedFailures, "The specified tolerated failure threshold was exceeded: %s: %s", se.Name, se.Cause)
			}
			run.fail(err)
		})
	}
	run.wg.Wait()
	f.x.dropFramesUnder(childPrefix(f.id, gen))
	f.x.addEvents(1) // MapStateSucceeded or MapStateFailed
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if run.err != nil {
		return nil, run.err
	}
	return run.results, nil
}

// failureTolerance implements ToleratedFailureCount and
// ToleratedFailurePercentage: failed iterations within them leave their
// error output in the results instead of failing the Map.
type failureTolerance struct {
	mu       sync.Mutex
	count    *int64
	percent  *float64
	total    int
	failures int
}

func newFailureTolerance(s *state, total int) *failureTolerance {
	return &failureTolerance{count: s.toleratedCount, percent: s.toleratedPercent, total: total}
}

func (t *failureTolerance) enabled() bool { return t.count != nil || t.percent != nil }

// tolerate counts one failure and reports whether the Map may go on.
func (t *failureTolerance) tolerate() bool {
	if !t.enabled() {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures++
	if t.count != nil && int64(t.failures) > *t.count {
		return false
	}
	if t.percent != nil && float64(t.failures)*100 > *t.percent*float64(t.total) {
		return false
	}
	return true
}

// childPrefix is the ID prefix shared by the children of one generation.
func childPrefix(parent string, gen int) string {
	return parent + "/" + strconv.Itoa(gen) + "."
}
