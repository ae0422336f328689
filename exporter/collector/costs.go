package collector

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wedsync/scaling/core/store"
)

// CostStore is what the cost collector reads.
type CostStore interface {
	CostLines(ctx context.Context, day, asOf time.Time, baselineDays int, currency string) ([]store.CostLine, error)
	UsageLines(ctx context.Context, day time.Time, baselineDays int) ([]store.UsageLine, error)
}

var (
	costDailyDesc = desc("cost_daily_usd",
		"Cost of the last complete UTC day (yesterday), summed over sources, resource ids and charge categories.",
		"service", "resource", "team", "feature")
	costMTDDesc = desc("cost_month_to_date_usd",
		"Cost from the 1st of the current UTC month through today so far.", "service", "resource", "team", "feature")
	costCreditsMTDDesc = desc("cost_credits_month_to_date_usd",
		"Credits (FOCUS ChargeCategory Credit) taken off the month-to-date cost so far, as a positive amount; only series with credits.",
		"service", "resource", "team", "feature")
	costRefundsMTDDesc = desc("cost_refunds_month_to_date_usd",
		"Refunds and corrections (negative lines of any charge category but Credit, a FOCUS ChargeClass Correction among them) taken off the month-to-date cost so far, as a positive amount; only series with refunds.",
		"service", "resource", "team", "feature")
	costBaselineDesc = desc("cost_daily_baseline_usd",
		"Mean daily cost over the baseline days before yesterday (7 by default): what a spike is measured against.",
		"service", "resource", "team", "feature")
	usageDailyDesc = desc("usage_daily",
		"Usage quantity billed for the last complete UTC day, in the unit of the unit label.", "service", "resource", "unit")
	usageBaselineDesc = desc("usage_daily_baseline",
		"Mean daily usage quantity over the baseline days before yesterday.", "service", "resource", "unit")
	costDayDesc = desc("cost_day_timestamp_seconds",
		"Start of the UTC day the daily cost and usage values are of (Unix time).")
)

// Costs exports cost and usage per series: yesterday, month to date, and
// the baseline.
type Costs struct {
	Store        CostStore
	BaselineDays int
}

func (c Costs) Update(ctx context.Context, now time.Time, ch chan<- prometheus.Metric) error {
	day := yesterday(now)
	lines, err := c.Store.CostLines(ctx, day, now, c.BaselineDays, "USD")
	if err != nil {
		return fmt.Errorf("cost lines: %w", err)
	}
	usage, err := c.Store.UsageLines(ctx, day, c.BaselineDays)
	if err != nil {
		return fmt.Errorf("usage lines: %w", err)
	}
	for _, l := range lines {
		labels := []string{l.Service, l.Resource, l.Team, l.Feature}
		ch <- gauge(costDailyDesc, l.Day, labels...)
		ch <- gauge(costMTDDesc, l.MonthToDate, labels...)
		ch <- gauge(costBaselineDesc, l.Baseline, labels...)
		if !l.CreditsMonthToDate.IsZero() {
			ch <- gauge(costCreditsMTDDesc, l.CreditsMonthToDate, labels...)
		}
		if !l.RefundsMonthToDate.IsZero() {
			ch <- gauge(costRefundsMTDDesc, l.RefundsMonthToDate, labels...)
		}
	}
	for _, u := range usage {
		ch <- gauge(usageDailyDesc, u.Day, u.Service, u.Resource, u.Unit)
		ch <- gauge(usageBaselineDesc, u.Baseline, u.Service, u.Resource, u.Unit)
	}
	ch <- gaugeF(costDayDesc, unix(day))
	return nil
}
