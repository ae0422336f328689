package webhook

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wedsync/scaling/core/store"
)

// BatchRecorder records several notifications in one transaction.
type BatchRecorder interface {
	RecordNotifications(ctx context.Context, ns []store.Notification) ([]bool, error)
}

// GroupCommit is a Recorder that lets concurrent deliveries share a commit.
// The first delivery to arrive while fewer than `writers` batches are being
// written becomes a writer itself (no hand-off to another goroutine, so a
// lone delivery costs what a direct write costs); it takes every delivery
// queued meanwhile — never waiting for more — and records them in one
// transaction. Under concurrent deliveries (an HA pair, many alert groups
// flushing together) each commit carries several, and commits are what the
// durable path's throughput is bounded by.
type GroupCommit struct {
	rec      BatchRecorder
	writers  int
	maxBatch int

	mu      sync.Mutex
	queue   []*pending
	writing int
}

type pending struct {
	n    store.Notification
	done chan result
}

type result struct {
	dup bool
	err error
}

var _ Recorder = (*GroupCommit)(nil)

// WriteTimeout bounds one batch write.
const WriteTimeout = 10 * time.Second

// NewGroupCommit returns a group-committing recorder over rec.
func NewGroupCommit(rec BatchRecorder, writers, maxBatch int) *GroupCommit {
	return &GroupCommit{rec: rec, writers: max(writers, 1), maxBatch: max(maxBatch, 1)}
}

// RecordNotification records n, alone or with the deliveries queued with it.
func (g *GroupCommit) RecordNotification(ctx context.Context, n store.Notification) (bool, error) {
	p := &pending{n: n, done: make(chan result, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	if g.writing < g.writers {
		g.writing++
		// The batches outlive this request's context: others wait on them.
		g.drain(context.WithoutCancel(ctx), p)
	} else {
		g.mu.Unlock()
	}
	// Once queued, the outcome is awaited even if the client has gone: a
	// commit that happened is reported to nobody rather than mistaken for a
	// failure (a retry then finds a duplicate: harmless).
	r := <-p.done
	return r.dup, r.err
}

// drain writes queued batches until own has its result, then hands what is
// left to a new goroutine, so no request waits on others' work for long.
// Called with g.mu held and this writer counted in g.writing; returns with
// g.mu released.
func (g *GroupCommit) drain(ctx context.Context, own *pending) {
	for len(g.queue) > 0 {
		if own != nil && len(own.done) > 0 {
			go func() {
				g.mu.Lock()
				g.drain(ctx, nil)
			}()
			g.mu.Unlock()
			return
		}
		batch := g.queue[:min(len(g.queue), g.maxBatch)]
		g.queue = g.queue[len(batch):]
		g.mu.Unlock()
		// Bounded even so: Alertmanager gives up on a webhook after its own
		// timeout and retries, so waiting on a hung database is pointless.
		wctx, cancel := context.WithTimeout(ctx, WriteTimeout)
		g.write(wctx, batch)
		cancel()
		g.mu.Lock()
	}
	g.writing--
	g.mu.Unlock()
}

func (g *GroupCommit) write(ctx context.Context, batch []*pending) {
	ns := make([]store.Notification, len(batch))
	for i, p := range batch {
		ns[i] = p.n
	}
	dups, err := g.rec.RecordNotifications(ctx, ns)
	if err == nil {
		for i, p := range batch {
			p.done <- result{dup: dups[i]}
		}
		return
	}
	// One bad notification must not fail its neighbours: unless the
	// database is simply down, record each on its own.
	if len(batch) == 1 || errors.Is(err, store.ErrUnavailable) {
		for _, p := range batch {
			p.done <- result{err: err}
		}
		return
	}
	for _, p := range batch {
		d, err := g.rec.RecordNotifications(ctx, []store.Notification{p.n})
		if err != nil {
			p.done <- result{err: err}
			continue
		}
		p.done <- result{dup: d[0]}
	}
}
