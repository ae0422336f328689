package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// openWithConn is a store and a raw connection on one throwaway database,
// for tests that must backdate rows.
func openWithConn(t *testing.T) (*store.Store, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return s, c
}

func startOwned(t *testing.T, s *store.Store, owner string, maxDur time.Duration) store.LoadTest {
	t.Helper()
	lt, err := s.StartLoadTest(context.Background(), store.NewLoadTest{Name: "owned-by-" + owner, Type: "stress", TargetURL: "http://api",
		Owner: owner, MaxDuration: maxDur})
	if err != nil {
		t.Fatal(err)
	}
	if lt.Owner != owner || lt.MaxDuration != maxDur || lt.CancelRequestedAt != nil {
		t.Fatalf("started %+v, want owner %q and max duration %s", lt, owner, maxDur)
	}
	return lt
}

// A test starts only under a live lease (or none); the rescue ends exactly
// the tests whatever ran them has stopped — an expired owner, or no owner
// and well past the longest run — never a live owner's, and each once
// however many replicas rescue at the same time.
func TestRescueLoadTests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := openWithConn(t)
	if _, err := s.Heartbeat(ctx, "live", time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Heartbeat(ctx, "dead", 300*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartLoadTest(ctx, store.NewLoadTest{Name: "x", Type: "stress", TargetURL: "http://api", Owner: "never-leased"}); !errors.Is(err, store.ErrNoLease) {
		t.Fatalf("start under no lease: %v, want ErrNoLease", err)
	}
	live := startOwned(t, s, "live", time.Minute)
	dead := startOwned(t, s, "dead", time.Minute)
	deadCancelled := startOwned(t, s, "dead", time.Minute)
	if _, err := s.CancelLoadTest(ctx, deadCancelled.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	young := startOwned(t, s, "", time.Minute)    // wedsync-load, still within its run
	stale := startOwned(t, s, "", 10*time.Second) // wedsync-load, long gone
	legacy := startOwned(t, s, "", 0)             // before 0011: no longest run known
	legacyOld := startOwned(t, s, "", 0)          // ... and older than the legacy bound
	backdate := func(id string, by time.Duration) {
		if _, err := c.Exec(ctx, `UPDATE load_tests SET started_at = started_at - make_interval(secs => $2), created_at = created_at - make_interval(secs => $2)
			WHERE id = $1::uuid`, id, by.Seconds()); err != nil {
			t.Fatal(err)
		}
	}
	backdate(stale.ID, 10*time.Second+store.OwnerlessLoadTestGrace+time.Second)
	backdate(young.ID, store.OwnerlessLoadTestGrace) // within minute + grace
	backdate(legacy.ID, 2*time.Hour)
	backdate(legacyOld.ID, store.LegacyLoadTestMaxDuration+store.OwnerlessLoadTestGrace+time.Minute)
	time.Sleep(400 * time.Millisecond) // dead's lease expires

	// Three replicas rescue at once: every dead test ended exactly once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]store.LoadTest{}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done, err := s.RescueLoadTests(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, lt := range done {
				if _, twice := got[lt.ID]; twice {
					t.Errorf("load test %s rescued twice", lt.ID)
				}
				got[lt.ID] = lt
			}
		}()
	}
	wg.Wait()
	want := map[string]string{dead.ID: "dead", deadCancelled.ID: "dead and cancel requested", stale.ID: "stale", legacyOld.ID: "legacy, old"}
	for id, what := range want {
		if _, ok := got[id]; !ok {
			t.Errorf("%s (%s) not rescued", what, id)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s rescued, want only %v (never a live owner's (%s), a young ownerless (%s) or a legacy one within the bound (%s))",
				id, want, live.ID, young.ID, legacy.ID)
		}
	}
	if d := got[dead.ID]; d.Status != store.LoadTestFailed || d.CompletedAt == nil ||
		!strings.HasPrefix(d.FailureReason, "the autoscaler replica dead that ran it stopped (lease expired at ") {
		t.Fatalf("rescued dead owner's test: %+v", d)
	}
	if d := got[deadCancelled.ID]; d.Status != store.LoadTestCancelled || !strings.Contains(d.FailureReason, "cancel requested by ops; the autoscaler replica dead") {
		t.Fatalf("rescued test with a cancel request: status %s, reason %q; want cancelled, the reason naming both", d.Status, d.FailureReason)
	}
	if d := got[stale.ID]; d.Status != store.LoadTestFailed || !strings.Contains(d.FailureReason, "no autoscaler replica owns it") ||
		!strings.Contains(d.FailureReason, "(10s)") {
		t.Fatalf("rescued ownerless test: %+v", d)
	}
	if again, err := s.RescueLoadTests(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second rescue: %v %v, want nothing", again, err)
	}
	// The dead owner comes back too late: its result is refused, the
	// rescue's outcome stands.
	_, _, err := s.FinishLoadTest(ctx, dead.ID, store.LoadTestOutcome{Status: store.LoadTestCompleted}, nil)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.State != "failed" {
		t.Fatalf("finish after the rescue: %v", err)
	}
	if lt, _ := s.GetLoadTest(ctx, live.ID); lt.Status != store.LoadTestRunning {
		t.Fatalf("live owner's test is %s", lt.Status)
	}
}

// A cancel is recorded once for a live owner to act on; a dead owner's test
// is cancelled at once; a finished one is a conflict naming its state.
func TestCancelLoadTest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := openWithConn(t)
	if _, err := s.Heartbeat(ctx, "live", time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Heartbeat(ctx, "dead", 200*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	live := startOwned(t, s, "live", time.Minute)
	dead := startOwned(t, s, "dead", time.Minute)
	ownerless := startOwned(t, s, "", time.Minute)
	staleOwnerless := startOwned(t, s, "", time.Second)
	if _, err := c.Exec(ctx, `UPDATE load_tests SET started_at = started_at - interval '1 hour' WHERE id = $1::uuid`, staleOwnerless.ID); err != nil {
		t.Fatal(err)
	}

	first, err := s.CancelLoadTest(ctx, live.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != store.LoadTestRunning || first.CancelRequestedAt == nil || first.CancelRequestedBy != "alice" {
		t.Fatalf("cancel of a live owner's test: %+v; want still running with the request recorded", first)
	}
	second, err := s.CancelLoadTest(ctx, live.ID, "bob")
	if err != nil || !second.CancelRequestedAt.Equal(*first.CancelRequestedAt) || second.CancelRequestedBy != "alice" || second.Status != store.LoadTestRunning {
		t.Fatalf("second cancel: %+v %v; want the first request kept", second, err)
	}

	time.Sleep(300 * time.Millisecond) // dead's lease expires
	now, err := s.CancelLoadTest(ctx, dead.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if now.Status != store.LoadTestCancelled || now.CompletedAt == nil ||
		!strings.HasPrefix(now.FailureReason, "cancelled by alice; the autoscaler replica dead that ran it stopped (lease expired at ") {
		t.Fatalf("cancel of a dead owner's test: %+v", now)
	}
	var ce *store.ConflictError
	if _, err := s.CancelLoadTest(ctx, dead.ID, "alice"); !errors.As(err, &ce) || ce.State != "cancelled" {
		t.Fatalf("cancel twice after it ended: %v", err)
	}
	if _, err := s.CancelLoadTest(ctx, ownerless.ID, "alice"); !errors.Is(err, store.ErrNotOwned) {
		t.Fatalf("cancel of a running test no replica owns: %v", err)
	}
	if lt, err := s.CancelLoadTest(ctx, staleOwnerless.ID, "alice"); err != nil || lt.Status != store.LoadTestCancelled {
		t.Fatalf("cancel of a long-dead ownerless test: %+v %v", lt, err)
	}
	if _, err := s.CancelLoadTest(ctx, "00000000-0000-0000-0000-000000000000", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	// The owner's poll reads the request.
	got, err := s.LoadTestsByID(ctx, []string{live.ID, ownerless.ID, "00000000-0000-0000-0000-000000000000"})
	if err != nil || len(got) != 2 {
		t.Fatalf("by id: %v %v", got, err)
	}
	for _, lt := range got {
		if (lt.ID == live.ID) != (lt.CancelRequestedAt != nil) {
			t.Fatalf("by id: %s cancel requested at %v", lt.ID, lt.CancelRequestedAt)
		}
	}
	// The owner records the partial results as cancelled, as a local cancel does.
	if done, _, err := s.FinishLoadTest(ctx, live.ID, store.LoadTestOutcome{Status: store.LoadTestCancelled, Results: []byte(`{"partial": true}`)}, nil); err != nil ||
		done.Status != store.LoadTestCancelled || string(done.Results) != `{"partial": true}` {
		t.Fatalf("finish the cancelled test: %+v %v", done, err)
	}
}
