package notify

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/gennaker/gennaker/shared/store"
)

// Bus is the local runtime's event bus: Publish queues events and returns
// at once; a worker accepts them in order (see Notifier.Accept) and hands
// their notifications to one sender goroutine per destination, so a slow
// or silent receiver holds up only its own notifications, never the
// pipeline or the other receivers. Subscribers see every accepted event.
type Bus struct {
	n *Notifier

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []Event
	dests   map[string]*destination
	subs    []func(Event)
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	idle    *sync.Cond
	working bool
}

type destination struct {
	jobs    []Job
	running bool
}

// NewBus returns a bus that delivers through n. Start starts its workers.
func NewBus(n *Notifier) *Bus {
	b := &Bus{n: n, dests: map[string]*destination{}}
	b.cond = sync.NewCond(&b.mu)
	b.idle = sync.NewCond(&b.mu)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

var _ Publisher = (*Bus)(nil)

// Publish implements Publisher.
func (b *Bus) Publish(_ context.Context, events []Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("event bus closed")
	}
	b.queue = append(b.queue, events...)
	b.cond.Signal()
	return nil
}

// Subscribe calls fn with every event the bus accepts, from its worker.
func (b *Bus) Subscribe(fn func(Event)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs = append(b.subs, fn)
}

// Start resumes what a stopped process left: the notifications stored and
// not sent, and the events recorded in runs' outboxes and never accepted.
// Then it serves published events until Close.
func (b *Bus) Start(ctx context.Context) error {
	jobs, err := b.n.PendingJobs(ctx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	for _, j := range jobs {
		b.dispatchLocked(j)
	}
	b.mu.Unlock()
	events, err := Unaccepted(ctx, b.n)
	if err != nil {
		return err
	}
	_ = b.Publish(ctx, events)
	b.wg.Add(1)
	go b.relay()
	return nil
}

func (b *Bus) relay() {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		for len(b.queue) == 0 && !b.closed {
			b.working = false
			b.idle.Broadcast()
			b.cond.Wait()
		}
		if b.closed {
			b.mu.Unlock()
			return
		}
		ev := b.queue[0]
		b.queue = b.queue[1:]
		b.working = true
		subs := append([]func(Event){}, b.subs...)
		b.mu.Unlock()

		if done, err := b.n.Accepted(b.ctx, ev.Key); err == nil && done {
			continue
		}
		jobs, err := b.n.Accept(b.ctx, ev)
		if err != nil {
			// The event stays in its run's outbox: the next start accepts it.
			b.n.log().Error("accept event", "event", ev.Key, "error", err)
			continue
		}
		for _, fn := range subs {
			fn(ev)
		}
		b.mu.Lock()
		for _, j := range jobs {
			b.dispatchLocked(j)
		}
		b.mu.Unlock()
	}
}

func (b *Bus) dispatchLocked(j Job) {
	if b.closed {
		return
	}
	d := b.dests[j.Destination()]
	if d == nil {
		d = &destination{}
		b.dests[j.Destination()] = d
	}
	d.jobs = append(d.jobs, j)
	if !d.running {
		d.running = true
		b.wg.Add(1)
		go b.send(d)
	}
}

func (b *Bus) send(d *destination) {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		if len(d.jobs) == 0 || b.closed {
			d.running = false
			b.idle.Broadcast()
			b.mu.Unlock()
			return
		}
		j := d.jobs[0]
		d.jobs = d.jobs[1:]
		b.mu.Unlock()
		b.n.Deliver(b.ctx, j)
	}
}

// Drain waits until every published event is accepted and every
// notification sent or failed, or ctx ends.
func (b *Bus) Drain(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.idle.Broadcast()
		b.mu.Unlock()
	})
	defer stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.quietLocked() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.idle.Wait()
	}
	return nil
}

func (b *Bus) quietLocked() bool {
	if len(b.queue) > 0 || b.working {
		return false
	}
	for _, d := range b.dests {
		if d.running {
			return false
		}
	}
	return true
}

// Close stops the workers. Notifications being sent stay stored and are
// sent at the next Start.
func (b *Bus) Close() error {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	return nil
}

// sweepRuns is how many of each application's latest runs a sweep reads.
const sweepRuns = 200

// Unaccepted returns the events in runs' outboxes that were never
// accepted, oldest first: what a process that died after a status change
// and before its event was taken onward left behind. Runs whose events
// were all accepted after they finished are remembered and not read again.
func Unaccepted(ctx context.Context, n *Notifier) ([]Event, error) {
	recs := n.Store.Records()
	apps, err := n.Store.Applications().List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, app := range apps {
		// Events are lost only by a process that died just after writing
		// them: the application's latest runs hold them.
		runs, err := n.Store.Executions().ListByApplication(ctx, app.Name, store.ListOptions{Limit: sweepRuns})
		if err != nil {
			return nil, err
		}
		for _, h := range runs {
			if _, swept, err := recs.Get(ctx, sweptPrefix+string(h.ID)); err != nil {
				return nil, err
			} else if swept {
				continue
			}
			e, err := n.Store.Executions().Get(ctx, h.ID)
			if err != nil {
				continue
			}
			missing := 0
			for _, ev := range Pending(e) {
				done, err := n.Accepted(ctx, ev.Key)
				if err != nil {
					return nil, err
				}
				if !done {
					out = append(out, ev)
					missing++
				}
			}
			if missing == 0 && e.Status.IsComplete() && e.Orchestration.Finalized {
				_ = recs.Put(ctx, sweptPrefix+string(h.ID), []byte("1"))
			}
		}
	}
	sortEvents(out)
	return out, nil
}

// SweepOnce accepts and delivers, in the calling goroutine, the events
// runs' outboxes hold that were never accepted; the notifier function runs
// it on a schedule in the cloud, where a lost PutEvents has no other
// second chance.
//
// Events younger than a minute are left alone: their publication may still
// be on its way, and its own invocation sends them.
func SweepOnce(ctx context.Context, n *Notifier) (int, error) {
	events, err := Unaccepted(ctx, n)
	if err != nil {
		return 0, err
	}
	settled := time.Now().Add(-time.Minute).UnixMilli()
	events = slices.DeleteFunc(events, func(ev Event) bool { return ev.Time > settled })
	for _, ev := range events {
		jobs, err := n.Accept(ctx, ev)
		if err != nil {
			return 0, err
		}
		for _, j := range jobs {
			n.Deliver(ctx, j)
		}
	}
	return len(events), nil
}
