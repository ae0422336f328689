package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestLeaseHeartbeatAndExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	l, err := s.Heartbeat(ctx, "a", time.Minute, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if l.ActuatorTimeout != 5*time.Second || !l.ExpiresAt.After(l.HeartbeatAt) {
		t.Fatalf("lease = %+v", l)
	}
	again, err := s.Heartbeat(ctx, "a", time.Minute, 5*time.Second)
	if err != nil || again.ExpiresAt.Before(l.ExpiresAt) || !again.StartedAt.Equal(l.StartedAt) {
		t.Fatalf("renewed lease = %+v, %v", again, err)
	}
	// An expired lease is renewed (a database outage longer than the ttl
	// must not end the replica), and its events are its own again unless
	// another replica adopted them meanwhile.
	if _, err := s.Heartbeat(ctx, "short", time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if l, err := s.Heartbeat(ctx, "short", time.Minute, 0); err != nil || !l.ExpiresAt.After(time.Now()) {
		t.Fatalf("heartbeat after expiry: %+v, %v", l, err)
	}
	if err := s.ReleaseLease(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ls, _ := s.Leases(ctx); len(ls) != 2 {
		t.Fatalf("leases = %+v", ls)
	} else {
		for _, l := range ls {
			if l.Holder == "a" && l.ExpiresAt.After(time.Now()) {
				t.Fatalf("released lease still live: %+v", l)
			}
		}
	}
	if _, err := s.Heartbeat(ctx, "", time.Minute, 0); err == nil {
		t.Fatal("empty holder accepted")
	}
}

// Only events whose owner's lease expired are orphans; exactly one replica
// adopts each; the old owner can no longer close it; re-applying is allowed
// only once the dead owner's actuator calls must have ended.
func TestOrphanedEventsAndAdoption(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	for _, h := range []string{"live", "b", "c"} {
		if _, err := s.Heartbeat(ctx, h, time.Minute, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Heartbeat(ctx, "dead", 50*time.Millisecond, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	owned := func(service, owner string) store.Event {
		ne := newEvent(service, 1, 2)
		ne.Owner = owner
		e, err := s.BeginEvent(ctx, ne)
		if err != nil {
			t.Fatal(err)
		}
		if e.Owner != owner {
			t.Fatalf("owner = %q, want %q", e.Owner, owner)
		}
		return e
	}
	liveEv := owned("api", "live")
	deadEv := owned("worker", "dead")
	legacy := owned("db", "") // written before owners existed

	time.Sleep(100 * time.Millisecond) // dead's lease expires
	orphans, err := s.OrphanedEvents(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, o := range orphans {
		got[o.ID] = o.Quiet
	}
	if _, ok := got[liveEv.ID]; ok || len(got) != 2 {
		t.Fatalf("orphans = %v; want dead's and the ownerless one, never a live owner's", got)
	}
	if got[deadEv.ID] || got[legacy.ID] {
		t.Fatalf("quiet = %v: the dead owner's call may still run for its actuator timeout; the ownerless event is younger than minAge", got)
	}
	time.Sleep(300 * time.Millisecond)
	orphans, _ = s.OrphanedEvents(ctx, 0)
	for _, o := range orphans {
		if !o.Quiet {
			t.Fatalf("%s not quiet after the actuator timeout", o.ID)
		}
	}

	// Two replicas adopt at once: one wins.
	var wg sync.WaitGroup
	wins := make(chan string, 2)
	for _, h := range []string{"b", "c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.AdoptEvent(ctx, deadEv.ID, h); err == nil {
				wins <- h
			} else if !errors.As(err, new(*store.ConflictError)) {
				t.Errorf("adopt by %s: %v", h, err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	var winners []string
	for w := range wins {
		winners = append(winners, w)
	}
	if len(winners) != 1 {
		t.Fatalf("adopted by %v, want exactly one", winners)
	}
	if _, err := s.AdoptEvent(ctx, liveEv.ID, "b"); !errors.As(err, new(*store.ConflictError)) {
		t.Fatalf("adopting a live owner's event: %v", err)
	}
	// The old owner comes back too late: it may not close the event.
	_, err = s.CloseEvent(ctx, deadEv.ID, "dead", store.StatusFailed, "changed outside")
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.State != "owned by "+winners[0] {
		t.Fatalf("close by the lapsed owner: %v", err)
	}
	if _, err := s.CloseEvent(ctx, deadEv.ID, winners[0], store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
}

// A failed event can be rolled back (it may have half-applied) and retried
// once at a time.
func TestRollbackAndRetryOfFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	orig, _ := s.BeginEvent(ctx, newEvent("api", 2, 4))
	if _, err := s.FinishEvent(ctx, orig.ID, store.StatusFailed, "settle timeout"); err != nil {
		t.Fatal(err)
	}
	re := newEvent("api", 3, 4)
	re.InitiatedBy, re.RetryOf = "retry", orig.ID
	r, err := s.BeginEvent(ctx, re)
	if err != nil || r.RetryOf != orig.ID || r.InitiatedBy != "retry" {
		t.Fatalf("retry = %+v, %v", r, err)
	}
	s.FinishEvent(ctx, r.ID, store.StatusCompleted, "")
	if _, err := s.BeginEvent(ctx, re); !errors.As(err, new(*store.ConflictError)) {
		t.Fatalf("second retry of the same failure: %v", err)
	}
	rb := newEvent("api", 4, 2)
	rb.Type, rb.InitiatedBy = store.EventScaleDown, "rollback"
	b, err := s.BeginRollback(ctx, orig.ID, rb)
	if err != nil {
		t.Fatalf("rollback of a failed event: %v", err)
	}
	if _, err := s.FinishEvent(ctx, b.ID, store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	if o, _ := s.GetEvent(ctx, orig.ID); o.Status != store.StatusRolledBack || o.RolledBackBy != b.ID {
		t.Fatalf("failed event after its rollback = %s by %q", o.Status, o.RolledBackBy)
	}
}

// The decision that starts an action is written with its event, in one
// transaction: a refused decision leaves no event either.
func TestEventAndItsDecisionAreOneWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	ne := newEvent("api", 2, 3)
	ne.Decision = &store.Decision{Service: "api", Outcome: "scale", Action: store.EventScaleUp, Reason: "above target"}
	ev, err := s.BeginEvent(ctx, ne)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.ListDecisions(ctx, "api", 10)
	if err != nil || len(ds) != 1 || ds[0].EventID != ev.ID {
		t.Fatalf("decisions = %+v, %v; want one linked to %s", ds, err, ev.ID)
	}
	bad := newEvent("worker", 1, 2)
	bad.Decision = &store.Decision{Service: "worker", Outcome: "not-an-outcome"}
	if _, err := s.BeginEvent(ctx, bad); err == nil {
		t.Fatal("a decision the schema refuses was accepted")
	}
	if evs, _ := s.ListEvents(ctx, store.EventFilter{Service: "worker"}); len(evs) != 0 {
		t.Fatalf("event written without its decision: %+v", evs)
	}
}
