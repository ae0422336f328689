package collector

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/projection"
	"github.com/wedsync/scaling/core/store"
)

// BudgetStore is what the budget collector reads and keeps.
type BudgetStore interface {
	RefreshBudgetSpend(ctx context.Context, asOf time.Time) ([]store.Budget, error)
	DailyCostsByService(ctx context.Context, f store.CostFilter, from, to time.Time) (map[string][]store.DailyCost, error)
}

var (
	budgetLimitDesc   = desc("budget_limit_usd", "Limit of the budget for its current period.", "budget")
	budgetSpendDesc   = desc("budget_spend_usd", "Spend counted against the budget in its current period (cost_budgets.current_spend).", "budget")
	budgetUtilDesc    = desc("budget_utilization_ratio", "Spend over limit of the budget (1 = the whole budget is spent).", "budget")
	budgetThreshDesc  = desc("budget_alert_threshold_ratio", "An alert threshold of the budget (cost_budgets.alert_thresholds), as a ratio of the limit.", "budget", "threshold_percent")
	budgetInfoDesc    = desc("budget_info", "The budget's period and scope (an empty label spans everything).", "budget", "period", "service", "team", "feature")
	budgetProjDesc    = desc("budget_projected_spend_usd", "Projected spend of the budget at the end of its current period.", "budget")
	budgetProjConfDsc = desc("budget_projection_confidence_ratio", "Confidence of the budget's projection (0…1).", "budget")
)

// Budgets refreshes every active budget's spend from cost_tracking and
// exports it with its thresholds and its projection to the period's end:
// the overall projection (core/projection.Summarize) of the services in its
// scope, the same figure the admin API and Grafana show for that scope.
type Budgets struct {
	Store  BudgetStore
	Logger *slog.Logger
}

func (b Budgets) Update(ctx context.Context, now time.Time, ch chan<- prometheus.Metric) error {
	budgets, err := b.Store.RefreshBudgetSpend(ctx, now)
	if err != nil {
		return err
	}
	last := projection.LastDay(now)
	for _, bg := range budgets {
		if bg.Currency != "USD" {
			b.Logger.Warn("budget not in USD left out", "budget", bg.Name, "currency", bg.Currency)
			continue
		}
		ch <- gauge(budgetLimitDesc, bg.Limit, bg.Name)
		ch <- gauge(budgetSpendDesc, bg.Spend, bg.Name)
		ch <- gauge(budgetUtilDesc, bg.Spend.DivRound(bg.Limit, 6), bg.Name)
		ch <- gaugeF(budgetInfoDesc, 1, bg.Name, bg.Period, bg.Service, bg.Team, bg.Feature)
		for _, t := range bg.AlertThresholds {
			ch <- gauge(budgetThreshDesc, decimal.New(int64(t), -2), bg.Name, strconv.Itoa(t))
		}
		by, err := b.Store.DailyCostsByService(ctx, store.CostFilter{Service: bg.Service, Team: bg.Team, Feature: bg.Feature, Currency: bg.Currency},
			projection.HistoryStart(last), last)
		if err != nil {
			return fmt.Errorf("budget %s: %w", bg.Name, err)
		}
		sum := projection.Summarize(by, last)
		total, ok := sum.Total(bg.Period)
		if !ok {
			// No projection is not a projection of 0: the series is
			// absent, and the other budgets stand.
			b.Logger.Info("budget projection skipped: too little history", "budget", bg.Name)
			continue
		}
		ch <- gauge(budgetProjDesc, total, bg.Name)
		ch <- gaugeF(budgetProjConfDsc, sum.Overall.Confidence, bg.Name)
	}
	return nil
}
