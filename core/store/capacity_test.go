package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestCapacityAndPerformanceMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if err := s.RecordCapacity(ctx, store.CapacitySample{Resource: "database_storage", Service: "supabase", Used: float64(1 + i), Max: 8,
			Unit: "bytes", RecordedAt: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordCapacity(ctx, store.CapacitySample{Resource: "warp_drive", Service: "x", Used: 1, Max: 1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown resource: %v", err)
	}
	h, err := s.CapacityHistory(ctx, "database_storage", "supabase", t0.Add(30*time.Minute))
	if err != nil || len(h) != 2 || h[0].Used != 2 || h[1].Max != 8 {
		t.Fatalf("history: %+v %v", h, err)
	}

	for i, m := range []store.PerformanceMetric{
		{Name: "signups", Value: 1, Service: "api", Labels: map[string]string{"plan": "free"}, RecordedAt: t0},
		{Name: "signups", Value: 2, Service: "api", Labels: map[string]string{"plan": "free"}, RecordedAt: t0.Add(time.Minute)},
		{Name: "signups", Value: 7, Service: "api", Labels: map[string]string{"plan": "pro"}, RecordedAt: t0},
		{Name: "queue_depth", Value: 3, Service: "worker", RecordedAt: t0.Add(-time.Hour)},
	} {
		if err := s.RecordPerformanceMetric(ctx, m); err != nil {
			t.Fatalf("metric %d: %v", i, err)
		}
	}
	latest, err := s.LatestPerformanceMetrics(ctx, t0.Add(-time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 2 || latest[0].Value != 2 || latest[0].Labels["plan"] != "free" || latest[1].Value != 7 {
		t.Errorf("latest: %+v", latest)
	}
	if err := s.RecordPerformanceMetric(ctx, store.PerformanceMetric{Name: "bad name", Service: "x"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad metric name: %v", err)
	}
}
