package scaler

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/projection"
	"github.com/wedsync/scaling/core/store"
)

// BudgetStore is what the budget check reads.
type BudgetStore interface {
	ListBudgets(ctx context.Context, activeOnly bool) ([]store.Budget, error)
	DailyCosts(ctx context.Context, f store.CostFilter, from, to time.Time) ([]store.DailyCost, error)
}

// overBudget names the active monthly budgets covering service — its own
// and the platform-wide ones — whose projected month-end plus the extra
// monthly cost, for the days left of the month, passes the limit.
func overBudget(ctx context.Context, bs BudgetStore, service string, extraMonthly decimal.Decimal, now time.Time) ([]string, error) {
	if bs == nil || !extraMonthly.IsPositive() {
		return nil, nil
	}
	budgets, err := bs.ListBudgets(ctx, true)
	if err != nil {
		return nil, err
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	yesterday := today.AddDate(0, 0, -1)
	monthEnd := store.PeriodEnd("monthly", today)
	daysInMonth := decimal.NewFromInt(int64(monthEnd.Sub(store.PeriodStart("monthly", today)) / (24 * time.Hour)))
	daysLeft := decimal.NewFromInt(int64(monthEnd.Sub(today) / (24 * time.Hour)))
	extra := extraMonthly.Mul(daysLeft).Div(daysInMonth)
	var over []string
	for _, b := range budgets {
		// Team and feature budgets are not a service's to check.
		if b.Period != "monthly" || b.Team != "" || b.Feature != "" || (b.Service != "" && b.Service != service) {
			continue
		}
		days, err := bs.DailyCosts(ctx, store.CostFilter{Service: b.Service, Currency: b.Currency},
			projection.HistoryStart(yesterday, 120), yesterday)
		if err != nil {
			return nil, err
		}
		pr, err := projection.Project(days, yesterday, 120, 7)
		if err != nil {
			continue // too little history to project: nothing to hold on
		}
		if projected := pr.Total("monthly").Add(extra); projected.GreaterThan(b.Limit) {
			over = append(over, fmt.Sprintf("%s (projected %s + %s of %s)", b.Name, pr.Total("monthly").StringFixed(2), extra.StringFixed(2), b.Limit.StringFixed(2)))
		}
	}
	return over, nil
}
