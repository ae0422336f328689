package scaler_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// fakeLease is a replica's lease whose validity the test sets; the
// database row is heartbeated by the test.
type fakeLease struct {
	name  string
	valid bool
}

func (l *fakeLease) Holder() string { return l.name }
func (l *fakeLease) Valid() bool    { return l.valid }

func replica(t *testing.T, st *store.Store, name string, act actuator.Actuator, actuatorTimeout time.Duration) (*scaler.Scaler, *prometheus.Registry) {
	t.Helper()
	if _, err := st.Heartbeat(context.Background(), name, time.Hour, actuatorTimeout); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse([]byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	obs := &fixedObserver{}
	obs.set(0.6, "")
	reg := prometheus.NewRegistry()
	sc, err := scaler.New(scaler.Config{Policy: p, Store: st, Observer: obs, Actuators: map[string]actuator.Actuator{"api": act},
		Lease: &fakeLease{name: name, valid: true}, ActuatorTimeout: actuatorTimeout, Metrics: scaler.NewMetrics(reg),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SettlePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return sc, reg
}

// An event whose owner is alive is never touched by another replica; once
// the owner's lease expired, nobody re-applies it until the owner's
// actuator calls must have ended; then exactly one replica takes it over.
func TestOrphanTakeover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	neutralPhase(t, st)
	act := &memActuator{ready: actuator.State{Replicas: 2}}
	const timeout = 400 * time.Millisecond
	b, _ := replica(t, st, "b", act, timeout)
	c, _ := replica(t, st, "c", act, timeout)

	// Replica a starts an action, then dies before its actuator call shows.
	if _, err := st.Heartbeat(ctx, "a", 300*time.Millisecond, timeout); err != nil {
		t.Fatal(err)
	}
	ev, err := st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "high_cpu_usage",
		Before: []byte(`{"replicas":2}`), After: []byte(`{"replicas":4}`), InitiatedBy: "autoscaler", Owner: "a"})
	if err != nil {
		t.Fatal(err)
	}
	still := func(when string) {
		t.Helper()
		b.Reconcile(ctx, true)
		c.Reconcile(ctx, true)
		b.Wait()
		c.Wait()
		got, _ := st.GetEvent(ctx, ev.ID)
		if got.Status != store.StatusInProgress || got.Owner != "a" || len(act.applied()) != 0 {
			t.Fatalf("%s: event %s owned by %q, applies %v; want untouched", when, got.Status, got.Owner, act.applied())
		}
	}
	still("owner alive")
	time.Sleep(350 * time.Millisecond)
	still("owner's lease expired, its actuator call may still run")
	time.Sleep(timeout)

	var wg sync.WaitGroup
	for _, r := range []*scaler.Scaler{b, c} {
		wg.Add(1)
		go func() { defer wg.Done(); r.Reconcile(ctx, false) }()
	}
	wg.Wait()
	b.Wait()
	c.Wait()
	got, _ := st.GetEvent(ctx, ev.ID)
	if got.Status != store.StatusCompleted || (got.Owner != "b" && got.Owner != "c") {
		t.Fatalf("after takeover: %s owned by %q (%s)", got.Status, got.Owner, got.ErrorMessage)
	}
	if n := len(act.applied()); n != 1 {
		t.Fatalf("the orphaned action was applied %d times, want once", n)
	}
}

// PostgreSQL down while an action settles: its outcome is recorded as soon
// as the database is back, and the service unblocks with it.
func TestCloseSurvivesADatabaseBlip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, pg := storetest.NewDurable(t)
	neutralPhase(t, st)
	act := &memActuator{ready: actuator.State{Replicas: 2}, delay: 300 * time.Millisecond}
	sc, reg := replica(t, st, "b", act, time.Second)
	target := actuator.State{Replicas: 3}
	ev, err := sc.Trigger(ctx, "api", scaler.Trigger{Target: &target, User: "ops", Reason: "blip test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the action settles while the database is down
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	deadline := back.Add(30 * time.Second)
	for {
		got, err := st.GetEvent(ctx, ev.ID)
		if err == nil && got.Status == store.StatusCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("event still %s (%v) 30 s after the database came back", got.Status, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The closing loop's longest pause is 1 s: well inside the 5 s.
	if took := time.Since(back); took > 5*time.Second {
		t.Fatalf("closed %s after the database came back, want within 5 s", took)
	}
	sc.Wait()
	if n := testutil.ToFloat64(mustGauge(t, reg, "wedsync_autoscaler_event_close_retries_total")); n < 1 {
		t.Fatalf("close retries = %v, want at least one", n)
	}
	// Unblocked: the next action starts.
	target = actuator.State{Replicas: 2}
	if _, err := sc.Trigger(ctx, "api", scaler.Trigger{Target: &target, User: "ops"}); err != nil {
		t.Fatalf("next action after the blip: %v", err)
	}
	sc.Wait()
}

// failingReads is an actuator whose reads fail until told otherwise.
type failingReads struct {
	memActuator
	mu   sync.Mutex
	fail bool
}

func (f *failingReads) Current(ctx context.Context) (actuator.State, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return actuator.State{}, errors.New("GET /replicas: 500 Internal Server Error")
	}
	return f.memActuator.Current(ctx)
}

// A failed read is a no_state decision, counted, with the gauge the alert
// watches set while it lasts — not only a log line.
func TestActuatorReadErrorIsRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	neutralPhase(t, st)
	act := &failingReads{memActuator: memActuator{ready: actuator.State{Replicas: 2}}, fail: true}
	sc, reg := replica(t, st, "b", act, time.Second)
	for range 3 {
		if res := sc.Evaluate(ctx, "api", time.Time{}); res.Output.Outcome != decision.NoState || res.Err == nil {
			t.Fatalf("outcome = %s, err %v; want no_state", res.Output.Outcome, res.Err)
		}
	}
	ds, err := st.ListDecisions(ctx, "api", 10)
	if err != nil || len(ds) != 1 || ds[0].Outcome != "no_state" || !strings.Contains(ds[0].Reason, "500") {
		t.Fatalf("decisions = %+v, %v; want one no_state row (recorded when the conclusion changes)", ds, err)
	}
	if v := testutil.ToFloat64(mustGauge(t, reg, "wedsync_autoscaler_actuator_state_unknown")); v != 1 {
		t.Fatalf("state_unknown = %v, want 1", v)
	}
	if v := testutil.ToFloat64(mustGauge(t, reg, "wedsync_autoscaler_actuator_read_errors_total")); v != 3 {
		t.Fatalf("read errors = %v, want 3", v)
	}
	act.mu.Lock()
	act.fail = false
	act.mu.Unlock()
	sc.Evaluate(ctx, "api", time.Time{})
	if v := testutil.ToFloat64(mustGauge(t, reg, "wedsync_autoscaler_actuator_state_unknown")); v != 0 {
		t.Fatalf("state_unknown after a good read = %v, want 0", v)
	}
}

// A failed, half-applied action is retried from the service's real state,
// as a new event that names what it retries; a second retry is refused.
func TestRetryOfAFailedEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	neutralPhase(t, st)
	act := &memActuator{ready: actuator.State{Replicas: 3}} // half-way from 2 to 4
	sc, _ := replica(t, st, "b", act, time.Second)
	failed, err := st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "high_cpu_usage",
		Before: []byte(`{"replicas":2}`), After: []byte(`{"replicas":4}`), InitiatedBy: "autoscaler", Owner: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishEvent(ctx, failed.ID, store.StatusFailed, "not settled after 2s"); err != nil {
		t.Fatal(err)
	}
	plan, err := sc.Retry(ctx, failed.ID, "ops", true)
	if err != nil || plan.ID != "" || !jsonEq(plan.Before, `{"replicas":3}`) || !jsonEq(plan.After, `{"replicas":4}`) {
		t.Fatalf("dry run = %+v, %v", plan, err)
	}
	if len(act.applied()) != 0 {
		t.Fatal("dry run acted")
	}
	ev, err := sc.Retry(ctx, failed.ID, "ops", false)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != store.StatusCompleted || ev.RetryOf != failed.ID || ev.InitiatedBy != "retry" || ev.InitiatedUserID != "ops" ||
		!jsonEq(ev.Before, `{"replicas":3}`) || !jsonEq(ev.After, `{"replicas":4}`) {
		t.Fatalf("retry = %+v", ev)
	}
	if cur, _ := act.Current(ctx); cur.Replicas != 4 {
		t.Fatalf("service at %v after the retry", cur)
	}
	var ce *store.ConflictError
	if _, err := sc.Retry(ctx, failed.ID, "ops", false); !errors.As(err, &ce) {
		t.Fatalf("second retry: %v, want a conflict", err)
	}
	if _, err := sc.Retry(ctx, ev.ID, "ops", false); !errors.As(err, &ce) || ce.State != "completed" {
		t.Fatalf("retry of a completed event: %v", err)
	}
	// Rolling the failed event back undoes it from where the service is.
	rb, err := sc.Rollback(ctx, failed.ID, "ops", false)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Status != store.StatusCompleted || !jsonEq(rb.Before, `{"replicas":4}`) || !jsonEq(rb.After, `{"replicas":2}`) {
		t.Fatalf("rollback of the failed event = %+v", rb)
	}
	if o, _ := st.GetEvent(ctx, failed.ID); o.Status != store.StatusRolledBack {
		t.Fatalf("failed event after its rollback: %s", o.Status)
	}
}

// A transition interrupted by a crash is resumed by the next start, step
// by step: what was done is not done again, the rest runs, the phase
// switches — it is not failed as "no longer in the policy file".
func TestTransitionResumesAfterRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPhaseEnv(t)
	plan, _, err := e.sc.Transition(ctx, e.growth, "ops", true)
	if err != nil {
		t.Fatal(err)
	}
	// The crashed run had scaled the api out (its first step) and nothing else.
	if err := e.api.memActuator.Apply(ctx, actuator.State{Replicas: 4}); err != nil {
		t.Fatal(err)
	}
	ev, err := e.st.BeginEvent(ctx, store.NewEvent{Type: plan.Type, Service: plan.Service, TriggerReason: plan.TriggerReason,
		TriggerMetrics: plan.TriggerMetrics, Before: plan.Before, After: plan.After, InitiatedBy: plan.InitiatedBy})
	if err != nil {
		t.Fatal(err)
	}
	e.sc.Reconcile(ctx, true)
	e.sc.Wait()
	got, _ := e.st.GetEvent(ctx, ev.ID)
	if got.Status != store.StatusCompleted {
		t.Fatalf("resumed transition: %s (%s)", got.Status, got.ErrorMessage)
	}
	want := []string{"database→tier ci_medium in startup", "queue→2 replicas in growth"}
	if len(e.j.entries) != 2 || e.j.entries[0] != want[0] || e.j.entries[1] != want[1] {
		t.Fatalf("resumed actions = %v, want %v (the api step was done)", e.j.entries, want)
	}
	if ph, _ := e.st.ActivePhase(ctx); ph.Name != "growth" {
		t.Fatalf("active phase %s", ph.Name)
	}
}

// renewingAlerter records what the loop asks to keep firing.
type renewingAlerter struct {
	recordingAlerter
	mu     sync.Mutex
	renews [][]string
}

func (r *renewingAlerter) RenewFailures(_ context.Context, active []store.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, e := range active {
		ids = append(ids, e.ID)
	}
	r.renews = append(r.renews, ids)
	return nil
}

func (r *renewingAlerter) last() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.renews) == 0 {
		return nil, 0
	}
	return r.renews[len(r.renews)-1], len(r.renews)
}

// The loop keeps a standing failure alerted, from the event log, and stops
// once a later action of the service ends it.
func TestFailuresRenewedWhileTheyStand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storetest.New(t)
	neutralPhase(t, st)
	failed, _ := st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "high_cpu_usage",
		Before: []byte(`{"replicas":2}`), After: []byte(`{"replicas":4}`), InitiatedBy: "autoscaler"})
	if _, err := st.FinishEvent(ctx, failed.ID, store.StatusFailed, "not settled"); err != nil {
		t.Fatal(err)
	}
	p, _ := policy.Parse([]byte(pol))
	obs := &fixedObserver{}
	obs.set(0.6, "")
	al := &renewingAlerter{}
	sc, err := scaler.New(scaler.Config{Policy: p, Store: st, Observer: obs, Alerter: al, RenewFailures: 50 * time.Millisecond,
		Actuators: map[string]actuator.Actuator{"api": &memActuator{ready: actuator.State{Replicas: 4}}},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)), SettlePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go sc.Run(ctx)
	waitUntil := func(what string, ok func([]string, int) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok(al.last()) {
			if time.Now().After(deadline) {
				ids, n := al.last()
				t.Fatalf("%s: after %d renewals the last listed %v", what, n, ids)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitUntil("the failure renewed", func(ids []string, n int) bool { return n >= 3 && len(ids) == 1 && ids[0] == failed.ID })
	if _, err := sc.Retry(ctx, failed.ID, "ops", false); err != nil {
		t.Fatal(err)
	}
	waitUntil("the failure ended by its retry", func(ids []string, n int) bool { return len(ids) == 0 })
}
