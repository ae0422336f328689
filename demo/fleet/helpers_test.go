package fleet

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock makes busy seconds and latencies exact in golden tests. Service time still
// sleeps on the real clock; only what is measured comes from here.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testConfig is a small fast fleet; cases override what they exercise.
func testConfig() Config {
	c := DefaultConfig()
	c.Replicas = 1
	c.MaxReplicas = 5
	c.SlotsPerReplica = 2
	c.ServiceTime = 10 * time.Millisecond
	c.ProvisionDelay = time.Hour
	c.MaxQueue = 100
	return c
}

func newTestFleet(t *testing.T, cfg Config) *Fleet {
	t.Helper()
	f, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(f.Close)
	return f
}

// waitFor polls cond until it holds or fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// queued starts a goroutine that waits in the pool and returns a channel delivering its
// release func (or nil on error) plus a cancel for giving up.
func queued(p *pool) (<-chan func(), context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan func(), 1)
	go func() {
		rel, err := p.acquire(ctx)
		if err != nil {
			ch <- nil
			return
		}
		ch <- rel
	}()
	return ch, cancel
}
