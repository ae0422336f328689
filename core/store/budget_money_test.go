package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// The store holds budgets to the limit rule whoever calls it (the API,
// the plugin's fixture, the exporter), and stores accepted limits exactly.
func TestBudgetLimitRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	tests := []struct {
		limit, currency string
		field           string // "" accepted
	}{
		{"1500.25", "USD", ""},
		{"0.001", "KWD", ""},
		{"0.0001", "CLF", ""},
		{"1500", "JPY", ""},
		{"999999999999.99", "USD", ""},
		{"0.001", "USD", "budget_limit"},
		{"1500.5", "JPY", "budget_limit"},
		{"1e400", "USD", "budget_limit"},
		{"1000000000000", "USD", "budget_limit"},
		{"0", "USD", "budget_limit"},
		{"-5", "USD", "budget_limit"},
		{"10", "ABC", "currency"},
		{"10", "usd", "currency"},
	}
	for i, tc := range tests {
		limit := decimal.RequireFromString(tc.limit)
		for _, how := range []string{"create", "upsert"} {
			b := store.Budget{Name: fmt.Sprintf("%s-%d", how, i), Limit: limit, Currency: tc.currency, Active: true}
			var got store.Budget
			var err error
			if how == "create" {
				got, err = s.CreateBudget(ctx, b, "ops")
			} else {
				got, err = s.UpsertBudget(ctx, b)
			}
			var ve *store.ValidationError
			switch {
			case tc.field == "" && (err != nil || got.Limit.String() != limit.String()):
				t.Errorf("%s %s %s: %v, stored %s", how, tc.limit, tc.currency, err, got.Limit)
			case tc.field != "" && (!errors.As(err, &ve) || ve.Field != tc.field):
				t.Errorf("%s %s %s: %v, want a ValidationError on %s", how, tc.limit, tc.currency, err, tc.field)
			}
		}
	}
	// An update is held to the stored currency.
	usd, err := s.CreateBudget(ctx, store.Budget{Name: "usd", Limit: decimal.NewFromInt(10)}, "ops")
	if err != nil {
		t.Fatal(err)
	}
	tenth := decimal.RequireFromString("0.001")
	var ve *store.ValidationError
	if _, err := s.UpdateBudget(ctx, usd.ID, store.BudgetUpdate{Limit: &tenth}); !errors.As(err, &ve) || ve.Field != "budget_limit" {
		t.Fatalf("update USD to 0.001: %v", err)
	}
	kwd, _ := s.CreateBudget(ctx, store.Budget{Name: "kwd", Limit: decimal.NewFromInt(10), Currency: "KWD"}, "ops")
	if got, err := s.UpdateBudget(ctx, kwd.ID, store.BudgetUpdate{Limit: &tenth}); err != nil || got.Limit.String() != "0.001" {
		t.Fatalf("update KWD to 0.001: %v %s", err, got.Limit)
	}
	if got, _ := s.GetBudget(ctx, usd.ID); got.Limit.String() != "10" {
		t.Fatalf("refused update wrote %s", got.Limit)
	}
}
