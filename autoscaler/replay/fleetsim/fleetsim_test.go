package fleetsim

import (
	"math"
	"strings"
	"testing"
	"time"
)

func newFleet(t *testing.T, c Config) *Fleet {
	t.Helper()
	if c.MaxReplicas == 0 {
		c.MaxReplicas = 40
	}
	if c.Replicas == 0 {
		c.Replicas = 2
	}
	f, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func run(f *Fleet, from, d time.Duration, rate float64) []Tick {
	var ticks []Tick
	for at := from; at < from+d; at += time.Second {
		ticks = append(ticks, f.Step(at, time.Second, rate))
	}
	return ticks
}

func TestErlangC(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c    int
		a, w float64
	}{{1, 0.5, 0.5}, {2, 1, 1.0 / 3}, {1, 1, 1}, {10, 12, 1}} {
		if got := erlangC(tc.c, tc.a); math.Abs(got-tc.w) > 1e-9 {
			t.Errorf("erlangC(%d, %v) = %v, want %v", tc.c, tc.a, got, tc.w)
		}
	}
	// Thousands of servers without overflow, and a value in (0, 1).
	if got := erlangC(4000, 3800); !(got > 0 && got < 1) {
		t.Errorf("erlangC(4000, 3800) = %v", got)
	}
}

func TestUnderCapacity(t *testing.T) {
	t.Parallel()
	f := newFleet(t, Config{Arrivals: Uniform}) // 200 req/s
	ticks := run(f, 0, 30*time.Second, 120)
	if cpu := ticks[29].CPU(); math.Abs(cpu-0.6) > 1e-9 {
		t.Errorf("CPU at 120 of 200 req/s = %v, want 0.6", cpu)
	}
	if q := Quantile(ticks, 0.95, 0); math.Abs(q-0.05) > 1e-9 {
		t.Errorf("uniform arrivals under capacity: p95 %v, want the 50 ms service time", q)
	}
	p := newFleet(t, Config{Arrivals: Poisson})
	slow := run(p, 0, 30*time.Second, 190) // ρ = 0.95
	if q := Quantile(slow, 0.95, 0); !(q > 0.05 && q < 1) {
		t.Errorf("Poisson at ρ 0.95: p95 %v, want above the service time and finite", q)
	}
	if q := Quantile(run(newFleet(t, Config{}), 0, 10*time.Second, 20), 0.95, 0); math.Abs(q-0.05) > 1e-3 {
		t.Errorf("Poisson at ρ 0.1: p95 %v, want ≈ the service time", q)
	}
}

func TestOverloadQueuesRefusesAndRecovers(t *testing.T) {
	t.Parallel()
	f := newFleet(t, Config{Arrivals: Uniform, ReadyAfter: 5 * time.Second})
	ticks := run(f, 0, 10*time.Second, 300) // 100 req/s over capacity
	if q := ticks[9].Queue; math.Abs(q-1000) > 1e-6 {
		t.Fatalf("queue after 10 s at +100 req/s = %v, want 1000", q)
	}
	// p95 of the last second: the backlog takes 5 s to drain.
	if q := Quantile(ticks[9:], 0.95, 0); q < 4.5 || q > 5.2 {
		t.Fatalf("p95 with 1000 queued at 200 req/s = %v, want ≈ 5 s", q)
	}
	more := run(f, 10*time.Second, 15*time.Second, 300)
	if more[14].Queue != DefaultMaxQueue || more[14].Refused != 100 {
		t.Fatalf("full queue: %v queued, %v refused a second; want %d and 100", more[14].Queue, more[14].Refused, DefaultMaxQueue)
	}
	if q := Quantile(more[14:], 0.5, math.Inf(1)); q > 11 {
		t.Fatalf("median with a third refused, refused as failed: %v", q)
	}
	if q := Quantile(more[14:], 0.95, math.Inf(1)); !math.IsInf(q, 1) {
		t.Fatalf("p95 with a third refused, refused as failed: %v, want +Inf", q)
	}
	if err := f.SetDesired(25*time.Second, 6); err != nil {
		t.Fatal(err)
	}
	if f.Ready() != 2 || f.Desired() != 6 {
		t.Fatalf("right after the scale-up: ready %d desired %d", f.Ready(), f.Desired())
	}
	after := run(f, 25*time.Second, 30*time.Second, 300)
	if f.Ready() != 6 || after[29].Queue != 0 {
		t.Fatalf("30 s after the scale-up: ready %d, queue %v", f.Ready(), after[29].Queue)
	}
}

func TestReplicaChanges(t *testing.T) {
	t.Parallel()
	f := newFleet(t, Config{ReadyAfter: 10 * time.Second, Replicas: 4})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetDesired(0, 8)) // a batch of 4
	must(f.SetDesired(time.Second, 10))
	must(f.SetDesired(2*time.Second, 7)) // cancels the newest batch (2) and 1 of the first
	run(f, 0, 9*time.Second, 0)
	if f.Ready() != 4 {
		t.Fatalf("before the delay: %d ready", f.Ready())
	}
	run(f, 10*time.Second, 2*time.Second, 0)
	if f.Ready() != 7 {
		t.Fatalf("after the delay: %d ready, want 7", f.Ready())
	}
	must(f.SetDesired(12*time.Second, 3)) // down at once
	if f.Ready() != 3 {
		t.Fatalf("scale-down: %d ready", f.Ready())
	}
	if err := f.SetDesired(0, 41); err == nil || !strings.Contains(err.Error(), "allowed 1…40") {
		t.Fatalf("out of range: %v", err)
	}
}

func TestQuantileEdges(t *testing.T) {
	t.Parallel()
	if q := Quantile(run(newFleet(t, Config{}), 0, 5*time.Second, 0), 0.95, 0); !math.IsNaN(q) {
		t.Fatalf("no arrivals: %v, want NaN", q)
	}
	if _, err := New(Config{Replicas: 5, MaxReplicas: 2, CapacityPerReplica: -1}); err == nil ||
		!strings.Contains(err.Error(), "capacity_per_replica") || !strings.Contains(err.Error(), "replicas: must be between 1 and max_replicas") {
		t.Fatalf("bad config: %v", err)
	}
}

func BenchmarkQuantile60(b *testing.B) {
	f, _ := New(Config{Replicas: 10, MaxReplicas: 40})
	var ticks []Tick
	for i := range 60 {
		ticks = append(ticks, f.Step(time.Duration(i)*time.Second, time.Second, 900+200*math.Sin(float64(i)/5)))
	}
	for b.Loop() {
		Quantile(ticks, 0.95, math.Inf(1))
	}
}
