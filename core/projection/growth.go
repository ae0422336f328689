package projection

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/forecast"
	"github.com/wedsync/scaling/core/store"
)

// ErrNoCompleteMonth means the series holds no calendar month from its
// first to its last day: there is no monthly figure to report yet.
var ErrNoCompleteMonth = errors.New("no complete month of cost")

// Growth is the month-over-month compound growth of monthly totals.
type Growth struct {
	// Rate per month (0.10 is 10 % a month), fitted by least squares on
	// the logarithms of the totals (forecast.FitCompound).
	Rate float64
	// Confidence is the fit's R² (0…1): 1 when every month grew by the
	// same factor.
	Confidence float64
	// Months is how many monthly totals were fitted.
	Months int
}

// MonthlyGrowth fits compound growth to monthly totals, oldest first. It
// needs three positive months: two always lie on a curve.
func MonthlyGrowth(monthly []decimal.Decimal) (Growth, error) {
	c, err := forecast.FitCompound(forecast.FromDecimals(monthly))
	if err != nil {
		return Growth{}, fmt.Errorf("monthly growth: %w", err)
	}
	return Growth{Rate: c.Rate, Confidence: c.R2, Months: len(monthly)}, nil
}

// Month is one calendar month's total.
type Month struct {
	Start time.Time
	Total decimal.Decimal
}

// CompleteMonths are the calendar months the series covers whole, through
// last, oldest first: a month counts when its first day is on or after the
// series' first day of cost (a service that started mid-month has no full
// first month) and its last day is on or before last.
func CompleteMonths(days []store.DailyCost, last time.Time) []Month {
	var first time.Time
	for _, d := range days {
		if !d.Amount.IsZero() {
			first = d.Date
			break
		}
	}
	if first.IsZero() {
		return nil
	}
	type acc struct {
		total decimal.Decimal
		n     int
	}
	by := map[time.Time]*acc{}
	var order []time.Time
	for _, d := range days {
		if d.Date.After(last) {
			continue
		}
		m := store.PeriodStart("monthly", d.Date)
		a := by[m]
		if a == nil {
			a = &acc{}
			by[m] = a
			order = append(order, m)
		}
		a.total, a.n = a.total.Add(d.Amount), a.n+1
	}
	var out []Month
	for _, m := range order {
		end := store.PeriodEnd("monthly", m)
		if m.Before(first) || end.After(last) || by[m].n != int(end.Sub(m)/day)+1 {
			continue
		}
		out = append(out, Month{Start: m, Total: by[m].total})
	}
	return out
}

// growthOf is the growth over the last GrowthMonths complete months of the
// series and the last complete month's total.
func growthOf(days []store.DailyCost, last time.Time) (g Growth, current decimal.NullDecimal, err error) {
	months := CompleteMonths(days, last)
	if len(months) == 0 {
		return g, current, ErrNoCompleteMonth
	}
	current = decimal.NewNullDecimal(months[len(months)-1].Total)
	if len(months) > GrowthMonths {
		months = months[len(months)-GrowthMonths:]
	}
	totals := make([]decimal.Decimal, len(months))
	for i, m := range months {
		totals[i] = m.Total
	}
	g, err = MonthlyGrowth(totals)
	return g, current, err
}
