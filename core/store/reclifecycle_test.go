package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func openLifecycleStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	dsn := storetest.DSN(t)
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, dsn
}

// approved offers and approves a recommendation of service api.
func approved(t *testing.T, s *store.Store, typ, cfg string) store.Recommendation {
	t.Helper()
	ctx := context.Background()
	r, err := s.OfferRecommendation(ctx, store.Recommendation{Type: typ, Service: "api", Title: typ,
		CurrentConfig: json.RawMessage(`{"replicas": 6}`), RecommendedConfig: json.RawMessage(cfg),
		EstimatedMonthlyImpact: decimal.NewNullDecimal(decimal.RequireFromString("-60.00")), Confidence: decimal.RequireFromString("0.8"),
		Effort: "low", Priority: "medium"})
	if err != nil {
		t.Fatal(err)
	}
	r, err = s.MoveRecommendation(ctx, r.ID, []string{"pending"}, "approved", "ops", "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func implementEvent(rec string, before, after int) store.NewEvent {
	return store.NewEvent{Type: store.EventOptimization, Service: "api", TriggerReason: "recommendation",
		Before: []byte(`{"replicas": ` + itoa(before) + `}`), After: []byte(`{"replicas": ` + itoa(after) + `}`),
		InitiatedBy: "recommendation", InitiatedUserID: "ops", Recommendation: rec}
}

// The event's close decides: completed at the target → implemented with
// its bounds as the override; failed → approved with the error; completed
// short of the target (the rate limit cut it) → approved, not implemented.
func TestRecommendationSettledByItsEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openLifecycleStore(t)
	rec := approved(t, s, "rightsizing", `{"replicas": 3, "min_replicas": 2, "max_replicas": 4}`)

	// 1. The action fails.
	ev, err := s.BeginEvent(ctx, implementEvent(rec.ID, 6, 3))
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetRecommendation(ctx, rec.ID); !r.Implementing || r.ScalingEventID != ev.ID || r.Status != "approved" {
		t.Fatalf("while the event runs: %+v", r)
	}
	if _, err := s.RejectRecommendation(ctx, rec.ID, "ops", "changed my mind"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("reject while being implemented: %v", err)
	}
	if _, err := s.FinishEvent(ctx, ev.ID, store.StatusFailed, "actuator: 503 from the API"); err != nil {
		t.Fatal(err)
	}
	r, _ := s.GetRecommendation(ctx, rec.ID)
	if r.Status != "approved" || r.Implementing || !strings.Contains(r.LastError, "503 from the API") || r.LastErrorAt == nil || r.ImplementedAt != nil {
		t.Fatalf("after a failed action: %+v", r)
	}
	if o, _ := s.PolicyOverrides(ctx); len(o) != 0 {
		t.Fatalf("a failed action left an override: %+v", o)
	}

	// 2. The rate limit cut it: 6 → 5, not 3.
	ev, err = s.BeginEvent(ctx, implementEvent(rec.ID, 6, 5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishEvent(ctx, ev.ID, store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	r, _ = s.GetRecommendation(ctx, rec.ID)
	if r.Status != "approved" || !strings.Contains(r.LastError, "stopped at 5 replicas") || r.ImplementedAt != nil {
		t.Fatalf("after a cut action: %+v", r)
	}

	// 3. A retry of a failed attempt settles it too.
	ev, _ = s.BeginEvent(ctx, implementEvent(rec.ID, 5, 3))
	if _, err := s.FinishEvent(ctx, ev.ID, store.StatusFailed, "timeout"); err != nil {
		t.Fatal(err)
	}
	retry := implementEvent("", 5, 3)
	retry.RetryOf = ev.ID
	ev, err = s.BeginEvent(ctx, retry)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetRecommendation(ctx, rec.ID); r.ScalingEventID != ev.ID || !r.Implementing {
		t.Fatalf("the retry does not carry the recommendation: %+v", r)
	}
	done, err := s.FinishEvent(ctx, ev.ID, store.StatusCompleted, "")
	if err != nil {
		t.Fatal(err)
	}
	r, _ = s.GetRecommendation(ctx, rec.ID)
	if r.Status != "implemented" || r.ImplementedAt == nil || r.LastError != "" || r.Implementing {
		t.Fatalf("after a completed action: %+v", r)
	}
	o, _ := s.PolicyOverrides(ctx)
	if len(o) != 1 || o[0].Service != "api" || *o[0].MinReplicas != 2 || *o[0].MaxReplicas != 4 || o[0].RecommendationID != rec.ID ||
		o[0].ScalingEventID != done.ID || o[0].CreatedBy != "ops" {
		t.Fatalf("override = %+v", o)
	}
	// Closing twice is refused and changes nothing.
	if _, err := s.FinishEvent(ctx, ev.ID, store.StatusFailed, "late"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("close twice: %v", err)
	}
	if r2, _ := s.GetRecommendation(ctx, rec.ID); r2.Status != "implemented" || r2.LastError != "" {
		t.Fatalf("after a second close: %+v", r2)
	}
	// Implemented is final: no new event links to it.
	if _, err := s.BeginEvent(ctx, implementEvent(rec.ID, 3, 3)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("link an implemented one: %v", err)
	}
	if ev, _ := s.UnfinishedEvents(ctx); len(ev) != 0 {
		t.Fatalf("a refused link left its event: %+v", ev)
	}

	// Dropping (the scaler, for an override the file no longer admits):
	// only the override judged, once.
	stale := o[0]
	stale.CreatedAt = stale.CreatedAt.Add(-time.Second)
	if dropped, err := s.DropPolicyOverride(ctx, stale, "judged an older one"); dropped || err != nil {
		t.Fatalf("drop an override written since: %v %v", dropped, err)
	}
	if dropped, err := s.DropPolicyOverride(ctx, o[0], "[2, 4] is not inside [3, 10]"); !dropped || err != nil {
		t.Fatalf("drop: %v %v", dropped, err)
	}
	if dropped, err := s.DropPolicyOverride(ctx, o[0], "again"); dropped || err != nil {
		t.Fatalf("drop twice: %v %v", dropped, err)
	}
	audit, _ := s.ListAudit(ctx, 10)
	if len(audit) != 1 || audit[0].Actor != "autoscaler" || audit[0].Error != "dropped: [2, 4] is not inside [3, 10]" {
		t.Fatalf("audit %+v", audit)
	}
	// Reverting an override.
	if _, err := s.BeginEvent(ctx, implementEvent(approved(t, s, "idle_resource", `{"replicas": 2, "min_replicas": 2, "max_replicas": 2}`).ID, 3, 2)); err != nil {
		t.Fatal(err)
	}
	evs, _ := s.UnfinishedEvents(ctx)
	if _, err := s.FinishEvent(ctx, evs[0].ID, store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	// A completed rollback of the implementing event reopens it and
	// removes its override, in the rollback's close.
	idle, _ := s.ListRecommendations(ctx, store.RecommendationFilter{Type: "idle_resource"})
	if len(idle) != 1 || idle[0].Status != "implemented" {
		t.Fatalf("idle: %+v", idle)
	}
	rb, err := s.BeginRollback(ctx, idle[0].ScalingEventID, implementEvent("", 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishEvent(ctx, rb.ID, store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetRecommendation(ctx, idle[0].ID); r.Status != "approved" || r.ImplementedAt != nil || !strings.Contains(r.LastError, rb.ID+" rolled back") {
		t.Fatalf("after its rollback: %+v", r)
	}
	if o, _ := s.PolicyOverrides(ctx); len(o) != 0 {
		t.Fatalf("override after its rollback: %+v", o)
	}
	// Reverting by hand.
	_, _ = s.BeginEvent(ctx, implementEvent(idle[0].ID, 3, 2))
	evs, _ = s.UnfinishedEvents(ctx)
	if _, err := s.FinishEvent(ctx, evs[0].ID, store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeletePolicyOverride(ctx, "api"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeletePolicyOverride(ctx, "api"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestRejectAndComplete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, dsn := openLifecycleStore(t)
	rec := approved(t, s, "queue_workers", `{"replicas": 3}`)
	if _, err := s.RejectRecommendation(ctx, rec.ID, "ops", ""); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("reject without a reason: %v", err)
	}
	r, err := s.RejectRecommendation(ctx, rec.ID, "ops", "peak season starts Monday")
	if err != nil || r.Status != "rejected" || r.RejectReason != "peak season starts Monday" || r.RejectedBy != "ops" || r.RejectedAt == nil {
		t.Fatalf("reject = %+v, %v", r, err)
	}
	var ce *store.ConflictError
	if _, err := s.RejectRecommendation(ctx, rec.ID, "ops", "again"); !errors.As(err, &ce) || ce.State != "rejected" {
		t.Fatalf("reject twice: %v", err)
	}
	if _, err := s.CompleteRecommendation(ctx, rec.ID, "ops"); !errors.As(err, &ce) || ce.State != "rejected" {
		t.Fatalf("complete a rejected one: %v", err)
	}
	// The schema holds the rule too.
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `UPDATE optimization_recommendations SET reject_reason = NULL WHERE id = $1::uuid`, rec.ID); err == nil ||
		!strings.Contains(err.Error(), "optimization_recommendations_rejected_reason") {
		t.Fatalf("a rejection without its reason: %v", err)
	}

	cache := approved(t, s, "caching", `{"tier": "redis_small", "cache": true}`)
	done, err := s.CompleteRecommendation(ctx, cache.ID, "ops")
	if err != nil || done.Status != "implemented" || done.ImplementedAt == nil {
		t.Fatalf("complete a cache = %+v, %v", done, err)
	}
	if o, _ := s.PolicyOverrides(ctx); len(o) != 0 {
		t.Fatalf("a cache wrote an override: %+v", o)
	}
	if _, err := s.CompleteRecommendation(ctx, cache.ID, "ops"); !errors.As(err, &ce) || ce.State != "implemented" {
		t.Fatalf("complete twice: %v", err)
	}
}

// An unpriced service's impact is unknown end to end: stored NULL, read
// back invalid, left out of the sums and counted apart.
func TestUnpricedImpactIsUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openLifecycleStore(t)
	for i, impact := range []decimal.NullDecimal{{}, decimal.NewNullDecimal(decimal.RequireFromString("-12.50"))} {
		r, err := s.OfferRecommendation(ctx, store.Recommendation{Type: []string{"idle_resource", "rightsizing"}[i], Service: "worker",
			Title: "t", EstimatedMonthlyImpact: impact, Confidence: decimal.RequireFromString("0.5"), Effort: "low", Priority: "low"})
		if err != nil || r.EstimatedMonthlyImpact.Valid != impact.Valid {
			t.Fatalf("offer %d = %+v, %v", i, r, err)
		}
		if b, _ := json.Marshal(r); impact.Valid == strings.Contains(string(b), `"estimated_monthly_impact":null`) {
			t.Fatalf("JSON %s", b)
		}
	}
	sum, err := s.RecommendationImpact(ctx)
	if err != nil || len(sum) != 1 || sum[0].Count != 2 || sum[0].Unpriced != 1 || sum[0].Estimated.Decimal.StringFixed(2) != "-12.50" {
		t.Fatalf("impact = %+v, %v", sum, err)
	}
}

func TestParseRecommendedConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, err string }{
		{`{"replicas": 3, "min_replicas": 2, "max_replicas": 4}`, ""},
		{`{"tier": "ci_small", "min_tier": "ci_micro", "max_tier": "ci_medium"}`, ""},
		{`{"tier": "redis_small", "cache": true}`, ""},
		{`{"replicas": 3, "min_replicas": 2}`, "min_replicas and max_replicas come together"},
		{`{"tier": "a", "min_tier": "a"}`, "min_tier and max_tier come together"},
		{`{"replicas": 5, "min_replicas": 2, "max_replicas": 4}`, "replicas 5 outside its own bounds [2, 4]"},
		{`{"replicas": 1, "min_replicas": 0, "max_replicas": 4}`, "want 1 <= min <= max"},
		{`{"replicas": 1, "tier": "a"}`, "a target in replicas and in tiers at once"},
		{`{"tier": "a", "min_replicas": 1, "max_replicas": 2}`, "the target and the bounds count different things"},
		{`{"replicas": "3"}`, "recommended_config: json: cannot unmarshal"},
	} {
		_, err := store.ParseRecommendedConfig(json.RawMessage(c.in))
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, store.ErrInvalid)) {
			t.Errorf("%s: %v, want %q", c.in, err, c.err)
		}
	}
}

// The schema's CHECK on optimization_recommendations.status is a copy of
// RecommendationStatuses, read from the migrated database.
func TestRecommendationStatusesMatchTheSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, storetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var def string
	if err := c.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = 'optimization_recommendations'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%status = ANY%'
		  AND pg_get_constraintdef(oid) NOT LIKE '%<>%'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	var schema []string
	for _, m := range regexp.MustCompile(`'([a-z_]+)'::text`).FindAllStringSubmatch(def, -1) {
		schema = append(schema, m[1])
	}
	ours := slices.Clone(store.RecommendationStatuses)
	slices.Sort(schema)
	slices.Sort(ours)
	if !slices.Equal(schema, ours) {
		t.Fatalf("schema allows %v (%s), store.RecommendationStatuses is %v", schema, def, ours)
	}
}
