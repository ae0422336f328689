package fleet

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPoolFIFO(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.SlotsPerReplica = 1
	f := newTestFleet(t, cfg)
	p := f.pool

	first, err := p.acquire(context.Background())
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}
	// Queue three waiters in a known order.
	var waiters []<-chan func()
	for i := range 3 {
		ch, cancel := queued(p)
		t.Cleanup(cancel)
		waiters = append(waiters, ch)
		waitFor(t, 2*time.Second, "waiter to queue", func() bool { return p.state().Queued == i+1 })
	}
	release := first
	for i, ch := range waiters {
		release()
		select {
		case rel := <-ch:
			if rel == nil {
				t.Fatalf("waiter %d: acquire failed", i)
			}
			release = rel
		case <-time.After(2 * time.Second):
			t.Fatalf("waiter %d not granted after release", i)
		}
		for j := i + 1; j < len(waiters); j++ {
			select {
			case <-waiters[j]:
				t.Fatalf("waiter %d overtook waiter %d", j, i)
			default:
			}
		}
	}
	release()
	release() // extra calls must not free a second slot
	if s := p.state(); s.Busy != 0 || s.Queued != 0 {
		t.Fatalf("after all releases: busy=%d queued=%d, want 0 0", s.Busy, s.Queued)
	}
}

func TestPoolAcquireErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		maxQueue int
		cancel   bool // give up while queued
		wantErr  error
	}{
		{name: "queue full", maxQueue: 0, wantErr: ErrQueueFull},
		{name: "client gives up while queued", maxQueue: 1, cancel: true, wantErr: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.SlotsPerReplica = 1
			cfg.MaxQueue = tc.maxQueue
			f := newTestFleet(t, cfg)
			hold, err := f.pool.acquire(context.Background())
			if err != nil {
				t.Fatalf("acquire: %v", err)
			}
			defer hold()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				go func() {
					// No t.Fatal off the test goroutine: if queueing never happens the
					// acquire below blocks and the test times out instead.
					for f.State().Queued != 1 {
						time.Sleep(time.Millisecond)
					}
					cancel()
				}()
			}
			rel, err := f.pool.acquire(ctx)
			if !errors.Is(err, tc.wantErr) || rel != nil {
				t.Fatalf("acquire = %v, %v; want nil, %v", rel != nil, err, tc.wantErr)
			}
			if s := f.State(); s.Queued != 0 || s.Busy != 1 {
				t.Fatalf("state after failure: busy=%d queued=%d, want 1 0", s.Busy, s.Queued)
			}
		})
	}
}

func TestPoolBusySecondsIncludesInFlight(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	cfg := testConfig()
	cfg.now = clk.Now
	f := newTestFleet(t, cfg)

	a, _ := f.pool.acquire(context.Background())
	b, _ := f.pool.acquire(context.Background())
	clk.Advance(2 * time.Second)
	a()
	clk.Advance(time.Second)
	// a: 2 s finished; b: 3 s and still running.
	if got := f.State().BusySeconds; got != 5 {
		t.Fatalf("busy seconds = %v, want 5", got)
	}
	b()
	clk.Advance(time.Hour)
	if got := f.State().BusySeconds; got != 5 {
		t.Fatalf("busy seconds after idle hour = %v, want 5", got)
	}
}
