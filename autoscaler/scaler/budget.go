package scaler

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/projection"
	"github.com/wedsync/scaling/core/store"
)

// BudgetStore is what the budget check reads.
type BudgetStore interface {
	ListBudgets(ctx context.Context, activeOnly bool) ([]store.Budget, error)
	DailyCostsByService(ctx context.Context, f store.CostFilter, from, to time.Time) (map[string][]store.DailyCost, error)
	BillingLineCosts(ctx context.Context, lines []store.BillingLine, currency string, from, to time.Time) (store.LineCosts, error)
}

var _ BudgetStore = (*store.Store)(nil) // serve.go wires the store only if it fits

// budgetVerdict is what the budget check found for a scale-up.
type budgetVerdict struct {
	// over names the limits the scale-up passes.
	over []string
	// notes say what could not be judged: the service's own cost when it
	// names no billing lines (or they matched no row), the scale-up's price
	// when the policy prices no level. They go in the decision and event.
	notes []string
}

// overBudget checks a scale-up of service p against the active monthly
// budgets covering it and, when the policy has one, its cost ceiling on
// what its billing lines are billed. A budget covers p when it is
// platform-wide or scoped to a billing service one of p's billing lines
// names — budgets are written in what we pay for (vercel, supabase),
// services in what we scale (api), and the billing lines map one onto the
// other. A limit is passed when the projected month-end plus the extra
// monthly cost, for the days left of the month, is above it. An unknown
// extra (unpriced levels) counts as nothing on top of the projection: a
// scale-up never costs less, so a projection already past a limit holds it.
func overBudget(ctx context.Context, bs BudgetStore, p *policy.Service, service string, extraMonthly decimal.NullDecimal, now time.Time) (budgetVerdict, error) {
	var v budgetVerdict
	if bs == nil || extraMonthly.Valid && !extraMonthly.Decimal.IsPositive() {
		return v, nil
	}
	extraMonthlyKnown := extraMonthly.Decimal
	if !extraMonthly.Valid {
		v.notes = append(v.notes, "the scale-up's cost is unknown (the policy prices no level of "+service+")")
		extraMonthlyKnown = decimal.Zero
	}
	if !p.Mapped() {
		v.notes = append(v.notes, service+"'s own cost is unknown (no billing lines): only platform-wide budgets checked")
	}
	budgets, err := bs.ListBudgets(ctx, true)
	if err != nil {
		return v, err
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	last := projection.LastDay(now) // core/projection owns the history, season and last day
	monthEnd := store.PeriodEnd("monthly", today)
	daysInMonth := decimal.NewFromInt(int64(monthEnd.Sub(store.PeriodStart("monthly", today)) / (24 * time.Hour)))
	daysLeft := decimal.NewFromInt(int64(monthEnd.Sub(today) / (24 * time.Hour)))
	extra := extraMonthlyKnown.Mul(daysLeft).Div(daysInMonth)
	from := projection.HistoryStart(last)
	check := func(name string, limit, month decimal.Decimal, ok bool) {
		if !ok {
			return // too little history to project: nothing to hold on
		}
		if projected := month.Add(extra); projected.GreaterThan(limit) {
			v.over = append(v.over, fmt.Sprintf("%s (projected %s + %s of %s)", name, month.StringFixed(2), extra.StringFixed(2), limit.StringFixed(2)))
		}
	}
	for _, b := range budgets {
		// Team and feature budgets are not a service's to check.
		if b.Period != "monthly" || b.Team != "" || b.Feature != "" || (b.Service != "" && !p.CoveredByBudget(b.Service)) {
			continue
		}
		// The budget's month-end is its scope's overall figure, the one
		// the exporter, the admin API and Grafana show for it.
		by, err := bs.DailyCostsByService(ctx, store.CostFilter{Service: b.Service, Currency: b.Currency}, from, last)
		if err != nil {
			return v, err
		}
		month, ok := projection.Summarize(by, last).Total("monthly")
		check(b.Name, b.Limit, month, ok)
	}
	// The policy's ceiling is also judged on what the service is billed:
	// the priced ceiling (decision) sees only the levels' prices.
	if c := p.MonthlyCostCeiling; c != nil && p.Mapped() {
		lc, err := bs.BillingLineCosts(ctx, p.BillingLines(), "USD", from, last)
		if err != nil {
			return v, err
		}
		if lc.Matched() {
			if pr, err := projection.Project(lc.Daily(), last); err == nil {
				check("the monthly cost ceiling on "+service+"'s billing lines", *c, pr.Total("monthly"), true)
			}
		} else {
			v.notes = append(v.notes, service+"'s billing lines matched no cost row: its billed cost is unknown")
		}
	}
	return v, nil
}
