package scaler_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/recommend"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// A level-controlled service whose scale-down is slow (one pod a minute):
// what a rightsizing meets in production.
const overridePol = `
sync_period: 1s
services:
  api:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 10
    price_per_replica_monthly: 36.50
    settle_timeout: 2s
    metrics:
      - {name: cpu, query: 'max(service:cpu_utilization:ratio{service="api"})', target: 0.6}
    scale_up: {cooldown: 0s, policies: [{type: Pods, value: 10, period: 1s}]}
    scale_down: {stabilization_window: 0s, cooldown: 0s, policies: [{type: Pods, value: %DOWN%, period: 60s}]}
`

type overrideEnv struct {
	st  *store.Store
	act *memActuator
	obs *fixedObserver
	reg *prometheus.Registry
	sc  *scaler.Scaler
}

func newOverrideEnv(t *testing.T, st *store.Store, replicas, downPods int) *overrideEnv {
	t.Helper()
	neutralPhase(t, st)
	p, err := policy.Parse([]byte(strings.Replace(overridePol, "%DOWN%", itoa(downPods), 1)))
	if err != nil {
		t.Fatal(err)
	}
	e := &overrideEnv{st: st, act: &memActuator{ready: actuator.State{Replicas: replicas}}, obs: &fixedObserver{}, reg: prometheus.NewRegistry()}
	e.sc, err = scaler.New(scaler.Config{Policy: p, Store: st, Overrides: st, Observer: e.obs, Actuators: map[string]actuator.Actuator{"api": e.act},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: scaler.NewMetrics(e.reg), SettlePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// approvedRec offers and approves a rightsizing of api.
func approvedRec(t *testing.T, st *store.Store, cfg string) store.Recommendation {
	t.Helper()
	ctx := context.Background()
	r, err := st.OfferRecommendation(ctx, store.Recommendation{Type: "rightsizing", Service: "api", Title: "Run api on 3",
		CurrentConfig: json.RawMessage(`{"replicas": 6}`), RecommendedConfig: json.RawMessage(cfg),
		EstimatedMonthlyImpact: decimal.NewNullDecimal(decimal.RequireFromString("-109.50")), Confidence: decimal.RequireFromString("0.8"),
		Effort: "low", Priority: "high"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = st.MoveRecommendation(ctx, r.ID, []string{"pending"}, "approved", "ops", ""); err != nil {
		t.Fatal(err)
	}
	return r
}

func implement(t *testing.T, e *overrideEnv, rec store.Recommendation) (store.Event, error) {
	t.Helper()
	cfg, err := store.ParseRecommendedConfig(rec.RecommendedConfig)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := e.sc.Trigger(context.Background(), "api", scaler.Trigger{Target: &actuator.State{Replicas: *cfg.Replicas},
		Optimization: true, User: "ops", Reason: rec.Title, Recommendation: rec.ID, Bounds: &cfg.Bounds})
	e.sc.Wait()
	return ev, err
}

// The rightsizing is a change of the policy's bounds, not a one-off
// action: after it, the reactive evaluation that would scale the service
// straight back up stays inside the new bounds; reverted, it does not.
func TestRightsizingHoldsAgainstTheNextEvaluation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	e := newOverrideEnv(t, st, 6, 10)
	rec := approvedRec(t, st, `{"replicas": 3, "min_replicas": 2, "max_replicas": 3}`)
	ev, err := implement(t, e, rec)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetEvent(ctx, ev.ID); got.Status != store.StatusCompleted || got.Type != store.EventOptimization {
		t.Fatalf("event %+v", got)
	}
	r, _ := st.GetRecommendation(ctx, rec.ID)
	if r.Status != "implemented" {
		t.Fatalf("recommendation %+v", r)
	}
	if cur, _ := e.act.Current(ctx); cur.Replicas != 3 {
		t.Fatalf("at %d replicas", cur.Replicas)
	}
	// 0.9 at 3 replicas wants 5 (3 × 0.9 / 0.6 = 4.5): the file's bounds
	// [2, 10] would allow it, the override [2, 3] does not.
	e.obs.set(0.9, "")
	res := e.sc.Evaluate(ctx, "api", time.Time{})
	if res.Err != nil || res.Output.Outcome != decision.AtBound || res.Event != nil || res.Output.Max != 3 {
		t.Fatalf("evaluation under the override: %+v %+v", res.Output, res.Err)
	}
	if cur, _ := e.act.Current(ctx); cur.Replicas != 3 {
		t.Fatalf("the evaluation undid the rightsizing: %d replicas", cur.Replicas)
	}
	// Reverted: the same evaluation scales up again.
	if _, err := st.DeletePolicyOverride(ctx, "api"); err != nil {
		t.Fatal(err)
	}
	res = e.sc.Evaluate(ctx, "api", time.Time{})
	e.sc.Wait()
	if res.Output.Outcome != decision.Scale || res.Output.Target != 5 {
		t.Fatalf("evaluation without the override: %+v %+v", res.Output, res.Err)
	}
}

// The rate limit cut the target (6 → 5, one pod a minute): the action
// completed, the recommendation is not implemented (approved, with why),
// and no override is in force.
func TestCutRightsizingIsNotImplemented(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	e := newOverrideEnv(t, st, 6, 1)
	rec := approvedRec(t, st, `{"replicas": 3, "min_replicas": 2, "max_replicas": 3}`)
	ev, err := implement(t, e, rec)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetEvent(ctx, ev.ID)
	if got.Status != store.StatusCompleted || !jsonEq(got.After, `{"replicas": 5}`) {
		t.Fatalf("event %+v %s", got, got.After)
	}
	r, _ := st.GetRecommendation(ctx, rec.ID)
	if r.Status != "approved" || !strings.Contains(r.LastError, "stopped at 5 replicas") {
		t.Fatalf("recommendation %+v", r)
	}
	if o, _ := st.PolicyOverrides(ctx); len(o) != 0 {
		t.Fatalf("override %+v", o)
	}
}

// A failed action leaves it approved with the error; the next attempt,
// with a working actuator, implements it.
func TestFailedThenCompletedImplementation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	e := newOverrideEnv(t, st, 6, 10)
	rec := approvedRec(t, st, `{"replicas": 3, "min_replicas": 2, "max_replicas": 4}`)
	e.act.failWith = errors.New("kubernetes: 503 Service Unavailable")
	if _, err := implement(t, e, rec); err != nil {
		t.Fatal(err)
	}
	r, _ := st.GetRecommendation(ctx, rec.ID)
	if r.Status != "approved" || !strings.Contains(r.LastError, "503 Service Unavailable") || r.Implementing {
		t.Fatalf("after the failure: %+v", r)
	}
	e.act.mu.Lock()
	e.act.failWith = nil
	e.act.mu.Unlock()
	if _, err := implement(t, e, rec); err != nil {
		t.Fatal(err)
	}
	r, _ = st.GetRecommendation(ctx, rec.ID)
	if r.Status != "implemented" || r.LastError != "" {
		t.Fatalf("after the second attempt: %+v", r)
	}
	if _, err := implement(t, e, rec); !errors.Is(err, scaler.ErrAtTarget) {
		t.Fatalf("a third attempt: %v", err)
	}
	if n := len(events(t, st)); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

// Bounds are hard: a rightsizing outside the policy file is refused, and
// an override a policy reload no longer admits is dropped — logged,
// counted, deleted with an audit row — never clamped into bounds nobody
// approved.
func TestOverrideOutsideThePolicyFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	e := newOverrideEnv(t, st, 6, 10)
	wide := approvedRec(t, st, `{"replicas": 3, "min_replicas": 1, "max_replicas": 4}`)
	if _, err := implement(t, e, wide); !errors.Is(err, scaler.ErrBadTarget) || !strings.Contains(err.Error(), "[1, 4] is not inside [2, 10]") {
		t.Fatalf("an override below the file's minimum: %v", err)
	}
	if r, _ := st.RejectRecommendation(ctx, wide.ID, "ops", "outside the policy"); r.Status != "rejected" {
		t.Fatalf("reject: %+v", r)
	}
	rec := approvedRec(t, st, `{"replicas": 3, "min_replicas": 2, "max_replicas": 4}`)
	if _, err := implement(t, e, rec); err != nil {
		t.Fatal(err)
	}
	if o, _ := st.PolicyOverrides(ctx); len(o) != 1 {
		t.Fatalf("overrides %+v", o)
	}
	p, err := policy.Parse([]byte(strings.Replace(strings.Replace(overridePol, "%DOWN%", "10", 1), "min_replicas: 2", "min_replicas: 3", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sc.Reload(p); err != nil {
		t.Fatal(err)
	}
	e.obs.set(0.6, "")
	e.sc.Evaluate(ctx, "api", time.Time{})
	if o, _ := st.PolicyOverrides(ctx); len(o) != 0 {
		t.Fatalf("an override outside the reloaded file is kept: %+v", o)
	}
	if n := testutil.ToFloat64(mustGauge(t, e.reg, "wedsync_autoscaler_policy_overrides_dropped_total")); n != 1 {
		t.Fatalf("dropped counter %v", n)
	}
	audit, _ := st.ListAudit(ctx, 10)
	if len(audit) == 0 || audit[0].Actor != "autoscaler" || !strings.Contains(audit[0].Error, "[2, 4] is not inside [3, 10]") {
		t.Fatalf("audit %+v", audit)
	}
}

// Rolling back the event that implemented a rightsizing undoes all of it:
// the service goes back, the override goes, the recommendation is approved
// again and says why.
func TestRollbackOfARightsizing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	e := newOverrideEnv(t, st, 6, 10)
	rec := approvedRec(t, st, `{"replicas": 3, "min_replicas": 2, "max_replicas": 3}`)
	ev, err := implement(t, e, rec)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := e.sc.Rollback(ctx, ev.ID, "ops", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetEvent(ctx, rb.ID); got.Status != store.StatusCompleted || !jsonEq(got.After, `{"replicas": 6}`) {
		t.Fatalf("rollback %+v %s", got, got.After)
	}
	if o, _ := st.PolicyOverrides(ctx); len(o) != 0 {
		t.Fatalf("override kept after the rollback: %+v", o)
	}
	r, _ := st.GetRecommendation(ctx, rec.ID)
	if r.Status != "approved" || r.ImplementedAt != nil || !strings.Contains(r.LastError, "rolled back its implementation") {
		t.Fatalf("recommendation after the rollback: %+v", r)
	}
	// And the next evaluation runs on the file's bounds again.
	e.obs.set(0.9, "")
	if res := e.sc.Evaluate(ctx, "api", time.Time{}); res.Output.Max != 10 {
		t.Fatalf("bounds after the rollback: %+v", res.Output)
	}
	e.sc.Wait()
}

// Bounds (what the recommendation generator starts from) are the bounds in
// force: the file's, then a phase's raised floor, then an override written
// by another replica's implementation, read again by Current.
func TestBoundsInForce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	e := newOverrideEnv(t, st, 6, 10)
	check := func(step string, lo, hi, hardLo int) {
		t.Helper()
		b, ok, err := e.sc.Bounds(ctx, "api")
		if err != nil || !ok || b.Min != lo || b.Max != hi || b.Hard != (recommend.Limits{Min: hardLo, Max: 10}) {
			t.Errorf("%s: bounds %+v %v %v, want [%d, %d] hard [%d, 10]", step, b, ok, err, lo, hi, hardLo)
		}
	}
	check("the file", 2, 10, 2)
	ph, _ := st.ActivePhase(ctx)
	if _, err := st.UpdatePhase(ctx, ph.ID, store.PhaseUpdate{ScalingConfig: []byte(`{"services": {"api": {"min_replicas": 4}}}`)}); err != nil {
		t.Fatal(err)
	}
	if err := e.sc.ReloadPhase(ctx); err != nil {
		t.Fatal(err)
	}
	check("a phase's floor", 4, 10, 4)
	// Implemented elsewhere (another replica: the store only): Bounds
	// reads the overrides again.
	rec := approvedRec(t, st, `{"replicas": 6, "min_replicas": 5, "max_replicas": 8}`)
	if _, err := st.CompleteRecommendation(ctx, rec.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	check("an override inside the phase", 5, 8, 4)
	if _, ok, err := e.sc.Bounds(ctx, "nobody"); ok || err != nil {
		t.Errorf("bounds for a service the scaler does not run: %v %v", ok, err)
	}
}
