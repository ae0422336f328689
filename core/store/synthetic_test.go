package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestSeedSynthetic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	from := to.AddDate(0, 0, -30)
	if err := s.SeedSyntheticEvents(ctx, 1000, []string{"api", "worker"}, from, to); err != nil {
		t.Fatal(err)
	}
	evs, err := s.ListEvents(ctx, store.EventFilter{Limit: 1000, From: from, To: to})
	if err != nil || len(evs) != 1000 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	if evs[0].Service != "worker" && evs[0].Service != "api" || !evs[len(evs)-1].StartedAt.Equal(from) {
		t.Fatalf("oldest %v, want %v", evs[len(evs)-1].StartedAt, from)
	}
	if err := s.SeedSyntheticCosts(ctx, []string{"api", "db"}, []string{"compute", "storage"}, from, to); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedSyntheticCosts(ctx, nil, nil, from, to); err == nil {
		t.Fatal("empty seed accepted")
	}
}
