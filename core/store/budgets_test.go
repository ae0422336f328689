package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestBudgetsCreateUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	b, err := s.CreateBudget(ctx, store.Budget{Name: "platform", Limit: decimal.RequireFromString("1500.00"), Service: "api"}, "ops")
	if err != nil || b.Period != "monthly" || len(b.AlertThresholds) != 4 || b.Limit.StringFixed(2) != "1500.00" {
		t.Fatalf("create = %+v, %v", b, err)
	}
	if _, err := s.CreateBudget(ctx, store.Budget{Name: "platform", Limit: decimal.NewFromInt(1)}, "ops"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same name: %v", err)
	}
	lim := decimal.RequireFromString("2000")
	u, err := s.UpdateBudget(ctx, b.ID, store.BudgetUpdate{Limit: &lim, AlertThresholds: []int{80, 100}})
	if err != nil || u.Limit.StringFixed(2) != "2000.00" || len(u.AlertThresholds) != 2 || u.Service != "api" {
		t.Fatalf("update = %+v, %v", u, err)
	}
	zero := decimal.Zero
	if _, err := s.UpdateBudget(ctx, b.ID, store.BudgetUpdate{Limit: &zero}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("zero limit: %v", err)
	}
	if _, err := s.GetBudget(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}
