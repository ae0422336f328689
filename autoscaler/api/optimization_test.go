package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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
			EstimatedMonthlyImpact: decimal.NewNullDecimal(decimal.RequireFromString(impact)), Confidence: decimal.RequireFromString("0.8"), Effort: "low", Priority: "medium"})
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
	if impl.status != 202 || impl.body["status"] != "approved" || impl.body["scaling_event_id"] == "" {
		t.Fatalf("implement: %d %s", impl.status, impl.raw)
	}
	f.sc.Wait()
	// Implemented once its event completed at the target.
	if r := f.do(store.RoleViewer, "GET", "/api/admin/optimization/recommendations?status=implemented", ""); len(r.body["items"].([]any)) != 1 {
		t.Fatalf("implemented after the event: %s", r.raw)
	}
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
			EstimatedMonthlyImpact: decimal.NewNullDecimal(decimal.RequireFromString("-73")), Confidence: decimal.RequireFromString("0.8"), Effort: "low", Priority: "medium"})
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

func offerApproved(t *testing.T, f *fixture, typ, cfg string, impact *string) string {
	t.Helper()
	est := decimal.NullDecimal{}
	if impact != nil {
		est = decimal.NewNullDecimal(decimal.RequireFromString(*impact))
	}
	r, err := f.st.OfferRecommendation(context.Background(), store.Recommendation{Type: typ, Service: "api", Title: typ + " api",
		CurrentConfig: json.RawMessage(`{"replicas": 2}`), RecommendedConfig: json.RawMessage(cfg),
		EstimatedMonthlyImpact: est, Confidence: decimal.RequireFromString("0.8"), Effort: "low", Priority: "medium"})
	if err != nil {
		t.Fatal(err)
	}
	if a := f.do(store.RoleOperator, "POST", "/api/admin/optimization/recommendations/"+r.ID+"/approve", ""); a.status != 200 {
		t.Fatalf("approve: %d %s", a.status, a.raw)
	}
	return r.ID
}

// Implemented only once the action completed: an actuator that fails
// leaves the recommendation approved with the error; the next implement
// succeeds; implementing it again, while running or after, is the same
// call answered again — one action, one event.
func TestImplementOnlyOnCompletion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	base := "/api/admin/optimization/recommendations/"
	id := offerApproved(t, f, "rightsizing", `{"replicas": 4, "min_replicas": 3, "max_replicas": 5}`, nil)
	f.act.mu.Lock()
	f.act.fails = 1
	f.act.mu.Unlock()

	r := f.do(store.RoleOperator, "POST", base+id+"/implement", "")
	if r.status != 202 || r.body["status"] != "approved" {
		t.Fatalf("implement: %d %s", r.status, r.raw)
	}
	f.sc.Wait()
	got, _ := f.st.GetRecommendation(ctx, id)
	if got.Status != "approved" || !strings.Contains(got.LastError, "503 Service Unavailable") || got.Implementing {
		t.Fatalf("after a failed action: %+v", got)
	}
	list := f.do(store.RoleViewer, "GET", "/api/admin/optimization/recommendations?status=approved", "")
	if items := list.body["items"].([]any); len(items) != 1 || !strings.Contains(items[0].(map[string]any)["last_error"].(string), "503") ||
		items[0].(map[string]any)["estimated_monthly_impact"] != nil {
		t.Fatalf("the error and the unknown impact are not visible: %s", list.raw)
	}
	if ov := f.do(store.RoleViewer, "GET", "/api/admin/optimization/overrides", ""); len(ov.body["items"].([]any)) != 0 {
		t.Fatalf("an override after a failure: %s", ov.raw)
	}

	// Second attempt, held in flight: a concurrent implement is the same.
	gate := make(chan struct{})
	f.act.mu.Lock()
	f.act.gate = gate
	f.act.mu.Unlock()
	first := f.do(store.RoleOperator, "POST", base+id+"/implement", "")
	again := f.do(store.RoleOperator, "POST", base+id+"/implement", "")
	if first.status != 202 || again.status != 202 || again.body["scaling_event_id"] != first.body["scaling_event_id"] || again.body["implementing"] != true {
		t.Fatalf("implement twice in flight: %d %s / %d %s", first.status, first.raw, again.status, again.raw)
	}
	if rj := f.do(store.RoleOperator, "POST", base+id+"/reject", `{"reason": "too late"}`); rj.status != 409 {
		t.Fatalf("reject while implementing: %d %s", rj.status, rj.raw)
	}
	close(gate)
	f.sc.Wait()
	done := f.do(store.RoleOperator, "POST", base+id+"/implement", "")
	if done.status != 200 || done.body["status"] != "implemented" || done.body["last_error"] != nil || done.body["scaling_event_id"] != first.body["scaling_event_id"] {
		t.Fatalf("implement after completion: %d %s", done.status, done.raw)
	}
	evs, _ := f.st.ListEvents(ctx, store.EventFilter{Service: "api", Type: store.EventOptimization})
	if len(evs) != 2 {
		t.Fatalf("%d optimization events, want 2 (the failed and the completed)", len(evs))
	}
	if cur, _ := f.act.Current(ctx); cur.Replicas != 4 {
		t.Fatalf("replicas %d", cur.Replicas)
	}
	// Its bounds are the service's now, and revertible.
	ov := f.do(store.RoleViewer, "GET", "/api/admin/optimization/overrides", "")
	items := ov.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["max_replicas"] != 5.0 || items[0].(map[string]any)["recommendation_id"] != id {
		t.Fatalf("overrides: %s", ov.raw)
	}
	if d := f.do(store.RoleViewer, "DELETE", "/api/admin/optimization/overrides/api", ""); d.status != 403 {
		t.Fatalf("viewer reverts: %d", d.status)
	}
	if d := f.do(store.RoleOperator, "DELETE", "/api/admin/optimization/overrides/api", ""); d.status != 200 || d.body["service_name"] != "api" {
		t.Fatalf("revert: %d %s", d.status, d.raw)
	}
	if d := f.do(store.RoleOperator, "DELETE", "/api/admin/optimization/overrides/api", ""); d.status != 404 {
		t.Fatalf("revert twice: %d %s", d.status, d.raw)
	}
	audit, _ := f.st.ListAudit(ctx, 100)
	paths := map[string]int{}
	for _, a := range audit {
		paths[a.Method+" "+a.Path+" "+fmt.Sprint(a.Status)]++
	}
	if paths["POST "+base+id+"/implement 202"] != 3 || paths["DELETE /api/admin/optimization/overrides/api 200"] != 1 {
		t.Fatalf("audit: %v", paths)
	}
}

// A bounds recommendation outside the policy file's bounds is refused:
// bounds are hard. One already at its target needs no action.
func TestImplementOutsideThePolicyOrAtTarget(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := offerApproved(t, f, "rightsizing", `{"replicas": 4, "min_replicas": 3, "max_replicas": 12}`, nil)
	r := f.do(store.RoleOperator, "POST", "/api/admin/optimization/recommendations/"+id+"/implement", "")
	if r.status != 409 || r.errField("state") != "unimplementable" || !strings.Contains(r.errField("message"), "[3, 12] is not inside [1, 10]") {
		t.Fatalf("implement outside the file: %d %s", r.status, r.raw)
	}
	if got, _ := f.st.GetRecommendation(context.Background(), id); got.Status != "approved" || got.ScalingEventID != "" {
		t.Fatalf("after a refusal: %+v", got)
	}
	// A service already at the target: nothing to act on, implemented at
	// once with its bounds in force.
	at := offerApproved(t, f, "queue_workers", `{"replicas": 2, "min_replicas": 1, "max_replicas": 3}`, nil)
	r = f.do(store.RoleOperator, "POST", "/api/admin/optimization/recommendations/"+at+"/implement", "")
	if r.status != 200 || r.body["status"] != "implemented" || r.body["scaling_event_id"] != nil {
		t.Fatalf("implement at the target: %d %s", r.status, r.raw)
	}
	ov := f.do(store.RoleViewer, "GET", "/api/admin/optimization/overrides", "")
	if items := ov.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["recommendation_id"] != at {
		t.Fatalf("overrides: %s", ov.raw)
	}
	if evs, _ := f.st.ListEvents(context.Background(), store.EventFilter{Service: "api"}); len(evs) != 0 {
		t.Fatalf("events: %+v", evs)
	}
}

func TestRejectNeedsAReason(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	minus := "-10.00"
	id := offerApproved(t, f, "queue_workers", `{"replicas": 1}`, &minus)
	path := "/api/admin/optimization/recommendations/" + id + "/reject"
	for _, c := range []struct{ body, field, msg string }{
		{``, "reason", "required"},
		{`{}`, "reason", "required"},
		{`{"reason": "   "}`, "reason", "required"},
		{`{"reason": 7}`, "reason", "want string"},
		{`{"reason": "` + strings.Repeat("é", 501) + `"}`, "reason", "501 characters, at most 500"},
		{`{"reason": "a\u0000b"}`, "reason", "NUL"},
		{"{\"reason\": \"\xff\"}", "reason", "UTF-8"},
		{`{"reason": "x", "why": "y"}`, "why", "unknown field"},
	} {
		r := f.do(store.RoleOperator, "POST", path, c.body)
		if r.status != 400 || r.errField("field") != c.field || !strings.Contains(r.errField("message"), c.msg) {
			t.Errorf("body %q: %d %s", c.body, r.status, r.raw)
		}
	}
	if got, _ := f.st.GetRecommendation(context.Background(), id); got.Status != "approved" {
		t.Fatalf("a refused reject changed it: %+v", got)
	}
	if r := f.do(store.RoleViewer, "POST", path, `{"reason": "no"}`); r.status != 403 {
		t.Fatalf("viewer rejects: %d", r.status)
	}
	r := f.do(store.RoleOperator, "POST", path, `{"reason": "  peak season: keep the workers  "}`)
	if r.status != 200 || r.body["status"] != "rejected" || r.body["reject_reason"] != "peak season: keep the workers" || r.body["rejected_by"] != "operator-user" {
		t.Fatalf("reject: %d %s", r.status, r.raw)
	}
	if r := f.do(store.RoleOperator, "POST", path, `{"reason": "again"}`); r.status != 409 || r.errField("state") != "rejected" {
		t.Fatalf("reject twice: %d %s", r.status, r.raw)
	}
	if r := f.do(store.RoleOperator, "POST", "/api/admin/optimization/recommendations/"+id+"/implement", ""); r.status != 409 || r.errField("state") != "rejected" {
		t.Fatalf("implement a rejected one: %d %s", r.status, r.raw)
	}
	if r := f.do(store.RoleOperator, "POST", "/api/admin/optimization/recommendations/00000000-0000-4000-8000-000000000000/reject", `{"reason": "x"}`); r.status != 404 {
		t.Fatalf("reject an unknown one: %d %s", r.status, r.raw)
	}
}

// The document's recommendation statuses are store.RecommendationStatuses.
func TestOpenAPIRecommendationStatuses(t *testing.T) {
	t.Parallel()
	doc, _ := openAPISpec(t)
	enum := func(vs []any) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.(string))
		}
		return out
	}
	param := doc.Paths.Find("/api/admin/optimization/recommendations").Get.Parameters.GetByInAndName("query", "status")
	schema := doc.Components.Schemas["Recommendation"].Value.Properties["status"].Value
	for where, got := range map[string][]string{"the list's status parameter": enum(param.Schema.Value.Enum), "schema Recommendation": enum(schema.Enum)} {
		if !slices.Equal(got, store.RecommendationStatuses) {
			t.Errorf("%s: %v, store.RecommendationStatuses is %v", where, got, store.RecommendationStatuses)
		}
	}
}
