package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
)

func TestRecommendationLifecycleThroughAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	offer := func(typ, cfg, impact string) string {
		r, err := f.st.OfferRecommendation(ctx, store.Recommendation{Type: typ, Service: "api", Title: typ + " api",
			CurrentConfig: json.RawMessage(`{"replicas": 2}`), RecommendedConfig: json.RawMessage(cfg),
			EstimatedMonthlyImpact: decimal.RequireFromString(impact), Confidence: decimal.RequireFromString("0.8"), Effort: "low", Priority: "medium"})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	id := offer("rightsizing", `{"replicas": 4}`, "40.00")
	cache := offer("caching", `{"cache": true}`, "-45.00")
	base := "/api/admin/optimization/recommendations/"

	if r := f.do(store.RoleViewer, "POST", base+id+"/approve", ""); r.status != 403 {
		t.Fatalf("viewer approves: %d", r.status)
	}
	if r := f.do(store.RoleOperator, "POST", base+id+"/implement", ""); r.status != 409 || r.errField("state") != "pending" {
		t.Fatalf("implement a pending one: %d %s", r.status, r.raw)
	}
	if r := f.do(store.RoleOperator, "POST", base+id+"/approve", ""); r.status != 200 || r.body["status"] != "approved" || r.body["approved_by"] != "operator-user" {
		t.Fatalf("approve: %d %s", r.status, r.raw)
	}
	if r := f.do(store.RoleOperator, "POST", base+id+"/approve", ""); r.status != 409 || r.errField("state") != "approved" {
		t.Fatalf("approve twice: %d %s", r.status, r.raw)
	}
	impl := f.do(store.RoleOperator, "POST", base+id+"/implement", "")
	if impl.status != 202 || impl.body["status"] != "implemented" || impl.body["scaling_event_id"] == "" {
		t.Fatalf("implement: %d %s", impl.status, impl.raw)
	}
	f.sc.Wait()
	ev, err := f.st.GetEvent(ctx, impl.body["scaling_event_id"].(string))
	if err != nil || ev.Type != store.EventOptimization || ev.InitiatedBy != "recommendation" || ev.Status != store.StatusCompleted {
		t.Fatalf("optimization event = %+v, %v", ev, err)
	}
	if cur, _ := f.act.Current(ctx); cur.Replicas != 4 {
		t.Fatalf("replicas %d after implementing, want 4", cur.Replicas)
	}
	if r := f.do(store.RoleOperator, "POST", base+id+"/approve", ""); r.status != 409 || r.errField("state") != "implemented" {
		t.Fatalf("approve an implemented one: %d %s", r.status, r.raw)
	}
	// A cache needs no actuator: implemented on the operator's word.
	f.do(store.RoleOperator, "POST", base+cache+"/approve", "")
	if r := f.do(store.RoleOperator, "POST", base+cache+"/implement", ""); r.status != 200 || r.body["status"] != "implemented" {
		t.Fatalf("implement a cache: %d %s", r.status, r.raw)
	}
	list := f.do(store.RoleViewer, "GET", "/api/admin/optimization/recommendations?status=implemented", "")
	if list.status != 200 || len(list.body["items"].([]any)) != 2 {
		t.Fatalf("list: %d %s", list.status, list.raw)
	}
	imp := f.do(store.RoleViewer, "GET", "/api/admin/optimization/impact", "")
	rows := imp.body["by_status"].([]any)
	if imp.status != 200 || len(rows) != 1 || rows[0].(map[string]any)["estimated_monthly_impact"] != "-5" {
		t.Fatalf("impact: %d %s", imp.status, imp.raw)
	}
}

// A measured recommendation shows its figure, confidence and time; an
// unmeasured one shows null and why, never 0.
func TestMeasuredImpactThroughAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	ids := map[string]string{}
	for _, typ := range []string{"rightsizing", "idle_resource"} {
		r, err := f.st.OfferRecommendation(ctx, store.Recommendation{Type: typ, Service: "api", Title: typ,
			EstimatedMonthlyImpact: decimal.RequireFromString("-73"), Confidence: decimal.RequireFromString("0.8"), Effort: "low", Priority: "medium"})
		if err != nil {
			t.Fatal(err)
		}
		f.st.MoveRecommendation(ctx, r.ID, []string{"pending"}, "approved", "ops", "")
		if _, err := f.st.MoveRecommendation(ctx, r.ID, []string{"approved"}, "implemented", "", ""); err != nil {
			t.Fatal(err)
		}
		ids[typ] = r.ID
	}
	at := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	if ok, err := f.st.RecordImpact(ctx, ids["rightsizing"], store.Measurement{Impact: decimal.RequireFromString("-61.404"),
		Confidence: decimal.RequireFromString("0.91"), At: at, Basis: json.RawMessage(`{"window_days": 7}`)}); err != nil || !ok {
		t.Fatalf("record: %v %v", ok, err)
	}
	if err := f.st.RecordUnmeasured(ctx, ids["idle_resource"], "api is unmapped (no billing lines in the policy): its cost is unknown", nil); err != nil {
		t.Fatal(err)
	}
	list := f.do(store.RoleViewer, "GET", "/api/admin/optimization/recommendations?status=implemented", "")
	if list.status != 200 {
		t.Fatalf("list: %d %s", list.status, list.raw)
	}
	got := map[string]map[string]any{}
	for _, it := range list.body["items"].([]any) {
		m := it.(map[string]any)
		got[m["recommendation_type"].(string)] = m
	}
	if m := got["rightsizing"]; m["actual_impact"] != "-61.4" || m["actual_impact_confidence"] != "0.91" || m["measured_at"] != "2026-11-20T03:00:00Z" {
		t.Errorf("measured: %v", m)
	}
	if m := got["idle_resource"]; m["actual_impact"] != nil || m["measured_at"] != nil || m["actual_impact_confidence"] != nil ||
		m["measure_note"] != "api is unmapped (no billing lines in the policy): its cost is unknown" {
		t.Errorf("unmeasured: %v", m)
	}
}
