package lease_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/lease"
	"github.com/wedsync/scaling/core/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func TestKeeperRenewsAndReleases(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	k, err := lease.New(s, "replica-a", lease.Config{TTL: 300 * time.Millisecond, ActuatorTimeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Start(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // three TTLs: only heartbeats keep it
	ls, err := s.Leases(context.Background())
	if err != nil || len(ls) != 1 || !ls[0].ExpiresAt.After(time.Now()) || !k.Valid() {
		t.Fatalf("leases after 1 s = %+v, %v; valid %v", ls, err, k.Valid())
	}
	if ls[0].ActuatorTimeout != time.Second {
		t.Fatalf("actuator timeout = %s", ls[0].ActuatorTimeout)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ls, _ = s.Leases(context.Background())
		if len(ls) == 1 && !ls[0].ExpiresAt.After(time.Now()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("lease not released at shutdown: %+v", ls)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []lease.Config{{}, {TTL: time.Second, Interval: time.Second}, {TTL: time.Second, ActuatorTimeout: -1}} {
		if _, err := lease.New(nil, "x", c, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
