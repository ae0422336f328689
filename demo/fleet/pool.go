package fleet

import (
	"container/list"
	"context"
	"log/slog"
	"sync"
	"time"
)

// pool is the fleet's shared set of worker slots with one FIFO wait queue in front of it,
// as if a load balancer queued requests for whichever replica frees a slot first.
// Replica bookkeeping (replicas.go) lives on the same struct because slot count, queue
// and readiness must change under one lock for grants to stay correct.
type pool struct {
	log      *slog.Logger
	now      func() time.Time
	epoch    time.Time // busy-time arithmetic is done in offsets from here
	slotsPer int
	maxQueue int
	delay    time.Duration
	memBase  int64
	memReq   int64
	memLimit int64

	mu      sync.Mutex
	ready   int
	desired int
	busy    int
	queue   list.List // of *waiter, oldest first
	// Busy time is kept as "finished work" plus the sum of start offsets of in-flight
	// work, so the exact total at any instant is busyDone + busy*now - busyStarts:
	// O(1) per scrape however many requests are in flight.
	busyDone   time.Duration
	busyStarts time.Duration
	pending    []provision // scale-ups not ready yet, oldest first
	nextID     uint64
	closed     bool
}

type waiter struct {
	granted chan struct{} // closed when a slot is handed over
	start   time.Duration // set under pool.mu when granted
	done    bool          // granted; guarded by pool.mu
}

func newPool(cfg Config, logger *slog.Logger) *pool {
	return &pool{
		log:      logger,
		now:      cfg.now,
		epoch:    cfg.now(),
		slotsPer: cfg.SlotsPerReplica,
		maxQueue: cfg.MaxQueue,
		delay:    cfg.ProvisionDelay,
		memBase:  cfg.MemoryBaseBytes,
		memReq:   cfg.MemoryPerRequestBytes,
		memLimit: cfg.MemoryLimitBytes,
		ready:    cfg.Replicas,
		desired:  cfg.Replicas,
	}
}

func (p *pool) offset() time.Duration { return p.now().Sub(p.epoch) }

// acquire waits FIFO for a free slot. It fails at once with ErrQueueFull when the queue is
// full, and with ctx.Err() when the caller gives up while queued. The returned release
// must be called exactly once when the work is done; extra calls are ignored.
func (p *pool) acquire(ctx context.Context) (release func(), err error) {
	p.mu.Lock()
	// Newcomers may only take a free slot when nobody is queued, or they would
	// overtake older requests.
	if p.queue.Len() == 0 && p.busy < p.ready*p.slotsPer {
		start := p.startLocked()
		p.mu.Unlock()
		return p.releaser(start), nil
	}
	if p.queue.Len() >= p.maxQueue {
		p.mu.Unlock()
		return nil, ErrQueueFull
	}
	w := &waiter{granted: make(chan struct{})}
	elem := p.queue.PushBack(w)
	p.mu.Unlock()

	select {
	case <-w.granted:
		return p.releaser(w.start), nil
	case <-ctx.Done():
		p.mu.Lock()
		if w.done {
			// The grant raced with the cancellation: hand the slot back.
			p.mu.Unlock()
			p.releaser(w.start)()
			return nil, ctx.Err()
		}
		p.queue.Remove(elem)
		p.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (p *pool) startLocked() time.Duration {
	start := p.offset()
	p.busy++
	p.busyStarts += start
	return start
}

func (p *pool) releaser(start time.Duration) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.busy--
			p.busyStarts -= start
			p.busyDone += p.offset() - start
			p.dispatchLocked()
		})
	}
}

// dispatchLocked hands free slots to the oldest waiters. After a scale-down busy can
// exceed the slot count; then nobody is admitted until enough in-flight work finishes.
func (p *pool) dispatchLocked() {
	for p.queue.Len() > 0 && p.busy < p.ready*p.slotsPer {
		w := p.queue.Remove(p.queue.Front()).(*waiter)
		w.start = p.startLocked()
		w.done = true
		close(w.granted)
	}
}

func (p *pool) state() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stateLocked()
}

func (p *pool) stateLocked() State {
	now := p.offset()
	busySeconds := (p.busyDone + time.Duration(p.busy)*now - p.busyStarts).Seconds()
	limit := int64(p.ready) * p.memLimit
	// A real pod cannot exceed its limit (it would be OOM-killed); capping keeps the
	// memory ratio within 0…1 like the real series the rules are written for.
	used := min(int64(p.ready)*p.memBase+int64(p.busy+p.queue.Len())*p.memReq, limit)
	return State{
		Ready:       p.ready,
		Desired:     p.desired,
		Slots:       p.ready * p.slotsPer,
		Busy:        p.busy,
		Queued:      p.queue.Len(),
		BusySeconds: busySeconds,
		MemoryUsed:  used,
		MemoryLimit: limit,
	}
}
