package scaler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// The alert-driven tests run the service under alerts_only control; the
// level-triggered loop has its own (level_test.go).
const pol = `
sync_period: 1s
services:
  api:
    control: alerts_only
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 10
    price_per_replica_monthly: 36.50
    settle_timeout: 2s
    metrics:
      - {name: cpu, query: 'max(service:cpu_utilization:ratio{service="api"})', target: 0.6}
    scale_up: {cooldown: 0s}
    scale_down: {stabilization_window: 0s, cooldown: 0s}
`

// memActuator is an in-memory service: Apply sets desired, and ready
// follows after delay (like a Deployment), unless it is told to fail or to
// never apply.
type memActuator struct {
	mu       sync.Mutex
	ready    actuator.State
	applies  []actuator.State
	delay    time.Duration
	failWith error
	ignore   bool // accept Apply but never change (a stuck rollout)
}

func (m *memActuator) Current(context.Context) (actuator.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ready, nil
}

func (m *memActuator) Apply(_ context.Context, s actuator.State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.applies = append(m.applies, s)
	if m.failWith != nil {
		return m.failWith
	}
	if m.ignore {
		return nil
	}
	if m.delay == 0 {
		m.ready = s
		return nil
	}
	time.AfterFunc(m.delay, func() { m.mu.Lock(); m.ready = s; m.mu.Unlock() })
	return nil
}

func (m *memActuator) applied() []actuator.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]actuator.State(nil), m.applies...)
}

// fixedObserver returns set values: the observer's own behaviour against a
// real Prometheus is tested in package observe.
type fixedObserver struct {
	mu  sync.Mutex
	obs []decision.Observation
}

func (f *fixedObserver) set(cpu float64, problem string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.obs = []decision.Observation{{Name: "cpu", Value: cpu, Target: 0.6, Problem: problem, At: time.Now()}}
}

func (f *fixedObserver) Observe(context.Context, *policy.Service) []decision.Observation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]decision.Observation(nil), f.obs...)
}

type recordingAlerter struct {
	mu       sync.Mutex
	events   []store.Event
	ceilings []store.Event
}

func (r *recordingAlerter) OverCostCeiling(_ context.Context, e store.Event, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ceilings = append(r.ceilings, e)
	return nil
}

func (r *recordingAlerter) ActionFailed(_ context.Context, e store.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

type env struct {
	st      *store.Store
	act     *memActuator
	obs     *fixedObserver
	alerter *recordingAlerter
	reg     *prometheus.Registry
	sc      *scaler.Scaler
	pol     *policy.File
}

func newEnv(t *testing.T, st *store.Store, replicas int, dryRun bool) *env {
	t.Helper()
	neutralPhase(t, st)
	p, err := policy.Parse([]byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, act: &memActuator{ready: actuator.State{Replicas: replicas}}, obs: &fixedObserver{},
		alerter: &recordingAlerter{}, reg: prometheus.NewRegistry(), pol: p}
	e.sc, err = scaler.New(scaler.Config{Policy: p, Store: st, Observer: e.obs, Actuators: map[string]actuator.Actuator{"api": e.act},
		Alerter: e.alerter, DryRun: dryRun, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: scaler.NewMetrics(e.reg), SettlePoll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var alertSeq atomic.Int64

func fire(t *testing.T, st *store.Store, action store.EventType, status string) {
	t.Helper()
	a := store.Alert{Fingerprint: "fp-" + string(action), StartsAt: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), Alertname: "ServiceCPUHigh",
		Service: "api", Action: action, Reason: "high_cpu_usage", Status: status,
		Labels: map[string]string{"alertname": "ServiceCPUHigh"}, Annotations: map[string]string{"value": "0.95"}}
	if _, err := st.RecordNotification(context.Background(), store.Notification{DedupKey: fmt.Sprint("k", alertSeq.Add(1), t.Name()), Receiver: "r",
		GroupKey: "g", Status: status, Payload: []byte(`{}`), Alerts: []store.Alert{a}}); err != nil {
		t.Fatal(err)
	}
}

func events(t *testing.T, st *store.Store) []store.Event {
	t.Helper()
	evs, err := st.ListEvents(context.Background(), store.EventFilter{Service: "api"})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestScaleUpIsLoggedBeforeAndAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, storetest.New(t), 2, false)
	e.obs.set(0.9, "")
	fire(t, e.st, store.EventScaleUp, "firing")
	res := e.sc.Evaluate(ctx, "api", time.Now())
	if res.Output.Outcome != decision.Scale || res.Event == nil {
		t.Fatalf("evaluate = %+v", res)
	}
	// Logged before acting, with its inputs.
	if res.Event.Status != store.StatusInProgress || !jsonEq(res.Event.Before, `{"replicas":2}`) || !jsonEq(res.Event.After, `{"replicas":3}`) {
		t.Fatalf("event at start = %+v", res.Event)
	}
	if got := res.Event.CostImpactMonthly.Decimal.StringFixed(2); got != "36.50" {
		t.Fatalf("cost impact = %s, want 36.50", got)
	}
	if res.Event.TriggerReason != "high_cpu_usage" || len(res.Event.TriggerMetrics) < 20 {
		t.Fatalf("trigger = %q %s", res.Event.TriggerReason, res.Event.TriggerMetrics)
	}
	e.sc.Wait()
	evs := events(t, e.st)
	if len(evs) != 1 || evs[0].Status != store.StatusCompleted {
		t.Fatalf("events = %+v", evs)
	}
	// A re-delivered notification evaluates the new state: nothing more.
	e.obs.set(0.62, "")
	res = e.sc.Evaluate(ctx, "api", time.Now())
	if res.Output.Outcome != decision.WithinTolerance || res.Event != nil {
		t.Fatalf("second evaluation = %+v", res.Output)
	}
	if n := len(e.act.applied()); n != 1 {
		t.Fatalf("actuator called %d times, want 1", n)
	}
	ds, _ := e.st.ListDecisions(ctx, "api", 10)
	if len(ds) != 2 || ds[1].Outcome != "scale" || ds[1].EventID != evs[0].ID || ds[0].Outcome != "within_tolerance" {
		t.Fatalf("decisions = %+v", ds)
	}
	if v := testutil.ToFloat64(mustGauge(t, e.reg, "wedsync_autoscaler_replicas")); v != 3 {
		t.Fatalf("replicas gauge = %v", v)
	}
}

func TestNoAlertNoDecision(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.New(t), 2, false)
	e.obs.set(0.95, "")
	res := e.sc.Evaluate(context.Background(), "api", time.Time{})
	if res.Action != "" || res.Event != nil {
		t.Fatalf("acted without an alert: %+v", res)
	}
	if ds, _ := e.st.ListDecisions(context.Background(), "api", 10); len(ds) != 0 {
		t.Fatalf("decisions recorded without an alert: %+v", ds)
	}
	// ... but the recommendation is tracked for dashboards and stabilization.
	if v := testutil.ToFloat64(mustGauge(t, e.reg, "wedsync_autoscaler_desired_replicas")); v != 4 {
		t.Fatalf("desired gauge = %v, want 4", v)
	}
}

func TestNoDataHoldsAndIsRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, storetest.New(t), 6, false)
	e.obs.set(0, "no_data")
	fire(t, e.st, store.EventScaleDown, "firing")
	res := e.sc.Evaluate(ctx, "api", time.Now())
	if res.Output.Outcome != decision.NoData || res.Event != nil || len(e.act.applied()) != 0 {
		t.Fatalf("evaluate = %+v", res.Output)
	}
	ds, _ := e.st.ListDecisions(ctx, "api", 10)
	if len(ds) != 1 || ds[0].Outcome != "no_data" {
		t.Fatalf("decisions = %+v", ds)
	}
}

func TestFailedActionIsLoggedAndAlerted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.New(t), 2, false)
	e.act.failWith = errors.New("PUT http://fleet/admin/replicas: 500 Internal Server Error")
	e.obs.set(0.9, "")
	fire(t, e.st, store.EventScaleUp, "firing")
	e.sc.Evaluate(context.Background(), "api", time.Now())
	e.sc.Wait()
	evs := events(t, e.st)
	if len(evs) != 1 || evs[0].Status != store.StatusFailed || evs[0].ErrorMessage != e.act.failWith.Error() {
		t.Fatalf("events = %+v", evs)
	}
	if len(e.alerter.events) != 1 || e.alerter.events[0].ID != evs[0].ID {
		t.Fatalf("alerts raised = %+v", e.alerter.events)
	}
}

func TestStuckActionFailsAfterSettleTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.New(t), 2, false)
	e.act.ignore = true
	e.obs.set(0.9, "")
	fire(t, e.st, store.EventScaleUp, "firing")
	e.sc.Evaluate(context.Background(), "api", time.Now())
	e.sc.Wait()
	evs := events(t, e.st)
	if len(evs) != 1 || evs[0].Status != store.StatusFailed || evs[0].ErrorMessage != "not settled after 2s: actuator reads 2 replicas, want 3 replicas" {
		t.Fatalf("events = %+v", evs)
	}
}

// Two autoscaler replicas sharing a database, both woken by the same
// notification: exactly one action.
func TestTwoReplicasActOnce(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	a, b := newEnv(t, st, 2, false), newEnv(t, st, 2, false)
	b.act = a.act // one real service behind both
	b.sc, _ = scaler.New(scaler.Config{Policy: b.pol, Store: st, Observer: a.obs, Actuators: map[string]actuator.Actuator{"api": a.act},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SettlePoll: 20 * time.Millisecond})
	a.act.delay = 300 * time.Millisecond
	a.obs.set(0.9, "")
	fire(t, st, store.EventScaleUp, "firing")
	var wg sync.WaitGroup
	for _, sc := range []*scaler.Scaler{a.sc, b.sc} {
		wg.Add(1)
		go func() { defer wg.Done(); sc.Evaluate(context.Background(), "api", time.Now()) }()
	}
	wg.Wait()
	a.sc.Wait()
	b.sc.Wait()
	if evs := events(t, st); len(evs) != 1 || evs[0].Status != store.StatusCompleted {
		t.Fatalf("events = %+v", evs)
	}
	if n := len(a.act.applied()); n != 1 {
		t.Fatalf("actuator applied %d times", n)
	}
}

func TestDryRunNeverActs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.New(t), 2, true)
	e.obs.set(0.9, "")
	fire(t, e.st, store.EventScaleUp, "firing")
	res := e.sc.Evaluate(context.Background(), "api", time.Now())
	if res.Output.Outcome != decision.DryRun || len(e.act.applied()) != 0 || len(events(t, e.st)) != 0 {
		t.Fatalf("dry run acted: %+v", res.Output)
	}
	ds, _ := e.st.ListDecisions(context.Background(), "api", 10)
	if len(ds) != 1 || ds[0].Outcome != "dry_run" || !jsonEq(ds[0].Desired, `{"replicas":3}`) {
		t.Fatalf("decisions = %+v", ds)
	}
}

func TestResolvedAlertStopsAction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.New(t), 2, false)
	e.obs.set(0.9, "")
	fire(t, e.st, store.EventScaleUp, "firing")
	fire(t, e.st, store.EventScaleUp, "resolved")
	if res := e.sc.Evaluate(context.Background(), "api", time.Now()); res.Action != "" || res.Event != nil {
		t.Fatalf("acted on a resolved alert: %+v", res)
	}
}

// After a crash, in_progress events are settled against the real state:
// done → completed; not done → applied again (once); changed by someone
// else → failed.
func TestReconcileAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name       string
		actual     int
		wantStatus store.EventStatus
		wantApply  int
	}{
		{"action had taken effect", 4, store.StatusCompleted, 0},
		{"action had not taken effect", 2, store.StatusCompleted, 1},
		{"changed outside", 7, store.StatusFailed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := storetest.New(t)
			ev, err := st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "high_cpu_usage",
				Before: []byte(`{"replicas":2}`), After: []byte(`{"replicas":4}`), InitiatedBy: "autoscaler"})
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, st, tc.actual, false)
			e.sc.Reconcile(ctx, true)
			e.sc.Wait()
			got, _ := st.GetEvent(ctx, ev.ID)
			if got.Status != tc.wantStatus || len(e.act.applied()) != tc.wantApply {
				t.Fatalf("event %s (%s), applies %v", got.Status, got.ErrorMessage, e.act.applied())
			}
			if len(events(t, st)) != 1 {
				t.Fatal("reconcile created events")
			}
		})
	}
}

func TestRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, storetest.New(t), 2, false)
	e.obs.set(0.9, "")
	fire(t, e.st, store.EventScaleUp, "firing")
	orig := e.sc.Evaluate(ctx, "api", time.Now()).Event
	e.sc.Wait()

	plan, err := e.sc.Rollback(ctx, orig.ID, "ops@wedsync", true)
	if err != nil || !jsonEq(plan.After, `{"replicas":2}`) || plan.Type != store.EventScaleDown || plan.ID != "" {
		t.Fatalf("dry-run plan = %+v, %v", plan, err)
	}
	if len(events(t, e.st)) != 1 {
		t.Fatal("dry-run rollback wrote an event")
	}
	rb, err := e.sc.Rollback(ctx, orig.ID, "ops@wedsync", false)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Status != store.StatusCompleted || rb.RollbackOf != orig.ID || rb.InitiatedUserID != "ops@wedsync" || rb.CostImpactMonthly.Decimal.StringFixed(2) != "-36.50" {
		t.Fatalf("rollback event = %+v", rb)
	}
	if cur, _ := e.act.Current(ctx); cur.Replicas != 2 {
		t.Fatalf("after rollback: %v", cur)
	}
	o, _ := e.st.GetEvent(ctx, orig.ID)
	if o.Status != store.StatusRolledBack || o.RolledBackBy != rb.ID {
		t.Fatalf("original = %+v", o)
	}
	_, err = e.sc.Rollback(ctx, orig.ID, "ops@wedsync", false)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.State != "rolled_back" {
		t.Fatalf("second rollback: %v", err)
	}
	if _, err := e.sc.Rollback(ctx, "00000000-0000-0000-0000-000000000000", "ops", false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown event: %v", err)
	}
}

func mustGauge(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				g.Set(c.GetValue())
			} else {
				g.Set(m.GetGauge().GetValue())
			}
			return g
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

func jsonEq(got []byte, want string) bool {
	var a, b any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}

// A scale-up alert that lingers (Alertmanager resolves alerts of a
// restarted Prometheus only minutes later) does not block a scale-down
// that a firing scale-down alert and the metrics agree on.
func TestLingeringScaleUpAlertDoesNotBlockScaleDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.New(t), 6, false)
	e.obs.set(0.1, "")
	fire(t, e.st, store.EventScaleUp, "firing")
	fire(t, e.st, store.EventScaleDown, "firing")
	res := e.sc.Evaluate(context.Background(), "api", time.Now())
	if res.Action != store.EventScaleDown || res.Output.Outcome != decision.Scale || res.Output.Target != 3 {
		t.Fatalf("evaluate = %s %+v", res.Action, res.Output)
	}
	e.sc.Wait()
	// And with high metrics, the scale-up wins over the scale-down alert.
	e2 := newEnv(t, storetest.New(t), 3, false)
	e2.obs.set(0.9, "")
	fire(t, e2.st, store.EventScaleUp, "firing")
	fire(t, e2.st, store.EventScaleDown, "firing")
	if res := e2.sc.Evaluate(context.Background(), "api", time.Now()); res.Action != store.EventScaleUp || res.Output.Target != 5 {
		t.Fatalf("evaluate = %s %+v", res.Action, res.Output)
	}
	e2.sc.Wait()
}

// neutralPhase empties the active growth phase's scaling configuration, so
// that the policy's bounds alone apply (phase bounds have their own tests).
func neutralPhase(t *testing.T, st *store.Store) {
	t.Helper()
	ph, err := st.ActivePhase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdatePhase(context.Background(), ph.ID, store.PhaseUpdate{ScalingConfig: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
}

// Past a cost ceiling only for an SLO: the event says so and people hear of it.
func TestSLOWinsOverCostCeiling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	neutralPhase(t, st)
	p, err := policy.Parse([]byte(strings.Replace(pol, "price_per_replica_monthly: 36.50", "price_per_replica_monthly: 36.50\n    monthly_cost_ceiling: 80", 1)))
	if err != nil {
		t.Fatal(err)
	}
	act := &memActuator{ready: actuator.State{Replicas: 2}}
	obs := &fixedObserver{}
	obs.set(0.9, "")
	al := &recordingAlerter{}
	sc, _ := scaler.New(scaler.Config{Policy: p, Store: st, Observer: obs, Actuators: map[string]actuator.Actuator{"api": act},
		Alerter: al, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SettlePoll: 10 * time.Millisecond})
	// A CPU alert alone: 2 replicas cost 73.00, 3 would cost 109.50 > 80.
	fire(t, st, store.EventScaleUp, "firing")
	if res := sc.Evaluate(ctx, "api", time.Now()); res.Output.Outcome != decision.CostCeiling {
		t.Fatalf("cpu alert at the ceiling: %+v", res.Output)
	}
	// A latency alert joins: the SLO wins.
	a := store.Alert{Fingerprint: "lat", StartsAt: time.Now(), Alertname: "APILatencyP95High", Service: "api", Action: store.EventScaleUp,
		Reason: "response_time_degradation", Status: "firing", Labels: map[string]string{}, Annotations: map[string]string{}}
	if _, err := st.RecordNotification(ctx, store.Notification{DedupKey: "lat", Receiver: "r", GroupKey: "g", Status: "firing", Payload: []byte(`{}`), Alerts: []store.Alert{a}}); err != nil {
		t.Fatal(err)
	}
	res := sc.Evaluate(ctx, "api", time.Now())
	sc.Wait()
	if res.Event == nil || !res.Output.OverCeiling || !strings.Contains(res.Event.TriggerReason, "over the monthly cost ceiling") {
		t.Fatalf("latency alert: %+v %+v", res.Output, res.Event)
	}
	time.Sleep(50 * time.Millisecond) // the alert is raised in the background
	al.mu.Lock()
	defer al.mu.Unlock()
	if len(al.ceilings) != 1 || al.ceilings[0].ID != res.Event.ID {
		t.Fatalf("over-ceiling alerts: %+v", al.ceilings)
	}
}

// A scale-up that would push a budget's projected month-end past its limit
// holds, unless an SLO is breached; then it goes ahead, says so, and alerts.
func TestBudgetAwareScaleUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	neutralPhase(t, st)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	// api is billed by Vercel, which costs a steady ~10–60 a day
	// (synthetic), for 200 days; the budget is written in what we pay for.
	if err := st.SeedSyntheticCosts(ctx, []string{"vercel"}, []string{"Function Duration"}, today.AddDate(0, 0, -200), today); err != nil {
		t.Fatal(err)
	}
	// A budget just above the projected month: any sizable scale-up passes it.
	days, _ := st.DailyCosts(ctx, store.CostFilter{Service: "vercel"}, today.AddDate(0, 0, -30), today.AddDate(0, 0, -1))
	daily := days[len(days)-1].Amount
	limit := daily.Mul(decimal.NewFromInt(31)).Add(decimal.NewFromInt(5)).Round(2) // a limit is exact to the cent
	if _, err := st.CreateBudget(ctx, store.Budget{Name: "api-monthly", Service: "vercel", Limit: limit}, "test"); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse([]byte(strings.Replace(pol, "price_per_replica_monthly: 36.50", "price_per_replica_monthly: 3650\n    billing: [{service: vercel}]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	act := &memActuator{ready: actuator.State{Replicas: 2}}
	obs := &fixedObserver{}
	obs.set(0.9, "")
	al := &recordingAlerter{}
	sc, _ := scaler.New(scaler.Config{Policy: p, Store: st, Budgets: st, Observer: obs, Actuators: map[string]actuator.Actuator{"api": act},
		Alerter: al, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SettlePoll: 10 * time.Millisecond})
	fire(t, st, store.EventScaleUp, "firing")
	res := sc.Evaluate(ctx, "api", time.Now())
	if res.Output.Outcome != decision.CostCeiling || !strings.Contains(res.Output.Reason, "api-monthly") || len(act.applied()) != 0 {
		t.Fatalf("cpu alert past the budget: %+v", res.Output)
	}
	a := store.Alert{Fingerprint: "lat", StartsAt: time.Now(), Alertname: "APILatencyP95High", Service: "api", Action: store.EventScaleUp,
		Reason: "response_time_degradation", Status: "firing", Labels: map[string]string{}, Annotations: map[string]string{}}
	st.RecordNotification(ctx, store.Notification{DedupKey: "lat", Receiver: "r", GroupKey: "g", Status: "firing", Payload: []byte(`{}`), Alerts: []store.Alert{a}})
	res = sc.Evaluate(ctx, "api", time.Now())
	sc.Wait()
	if res.Event == nil || !strings.Contains(res.Event.TriggerReason, "over budget: SLO breached") {
		t.Fatalf("latency alert: %+v %+v", res.Output, res.Event)
	}
	time.Sleep(50 * time.Millisecond)
	al.mu.Lock()
	defer al.mu.Unlock()
	if len(al.ceilings) != 1 {
		t.Fatalf("alerts: %d", len(al.ceilings))
	}
}
