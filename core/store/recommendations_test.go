package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestRecommendationLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := store.Recommendation{Type: "rightsizing", Service: "api", Title: "Run api on 3 replicas instead of 6",
		CurrentConfig: json.RawMessage(`{"replicas": 6}`), RecommendedConfig: json.RawMessage(`{"replicas": 3}`),
		EstimatedMonthlyImpact: decimal.RequireFromString("-109.50"), Confidence: decimal.RequireFromString("0.85"),
		Effort: "low", Priority: "high"}
	a, err := s.OfferRecommendation(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	rec.EstimatedMonthlyImpact = decimal.RequireFromString("-120.00")
	b, err := s.OfferRecommendation(ctx, rec) // the schedule runs again
	if err != nil || b.ID != a.ID || b.EstimatedMonthlyImpact.StringFixed(2) != "-120.00" || b.Status != "pending" {
		t.Fatalf("re-offer = %+v, %v", b, err)
	}
	if _, err := s.MoveRecommendation(ctx, a.ID, []string{"approved"}, "implemented", "", ""); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("implement a pending one: %v", err)
	}
	ap, err := s.MoveRecommendation(ctx, a.ID, []string{"pending"}, "approved", "ops", "")
	if err != nil || ap.Status != "approved" || ap.ApprovedBy != "ops" || ap.ApprovedAt == nil {
		t.Fatalf("approve = %+v, %v", ap, err)
	}
	_, err = s.MoveRecommendation(ctx, a.ID, []string{"pending"}, "approved", "ops", "")
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.State != "approved" {
		t.Fatalf("approve twice: %v", err)
	}
	ev, _ := s.BeginEvent(ctx, store.NewEvent{Type: store.EventOptimization, Service: "api", TriggerReason: "recommendation",
		Before: []byte(`{"replicas": 6}`), After: []byte(`{"replicas": 3}`), InitiatedBy: "recommendation"})
	im, err := s.MoveRecommendation(ctx, a.ID, []string{"approved"}, "implemented", "", ev.ID)
	if err != nil || im.Status != "implemented" || im.ScalingEventID != ev.ID || im.ImplementedAt == nil {
		t.Fatalf("implement = %+v, %v", im, err)
	}
	// A new offer of the same type opens a new recommendation.
	c, _ := s.OfferRecommendation(ctx, rec)
	if c.ID == a.ID {
		t.Fatal("an implemented recommendation was reopened")
	}

	// Expiry.
	past := time.Now().Add(-time.Hour)
	old := rec
	old.Type, old.ExpiresAt = "idle_resource", &past
	s.OfferRecommendation(ctx, old)
	if n, _ := s.ExpireRecommendations(ctx, time.Now()); n != 1 {
		t.Fatalf("expired %d", n)
	}
}
