package loadrun_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/loadrun"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/loadtest/record"
	"github.com/wedsync/scaling/loadtest/scenario"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// replica is one autoscaler's runner, holding its own lease.
func replica(t *testing.T, st *store.Store, holder string, ttl time.Duration, rescueEvery time.Duration) *loadrun.Runner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := st.Heartbeat(ctx, holder, ttl, 0); err != nil {
		t.Fatal(err)
	}
	r, err := loadrun.New(ctx, loadrun.Config{Recorder: &record.Recorder{Store: st}, Limits: scenario.DefaultLimits, Holder: holder,
		PollInterval: 100 * time.Millisecond, RescueInterval: rescueEvery, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); r.Wait() })
	return r
}

func target(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

// longTest starts a minute-long test on r.
func longTest(t *testing.T, r *loadrun.Runner, url string) store.LoadTest {
	t.Helper()
	think := 50 * time.Millisecond
	sc, err := scenario.FromBuiltin("stress", url, scenario.Override{VUs: 2, Duration: time.Minute, RampUp: time.Second, ThinkTime: &think})
	if err != nil {
		t.Fatal(err)
	}
	lt, err := r.Start(context.Background(), sc, "test", false)
	if err != nil {
		t.Fatal(err)
	}
	if lt.Owner != r.Holder() || lt.MaxDuration < time.Minute {
		t.Fatalf("started %+v: want owner %s and the longest run recorded", lt, r.Holder())
	}
	return lt
}

// waitFinal polls the row until it leaves running, for at most d.
func waitFinal(t *testing.T, st *store.Store, id string, d time.Duration) (store.LoadTest, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		lt, err := st.GetLoadTest(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if lt.Status != store.LoadTestRunning || time.Since(start) > d {
			return lt, time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A cancel recorded by another replica stops the run within seconds; its
// partial results are recorded as cancelled, exactly as a local cancel.
func TestCancelFromAnotherReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	url := target(t)
	a := replica(t, st, "replica-a", time.Minute, -1)
	b := replica(t, st, "replica-b", time.Minute, -1)
	lt := longTest(t, a, url)
	time.Sleep(1500 * time.Millisecond) // some requests to keep

	// What the API on b does: b does not run it, so the request goes on the row.
	if b.Cancel(lt.ID) {
		t.Fatal("b cancelled a test it does not run")
	}
	req, err := st.CancelLoadTest(ctx, lt.ID, "alice")
	if err != nil || req.Status != store.LoadTestRunning || req.CancelRequestedAt == nil {
		t.Fatalf("cancel request: %+v %v", req, err)
	}
	if _, err := st.CancelLoadTest(ctx, lt.ID, "alice"); err != nil { // sent twice
		t.Fatal(err)
	}
	got, took := waitFinal(t, st, lt.ID, 10*time.Second)
	if got.Status != store.LoadTestCancelled || len(got.Results) == 0 || !strings.Contains(string(got.Results), `"requests"`) {
		t.Fatalf("after %s: %s with results %.200s; want cancelled with the partial results", took, got.Status, got.Results)
	}
	if took > 5*time.Second {
		t.Fatalf("cancelled after %s, want within a few seconds", took)
	}
	t.Logf("cancelled %s after the request", took.Round(10*time.Millisecond))
	if _, ok := a.Progress(lt.ID); ok {
		t.Fatal("a still runs the cancelled test")
	}
}

// A replica whose lease expired has its running test rescued as failed by
// another, the reason naming it; a test under a live lease is never
// rescued; the lapsed replica stops its run and cannot overwrite the rescue.
func TestRescueOfAReplicaWhoseLeaseExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	url := target(t)
	// b takes a one-second lease and never renews it; it never rescues, so
	// whatever ends its test is a.
	b := replica(t, st, "replica-b", time.Second, -1)
	lost := longTest(t, b, url)
	a := replica(t, st, "replica-a", time.Minute, 200*time.Millisecond)
	kept := longTest(t, a, url)

	got, took := waitFinal(t, st, lost.ID, 15*time.Second)
	if got.Status != store.LoadTestFailed || !strings.HasPrefix(got.FailureReason, "the autoscaler replica replica-b that ran it stopped (lease expired at ") {
		t.Fatalf("after %s: %s %q; want failed naming replica-b", took, got.Status, got.FailureReason)
	}
	// b's poll sees the row ended and stops its run; its result is refused.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := b.Progress(lost.ID); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b still runs a test that was rescued")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after, _ := st.GetLoadTest(ctx, lost.ID); after.Status != store.LoadTestFailed || after.FailureReason != got.FailureReason {
		t.Fatalf("the lapsed replica overwrote the rescue: %s %q", after.Status, after.FailureReason)
	}
	// Several rescue passes later a's own test still runs.
	time.Sleep(time.Second)
	if lt, _ := st.GetLoadTest(ctx, kept.ID); lt.Status != store.LoadTestRunning {
		t.Fatalf("a test under a live lease was ended: %s %q", lt.Status, lt.FailureReason)
	}
	if done, err := a.Rescue(ctx); err != nil || len(done) != 0 {
		t.Fatalf("rescue with only live leases: %v %v", done, err)
	}
	if !a.Cancel(kept.ID) {
		t.Fatal("a does not run its own test")
	}
}
