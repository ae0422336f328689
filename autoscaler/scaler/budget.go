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
	DailyCostsByService(ctx context.Context, f store.CostFilter, from, to time.Time) (map[string][]store.DailyCost, error)
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
	last := projection.LastDay(now)
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
		// The month-end the exporter and Grafana show for this scope
		// (core/projection owns the history, season and last day).
		by, err := bs.DailyCostsByService(ctx, store.CostFilter{Service: b.Service, Currency: b.Currency},
			projection.HistoryStart(last), last)
		if err != nil {
			return nil, err
		}
		month, ok := projection.Summarize(by, last).Total("monthly")
		if !ok {
			continue // too little history to project: nothing to hold on
		}
		if projected := month.Add(extra); projected.GreaterThan(b.Limit) {
			over = append(over, fmt.Sprintf("%s (projected %s + %s of %s)", b.Name, month.StringFixed(2), extra.StringFixed(2), b.Limit.StringFixed(2)))
		}
	}
	return over, nil
}
