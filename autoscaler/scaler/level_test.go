package scaler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/wedsync/scaling/autoscaler/predict"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// levelPol tracks cpu and a request rate continuously; extra is appended
// under the service.
func levelPol(extra string) string {
	return `
sync_period: 1s
services:
  api:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 20
    settle_timeout: 2s
    metric_window: 1s
    metrics:
      - {name: cpu, query: 'service:cpu_utilization:ratio{service="api"}', target: 0.6}
      - {name: load, type: load, query: 'service:http_requests:rate{service="api"}', target: 0.6, capacity_per_replica: 100}
    scale_up: {cooldown: 0s}
    scale_down: {stabilization_window: 3s, cooldown: 0s}
` + extra
}

// loadObserver returns a cpu and a load whose values the test sets.
type loadObserver struct {
	mu        sync.Mutex
	cpu, load float64
	problem   string
}

func (o *loadObserver) set(cpu, load float64, problem string) {
	o.mu.Lock()
	o.cpu, o.load, o.problem = cpu, load, problem
	o.mu.Unlock()
}

func (o *loadObserver) Observe(context.Context, *policy.Service) []decision.Observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return []decision.Observation{{Name: "cpu", Value: o.cpu, Target: 0.6, Problem: o.problem, At: time.Now()},
		{Name: "load", Value: o.load, Target: 0.6, Problem: o.problem, At: time.Now()}}
}

// history serves the driver's past, and Prometheus' alert truth.
type history struct {
	pts            []predict.Sample
	firing, owned  map[string]bool
	alertStateErr  error
	rangeQueries   []string
	rangeQueriesMu sync.Mutex
}

func (h *history) Range(_ context.Context, q string, start, end time.Time, step time.Duration) ([]predict.Sample, error) {
	h.rangeQueriesMu.Lock()
	h.rangeQueries = append(h.rangeQueries, q)
	h.rangeQueriesMu.Unlock()
	var out []predict.Sample
	for _, p := range h.pts {
		if !p.At.Before(start) && !p.At.After(end) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (h *history) AlertState(context.Context, string) (map[string]bool, map[string]bool, error) {
	return h.firing, h.owned, h.alertStateErr
}

type levelEnv struct {
	st  *store.Store
	act *memActuator
	obs *loadObserver
	his *history
	reg *prometheus.Registry
	sc  *scaler.Scaler
}

func newLevelEnv(t *testing.T, polText string, replicas int) *levelEnv {
	t.Helper()
	st := storetest.New(t)
	neutralPhase(t, st)
	p, err := policy.Parse([]byte(polText))
	if err != nil {
		t.Fatal(err)
	}
	e := &levelEnv{st: st, act: &memActuator{ready: actuator.State{Replicas: replicas}}, obs: &loadObserver{}, his: &history{},
		reg: prometheus.NewRegistry()}
	e.sc, err = scaler.New(scaler.Config{Policy: p, Store: st, Observer: e.obs, History: e.his, AlertCheck: e.his,
		Actuators: map[string]actuator.Actuator{"api": e.act}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: scaler.NewMetrics(e.reg), SettlePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Under level control no alert is needed: the target is tracked, the event
// says why, and an unchanged state is not recorded again and again.
func TestLevelTracksTargetWithoutAlerts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLevelEnv(t, levelPol(""), 4)
	e.obs.set(0.6, 240, "")
	for range 3 {
		if res := e.sc.Evaluate(ctx, "api", time.Time{}); res.Output.Outcome != decision.WithinTolerance || res.Event != nil {
			t.Fatalf("inside the tolerance band: %+v", res.Output)
		}
	}
	if ds, _ := e.st.ListDecisions(ctx, "api", 10); len(ds) != 1 {
		t.Fatalf("%d decision rows for three identical holds, want 1", len(ds))
	}
	e.obs.set(0.9, 420, "")
	res := e.sc.Evaluate(ctx, "api", time.Time{})
	if res.Output.Outcome != decision.Scale || res.Event == nil {
		t.Fatalf("over target without an alert: %+v", res.Output)
	}
	e.sc.Wait()
	ev, _ := e.st.GetEvent(ctx, res.Event.ID)
	if ev.Status != store.StatusCompleted || !jsonEq(ev.After, `{"replicas":7}`) || ev.InitiatedBy != "autoscaler" ||
		ev.TriggerReason != "target_tracking: above target" {
		t.Fatalf("event = %+v", ev)
	}
	if v := testutil.ToFloat64(mustGauge(t, e.reg, "wedsync_autoscaler_reactive_desired_replicas")); v != 7 {
		t.Fatalf("reactive desired gauge = %v", v)
	}
}

// A scheduled window raises the minimum: the event says it was scheduled.
func TestScheduledWindowRaisesMinimum(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	today := time.Now().UTC()
	e := newLevelEnv(t, levelPol(fmt.Sprintf(`    schedules:
      - {name: launch, start: %s, end: %s, min_replicas: 8}
`, today.AddDate(0, 0, -1).Format("2006-01-02"), today.AddDate(0, 0, 1).Format("2006-01-02"))), 4)
	e.obs.set(0.6, 240, "")
	res := e.sc.Evaluate(ctx, "api", time.Time{})
	if res.Output.Outcome != decision.Scale || res.Event == nil || !res.Output.BySchedule {
		t.Fatalf("scheduled minimum: %+v", res.Output)
	}
	if res.Event.InitiatedBy != "scheduled" || res.Event.TriggerReason != "scheduled: launch" || !jsonEq(res.Event.After, `{"replicas":8}`) {
		t.Fatalf("event = %+v", res.Event)
	}
	e.sc.Wait()
	if v := testutil.ToFloat64(mustGauge(t, e.reg, "wedsync_autoscaler_scheduled_min_replicas")); v != 8 {
		t.Fatalf("scheduled min gauge = %v", v)
	}
}

// An alert Prometheus no longer has firing (its condition went away while
// Prometheus restarted, so no "resolved" ever came) allows nothing, and
// neither does one past its endsAt.
func TestStaleAlertsExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLevelEnv(t, strings.Replace(levelPol(""), "  api:\n", "  api:\n    control: alerts_only\n", 1), 6)
	e.obs.set(0.2, 100, "") // the metrics would scale down
	fire(t, e.st, store.EventScaleDown, "firing")
	e.his.owned = map[string]bool{"ServiceCPUHigh": true}
	e.his.firing = map[string]bool{}
	res := e.sc.Evaluate(ctx, "api", time.Now())
	if res.Event != nil || res.Output.Outcome == decision.Scale {
		t.Fatalf("acted on an alert Prometheus no longer fires: %+v", res.Output)
	}
	ds, _ := e.st.ListDecisions(ctx, "api", 1)
	if len(ds) != 1 || !strings.Contains(string(ds[0].Inputs), "no longer firing in Prometheus") {
		t.Fatalf("decision does not say the alert expired: %+v", ds)
	}
	// Prometheus unreachable: nothing is dropped on its account.
	e.his.alertStateErr = errors.New("connection refused")
	res = e.sc.Evaluate(ctx, "api", time.Now())
	if res.Output.Outcome != decision.Stabilizing && res.Output.Outcome != decision.Scale {
		t.Fatalf("with Prometheus' alert state unknown the stored alert counts: %+v", res.Output)
	}
}

func TestAlertPastItsEndsAtExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLevelEnv(t, strings.Replace(levelPol(""), "  api:\n", "  api:\n    control: alerts_only\n", 1), 2)
	e.obs.set(0.9, 420, "")
	past := time.Now().Add(-time.Minute)
	a := store.Alert{Fingerprint: "fp", StartsAt: time.Now().Add(-time.Hour), EndsAt: &past, Alertname: "ServiceCPUHigh", Service: "api",
		Action: store.EventScaleUp, Reason: "high_cpu_usage", Status: "firing", Labels: map[string]string{}, Annotations: map[string]string{}}
	if _, err := e.st.RecordNotification(ctx, store.Notification{DedupKey: "ends", Receiver: "r", GroupKey: "g", Status: "firing",
		Payload: []byte(`{}`), Alerts: []store.Alert{a}}); err != nil {
		t.Fatal(err)
	}
	if res := e.sc.Evaluate(ctx, "api", time.Now()); res.Event != nil {
		t.Fatalf("acted on an alert past its endsAt: %+v", res.Output)
	}
}

// After a gap in the data (NaN while traffic was away), the first valid
// sample does not scale down: the window is observed again first.
func TestNoScaleDownOnTheFirstSampleAfterAGap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLevelEnv(t, levelPol(""), 6)
	e.obs.set(0, 0, "nan")
	e.sc.Evaluate(ctx, "api", time.Time{})
	e.obs.set(0.1, 40, "")
	if res := e.sc.Evaluate(ctx, "api", time.Time{}); res.Output.Outcome != decision.Stabilizing || res.Event != nil {
		t.Fatalf("first sample after a gap: %+v", res.Output)
	}
	if len(e.act.applied()) != 0 {
		t.Fatal("scaled on the first sample after a gap")
	}
	// The 3 s down window, observed by evaluations a sync period apart
	// (further apart would itself be a gap).
	for range 6 {
		time.Sleep(600 * time.Millisecond)
		e.sc.Evaluate(ctx, "api", time.Time{})
		e.sc.Wait()
		if len(e.act.applied()) > 0 {
			break
		}
	}
	if len(e.act.applied()) == 0 {
		t.Fatal("no scale-down once the window was observed")
	}
	if got := e.act.applied()[0].Replicas; got >= 6 {
		t.Fatalf("after the window: scaled to %d", got)
	}
}

// forecast_only: the forecast is recorded with what it would have done,
// and nothing acts on it.
func TestForecastOnlyRecordsWithoutActing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLevelEnv(t, levelPol(`    predictive:
      driver: load
      forecasters: [trend]
      forecast_only: true
      trend: {window: 10s, min_samples: 3}
`), 4)
	now := time.Now()
	for i := range 10 { // a steep ramp in the history the trend is seeded from, reaching 240 now
		e.his.pts = append(e.his.pts, predict.Sample{At: now.Add(time.Duration(i-10) * time.Second), Value: 90 + 15*float64(i)})
	}
	e.obs.set(0.6, 240, "")
	res := e.sc.Plan(ctx, "api", nil)
	if res.Err != nil || res.Output.Outcome != decision.ForecastOnly || res.Output.WouldTarget <= 4 || res.Output.Target != 4 {
		t.Fatalf("plan: %+v (%v)", res.Output, res.Err)
	}
	if len(res.Notes.Forecasts) != 1 || res.Notes.Forecasts[0].Forecaster != "trend" || res.Notes.Lead != time.Minute+time.Second {
		t.Fatalf("notes: %+v", res.Notes)
	}
	if len(e.act.applied()) != 0 {
		t.Fatal("forecast_only acted")
	}
}

// Too little history for the seasonal forecaster: said in eval's words and
// in a metric, never a crash or a guess.
func TestSeasonalNeedsAWeek(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLevelEnv(t, levelPol(`    predictive: {driver: load, forecasters: [seasonal]}
`), 4)
	now := time.Now()
	for at := now.Add(-48 * time.Hour); at.Before(now); at = at.Add(5 * time.Minute) {
		e.his.pts = append(e.his.pts, predict.Sample{At: at.Truncate(5 * time.Minute), Value: 200})
	}
	e.obs.set(0.6, 240, "")
	res := e.sc.Plan(ctx, "api", nil)
	var he *predict.HistoryError
	if !errors.As(res.Notes.SeasonalErr, &he) || !strings.HasPrefix(he.Error(), "predictive: 2 days of history, need 7; reactive only") {
		t.Fatalf("seasonal state = %v", res.Notes.SeasonalErr)
	}
	if res.Output.Predicted != nil || res.Output.Outcome != decision.WithinTolerance {
		t.Fatalf("guessed without history: %+v", res.Output)
	}
	// The running loop says so in a metric.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.sc.Run(runCtx); close(done) }() //nolint:errcheck // returns nil
	deadline := time.Now().Add(10 * time.Second)
	for {
		mfs, _ := e.reg.Gather()
		found := false
		for _, mf := range mfs {
			if mf.GetName() == "wedsync_autoscaler_seasonal_history_seconds" {
				v := mf.GetMetric()[0].GetGauge().GetValue()
				found = v > 47*3600 && v < 49*3600
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no wedsync_autoscaler_seasonal_history_seconds ≈ 2 days")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	e.his.rangeQueriesMu.Lock()
	defer e.his.rangeQueriesMu.Unlock()
	if len(e.his.rangeQueries) == 0 || !strings.HasPrefix(e.his.rangeQueries[0], "max_over_time((service:http_requests:rate") {
		t.Fatalf("history queries = %q", e.his.rangeQueries)
	}
}

// The rate policies count what another replica did, read from the event
// log before acting.
func TestRatePolicyCountsOtherReplicasActions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLevelEnv(t, strings.Replace(levelPol(""), "scale_up: {cooldown: 0s}", "scale_up: {cooldown: 0s, policies: [{type: Pods, value: 2, period: 1m}]}", 1), 4)
	// Another replica's action 10 s ago: 2 → 4.
	ev, err := e.st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "other replica",
		Before: json.RawMessage(`{"replicas":2}`), After: json.RawMessage(`{"replicas":4}`), InitiatedBy: "autoscaler"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.FinishEvent(ctx, ev.ID, store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	e.obs.set(1.0, 900, "")
	if res := e.sc.Evaluate(ctx, "api", time.Time{}); res.Output.Outcome != decision.RateLimited || res.Event != nil {
		t.Fatalf("2 pods per minute already used by the other replica: %+v", res.Output)
	}
}

// While a scale-up provisions, a higher target raises the same event (as
// HPA's desired count moves while pods start): logged first, one event,
// the actuator asked twice, and nothing lowered in flight.
func TestInFlightScaleUpIsRaised(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLevelEnv(t, strings.Replace(levelPol(""), "settle_timeout: 2s", "settle_timeout: 5s", 1), 4)
	e.act.delay = 1500 * time.Millisecond
	e.obs.set(0.9, 420, "") // → 7
	first := e.sc.Evaluate(ctx, "api", time.Time{})
	if first.Event == nil || !jsonEq(first.Event.After, `{"replicas":7}`) {
		t.Fatalf("first: %+v", first.Output)
	}
	// The load keeps rising → 10; the rate policy (4 pods or 100 % per 15 s
	// from the period's start, 4) counts the first step and allows 8.
	e.obs.set(1.0, 600, "")
	raised := e.sc.Evaluate(ctx, "api", time.Time{})
	if raised.Event == nil || raised.Event.ID != first.Event.ID || !jsonEq(raised.Event.After, `{"replicas":8}`) ||
		!strings.Contains(raised.Event.TriggerReason, "raised to 8 replicas while provisioning") {
		t.Fatalf("raised: %+v / %+v", raised.Output, raised.Event)
	}
	e.obs.set(0.3, 120, "") // the load falls: nothing is lowered in flight
	if res := e.sc.Evaluate(ctx, "api", time.Time{}); res.Output.Outcome != decision.InProgress || res.Event != nil {
		t.Fatalf("lowered in flight: %+v", res.Output)
	}
	e.sc.Wait()
	evs := events(t, e.st)
	if len(evs) != 1 || evs[0].Status != store.StatusCompleted || !jsonEq(evs[0].After, `{"replicas":8}`) {
		t.Fatalf("events = %+v", evs)
	}
	if got := e.act.applied(); len(got) != 2 || got[0].Replicas != 7 || got[1].Replicas != 8 {
		t.Fatalf("actuator calls = %+v, want 7 then 8", got)
	}
	if r, _ := e.act.Current(ctx); r.Replicas != 8 {
		t.Fatalf("ready = %d", r.Replicas)
	}
}

type fixedCapacity float64

func (f fixedCapacity) CapacityPerReplica(context.Context, string) (float64, bool, error) {
	return float64(f), f > 0, nil
}

// capacity_from: load_test sizes the load metric by what a load test
// measured per replica, once the loop has read it.
func TestCapacityFromLoadTest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	neutralPhase(t, st)
	p, err := policy.Parse([]byte(strings.Replace(levelPol(""), "capacity_per_replica: 100}", "capacity_per_replica: 100, capacity_from: load_test}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	obs := &loadObserver{}
	obs.set(0.6, 600, "")
	act := &memActuator{ready: actuator.State{Replicas: 4}}
	sc, err := scaler.New(scaler.Config{Policy: p, Store: st, Observer: obs, Actuators: map[string]actuator.Actuator{"api": act},
		Capacities: fixedCapacity(250), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	// 600 req/s at 250 per replica × 0.6 needs 4: the configured 100 would say 10.
	res := sc.Plan(ctx, "api", nil)
	if res.Output.Reactive != 4 || !strings.Contains(res.Output.Reason, "at 250 per replica") {
		t.Fatalf("plan: %+v", res.Output)
	}
}
