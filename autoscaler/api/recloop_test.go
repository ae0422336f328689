package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/actuator"
	adminapi "github.com/wedsync/scaling/autoscaler/api"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/recommend"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// An alerts-only fleet: it moves when an alert asks, within its bounds.
const loopPolicy = `
services:
  api:
    control: alerts_only
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 20
    price_per_replica_monthly: 36.50
    settle_timeout: 5s
    metrics: [{name: cpu, query: 'max(service:cpu_utilization:ratio{service="api"})', target: 0.6}]
    scale_up: {cooldown: 0s, policies: [{type: Pods, value: 20, period: 1s}]}
    scale_down: {cooldown: 0s, stabilization_window: 0s, policies: [{type: Pods, value: 20, period: 1s}]}
`

// loopHistory is seven days of 5-minute samples of api on 8 replicas (made
// here, backfilled into a real Prometheus with promtool): CPU around 20 %
// with a p95 of 25 %, memory peaking at 40 %.
func loopHistory(now time.Time) string {
	var b strings.Builder
	const n = 7 * 24 * 12
	at := func(i int) int64 { return now.Add(-time.Duration(n-i) * 5 * time.Minute).Unix() }
	b.WriteString("# TYPE service:cpu_utilization:ratio gauge\n")
	for i := range n {
		v := 0.2
		if i%20 == 0 {
			v = 0.25
		}
		fmt.Fprintf(&b, "service:cpu_utilization:ratio{service=\"api\",source=\"demo\"} %g %d\n", v, at(i))
	}
	b.WriteString("# TYPE service:memory_utilization:ratio gauge\n")
	for i := range n {
		fmt.Fprintf(&b, "service:memory_utilization:ratio{service=\"api\",source=\"demo\"} %g %d\n", []float64{0.35, 0.4}[i%2], at(i))
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// liveCPU stands in for the live reading of the reactive evaluation (a
// freshly started Prometheus is still warming up its metric window); what
// is under test is the bounds that evaluation keeps.
type liveCPU struct {
	mu  sync.Mutex
	cpu float64
}

func (l *liveCPU) Observe(context.Context, *policy.Service) []decision.Observation {
	l.mu.Lock()
	defer l.mu.Unlock()
	return []decision.Observation{{Name: "cpu", Value: l.cpu, Target: 0.6, At: time.Now()}}
}

// The savings loop end to end, on real PostgreSQL and a real Prometheus:
// an earlier rightsizing's override holds api's floor at 8; the generator
// (reading history from Prometheus and the bounds in force from the
// scaler) recommends 4 replicas with the floor following; approved and
// implemented through the admin API, it runs as an optimization event,
// becomes implemented when that event completes, its bounds become the
// override, and the next alert-driven evaluation stops at the new floor —
// which, reverted, it would not.
func TestGeneratedRecommendationThroughTheLoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().Truncate(time.Minute)
	prom, err := devstack.StartPrometheusWithHistory(ctx, loopHistory(now), devstack.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	pol, err := policy.Parse([]byte(loopPolicy))
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.New(t)
	ph, _ := st.ActivePhase(ctx)
	if _, err := st.UpdatePhase(ctx, ph.ID, store.PhaseUpdate{ScalingConfig: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	// The earlier rightsizing: api at 8 with a floor of 8, in force.
	earlier, err := st.OfferRecommendation(ctx, store.Recommendation{Type: recommend.TypeRightsizing, Service: "api", Title: "Scale up api from 6 to 8 replicas",
		CurrentConfig: store.ReplicaConfig(6, 2, 20).JSON(), RecommendedConfig: store.ReplicaConfig(8, 8, 20).JSON(),
		EstimatedMonthlyImpact: decimal.NewNullDecimal(decimal.RequireFromString("73.00")), Confidence: decimal.RequireFromString("0.9"), Effort: "low", Priority: "high"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.MoveRecommendation(ctx, earlier.ID, []string{"pending"}, "approved", "ops", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CompleteRecommendation(ctx, earlier.ID, "ops"); err != nil {
		t.Fatal(err)
	}

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	live := &liveCPU{cpu: 0.2}
	f := &fixture{t: t, st: st, act: &memActuator{state: actuator.State{Replicas: 8}}, tokens: map[string]string{}}
	f.sc, err = scaler.New(scaler.Config{Policy: pol, Store: st, Overrides: st, Observer: live, Actuators: map[string]actuator.Actuator{"api": f.act},
		Logger: logger, SettlePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.sc.Wait)
	f.srv = httptest.NewServer(adminapi.New(adminapi.Config{Store: st, Scaler: withRetry{f.sc, f}, Recommendations: st, Logger: logger}).Handler())
	t.Cleanup(f.srv.Close)
	for _, role := range []string{store.RoleViewer, store.RoleOperator} {
		_, secret, err := st.CreateToken(ctx, role+"-user", role, "test")
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[role] = secret
	}

	// Generated: Decide through toStore and OfferRecommendation, from the
	// bounds in force (the override's floor of 8, not the file's 2).
	c, _ := api.NewClient(api.Config{Address: prom.URL()})
	gen := recommend.New(recommend.Config{Policy: pol, Store: st, Prom: promv1.NewAPI(c), Current: f.sc, Bounds: f.sc, Logger: logger,
		Now: func() time.Time { return now }})
	recs, err := gen.Generate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d recommendations, want 1: %+v", len(recs), recs)
	}
	rec := recs[0]
	// memory max 40 % on 8 → ceil(8 × 0.4 × 1.15) = 4 (CPU asks for 3);
	// the floor follows down from 8, or the override would refuse 4.
	if rec.Type != recommend.TypeRightsizing || !jsonEq(rec.CurrentConfig, `{"replicas": 8, "min_replicas": 8, "max_replicas": 20}`) ||
		!jsonEq(rec.RecommendedConfig, `{"replicas": 4, "min_replicas": 4, "max_replicas": 20}`) ||
		rec.EstimatedMonthlyImpact.Decimal.StringFixed(2) != "-146.00" {
		t.Fatalf("generated %s %s → %s impact %v", rec.Type, rec.CurrentConfig, rec.RecommendedConfig, rec.EstimatedMonthlyImpact)
	}

	base := "/api/admin/optimization/recommendations/" + rec.ID
	if r := f.do(store.RoleOperator, "POST", base+"/approve", ""); r.status != 200 || r.body["status"] != "approved" {
		t.Fatalf("approve: %d %s", r.status, r.raw)
	}
	impl := f.do(store.RoleOperator, "POST", base+"/implement", "")
	if impl.status != 202 || impl.body["status"] != "approved" || impl.body["scaling_event_id"] == nil {
		t.Fatalf("implement: %d %s", impl.status, impl.raw)
	}
	f.sc.Wait()
	ev, err := st.GetEvent(ctx, impl.body["scaling_event_id"].(string))
	if err != nil || ev.Status != store.StatusCompleted || ev.Type != store.EventOptimization || !jsonEq(ev.After, `{"replicas": 4}`) {
		t.Fatalf("event %+v %s: %v", ev, ev.After, err)
	}
	list := f.do(store.RoleViewer, "GET", "/api/admin/optimization/recommendations?status=implemented", "")
	var got map[string]any
	for _, it := range list.body["items"].([]any) {
		if m := it.(map[string]any); m["id"] == rec.ID {
			got = m
		}
	}
	if got == nil || got["implemented_at"] == nil || got["last_error"] != nil || got["scaling_event_id"] != ev.ID || got["implementing"] != false {
		t.Fatalf("after the event, not implemented by it: %d %s", list.status, list.raw)
	}
	// Implementing it again is the same answer, no second action.
	if again := f.do(store.RoleOperator, "POST", base+"/implement", ""); again.status != 200 || again.body["status"] != "implemented" {
		t.Fatalf("implement again: %d %s", again.status, again.raw)
	}
	if cur, _ := f.act.Current(ctx); cur.Replicas != 4 {
		t.Fatalf("api at %d replicas, want 4", cur.Replicas)
	}
	ov := f.do(store.RoleViewer, "GET", "/api/admin/optimization/overrides", "")
	items, _ := ov.body["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("overrides: %s", ov.raw)
	}
	if o := items[0].(map[string]any); o["service_name"] != "api" || o["min_replicas"] != 4.0 || o["max_replicas"] != 20.0 ||
		o["recommendation_id"] != rec.ID || o["scaling_event_id"] != ev.ID {
		t.Fatalf("override: %s", ov.raw)
	}
	if b, ok, err := f.sc.Bounds(ctx, "api"); err != nil || !ok || b.Min != 4 || b.Max != 20 {
		t.Fatalf("bounds in force %+v %v %v, want [4, 20]", b, ok, err)
	}

	// The next reactive evaluation: an underutilization alert and CPU at
	// 10 % on 4 replicas ask for 1; the new floor holds at 4.
	if _, err := st.RecordNotification(ctx, store.Notification{DedupKey: "loop-" + t.Name(), Receiver: "r", GroupKey: "g", Status: "firing",
		Payload: []byte(`{}`), Alerts: []store.Alert{{Fingerprint: "fp-under", StartsAt: now, Alertname: "ServiceUnderutilized", Service: "api",
			Action: store.EventScaleDown, Reason: "underutilized", Status: "firing", Labels: map[string]string{"alertname": "ServiceUnderutilized"}, Annotations: map[string]string{"value": "0.1"}}}}); err != nil {
		t.Fatal(err)
	}
	live.mu.Lock()
	live.cpu = 0.1
	live.mu.Unlock()
	res := f.sc.Evaluate(ctx, "api", time.Time{})
	f.sc.Wait()
	if res.Err != nil || res.Output.Outcome != decision.AtBound || res.Output.Min != 4 || res.Event != nil {
		t.Fatalf("evaluation under the new override: %+v %v", res.Output, res.Err)
	}
	if cur, _ := f.act.Current(ctx); cur.Replicas != 4 {
		t.Fatalf("the evaluation undid the rightsizing: %d replicas", cur.Replicas)
	}
	// Reverted, the same evaluation goes down to the file's floor: the
	// floor above was the override's.
	if r := f.do(store.RoleOperator, "DELETE", "/api/admin/optimization/overrides/api", ""); r.status != 200 {
		t.Fatalf("revert: %d %s", r.status, r.raw)
	}
	res = f.sc.Evaluate(ctx, "api", time.Time{})
	f.sc.Wait()
	if res.Err != nil || res.Output.Outcome != decision.Scale || res.Output.Target != 2 {
		t.Fatalf("evaluation without the override: %+v %v", res.Output, res.Err)
	}
	if r, _ := st.GetRecommendation(ctx, rec.ID); r.Status != "implemented" {
		t.Fatalf("reverting the override changed the recommendation: %+v", r)
	}
}

// jsonEq compares JSON documents, whatever their key order and spacing.
func jsonEq(got []byte, want string) bool {
	var a, b any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}
