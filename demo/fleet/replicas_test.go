package fleet

import (
	"errors"
	"testing"
	"time"
)

func pendingReplicas(p *pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, b := range p.pending {
		n += b.count
	}
	return n
}

func TestSetDesired(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		delay       time.Duration
		steps       []int
		wantReady   int
		wantDesired int
		wantPending int
	}{
		{name: "scale-down is immediate", delay: time.Hour, steps: []int{1}, wantReady: 1, wantDesired: 1},
		{name: "scale-up waits for provisioning", delay: time.Hour, steps: []int{4}, wantReady: 2, wantDesired: 4, wantPending: 2},
		{name: "same value twice adds nothing", delay: time.Hour, steps: []int{4, 4}, wantReady: 2, wantDesired: 4, wantPending: 2},
		{name: "lowering a pending scale-up trims it", delay: time.Hour, steps: []int{6, 4}, wantReady: 2, wantDesired: 4, wantPending: 2},
		{name: "raising a pending scale-up adds a batch", delay: time.Hour, steps: []int{4, 6}, wantReady: 2, wantDesired: 6, wantPending: 4},
		{name: "lowering to the ready count cancels pending", delay: time.Hour, steps: []int{6, 2}, wantReady: 2, wantDesired: 2},
		{name: "scale-down below ready cancels pending", delay: time.Hour, steps: []int{6, 1}, wantReady: 1, wantDesired: 1},
		{name: "zero delay is ready at once", delay: 0, steps: []int{5}, wantReady: 5, wantDesired: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.Replicas = 2
			cfg.MaxReplicas = 10
			cfg.ProvisionDelay = tc.delay
			f := newTestFleet(t, cfg)
			for _, n := range tc.steps {
				if _, err := f.SetReplicas(n); err != nil {
					t.Fatalf("SetReplicas(%d): %v", n, err)
				}
			}
			s := f.State()
			if s.Ready != tc.wantReady || s.Desired != tc.wantDesired || pendingReplicas(f.pool) != tc.wantPending {
				t.Fatalf("ready=%d desired=%d pending=%d, want %d %d %d",
					s.Ready, s.Desired, pendingReplicas(f.pool), tc.wantReady, tc.wantDesired, tc.wantPending)
			}
			if s.Slots != s.Ready*cfg.SlotsPerReplica {
				t.Fatalf("slots=%d, want ready×slots per replica=%d", s.Slots, s.Ready*cfg.SlotsPerReplica)
			}
		})
	}
}

func TestProvisioningCompletes(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Replicas = 1
	cfg.ProvisionDelay = 30 * time.Millisecond
	f := newTestFleet(t, cfg)

	// A batch trimmed to nothing must not add replicas when its timer fires.
	if _, err := f.SetReplicas(3); err != nil {
		t.Fatal(err)
	}
	if _, err := f.SetReplicas(5); err != nil {
		t.Fatal(err)
	}
	if _, err := f.SetReplicas(3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "replicas ready", func() bool { return f.State().Ready == 3 })
	time.Sleep(3 * cfg.ProvisionDelay)
	if s := f.State(); s.Ready != 3 || s.Desired != 3 || pendingReplicas(f.pool) != 0 {
		t.Fatalf("ready=%d desired=%d pending=%d, want 3 3 0", s.Ready, s.Desired, pendingReplicas(f.pool))
	}
}

func TestSetReplicasOutOfRange(t *testing.T) {
	t.Parallel()
	f := newTestFleet(t, testConfig())
	for _, n := range []int{0, -1, 6} {
		if _, err := f.SetReplicas(n); !errors.Is(err, ErrReplicasOutOfRange) {
			t.Errorf("SetReplicas(%d) = %v, want ErrReplicasOutOfRange", n, err)
		}
	}
	if s := f.State(); s.Ready != 1 || s.Desired != 1 {
		t.Fatalf("state changed: ready=%d desired=%d", s.Ready, s.Desired)
	}
}
