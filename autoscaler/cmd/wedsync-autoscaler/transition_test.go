package main

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
)

// Only a firing users_beyond_phase alert whose value was stored exactly
// and carries no flag moves the growth phase.
func TestTransitionUsers(t *testing.T) {
	t.Parallel()
	num := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	tests := []struct {
		name  string
		a     store.CostAlert
		users float64
		ok    bool
	}{
		{"firing with users", store.CostAlert{Type: "users_beyond_phase", Status: "firing", CurrentValue: num("12000")}, 12000, true},
		{"resolved", store.CostAlert{Type: "users_beyond_phase", Status: "resolved", CurrentValue: num("12000")}, 0, false},
		{"another type", store.CostAlert{Type: "cost_spike", Status: "firing", CurrentValue: num("12000")}, 0, false},
		{"NaN: no number", store.CostAlert{Type: "users_beyond_phase", Status: "firing", Flags: []string{"current_value:not_finite"}}, 0, false},
		{"flagged severity", store.CostAlert{Type: "users_beyond_phase", Status: "firing", CurrentValue: num("12000"), Flags: []string{"severity:unknown"}}, 0, false},
		{"negative", store.CostAlert{Type: "users_beyond_phase", Status: "firing", CurrentValue: num("-1")}, 0, false},
	}
	for _, tc := range tests {
		users, ok := transitionUsers(tc.a)
		if users != tc.users || ok != tc.ok {
			t.Errorf("%s: %v %v, want %v %v", tc.name, users, ok, tc.users, tc.ok)
		}
	}
}
