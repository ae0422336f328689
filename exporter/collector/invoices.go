package collector

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/exporter/billing"
)

// TotalStore sums what a source recorded.
type TotalStore interface {
	SourceTotal(ctx context.Context, source string, from, to time.Time) (decimal.Decimal, error)
}

var (
	estimateDesc    = desc("cost_estimate_usd", "What an estimating source (Supabase) recorded for a month with an invoice on file.", "source", "month")
	invoiceDesc     = desc("cost_invoice_usd", "The month's invoice, as recorded in the config.", "source", "month")
	estimateErrDesc = desc("cost_estimate_error_ratio", "(estimate − invoice) / invoice: how close the estimate came.", "source", "month")
)

// Invoices compares what estimating sources recorded with their invoices.
type Invoices struct {
	Store    TotalStore
	Invoices map[string][]billing.Invoice // by source name
}

func (c Invoices) Update(ctx context.Context, _ time.Time, ch chan<- prometheus.Metric) error {
	for source, invs := range c.Invoices {
		for _, inv := range invs {
			start, err := inv.MonthStart()
			if err != nil {
				return err
			}
			est, err := c.Store.SourceTotal(ctx, source, start, store.PeriodEnd("monthly", start))
			if err != nil {
				return fmt.Errorf("%s %s: %w", source, inv.Month, err)
			}
			ch <- gauge(estimateDesc, est, source, inv.Month)
			ch <- gauge(invoiceDesc, inv.Amount, source, inv.Month)
			ch <- gauge(estimateErrDesc, est.Sub(inv.Amount).DivRound(inv.Amount, 6), source, inv.Month)
		}
	}
	return nil
}
