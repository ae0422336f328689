package collector

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/forecast"
	"github.com/wedsync/scaling/core/store"
)

// ProjectionStore is what projections read.
type ProjectionStore interface {
	DailyCostsByService(ctx context.Context, f store.CostFilter, from, to time.Time) (map[string][]store.DailyCost, error)
}

var (
	projectionDesc = desc("cost_projection_usd",
		"Projected cost of the current UTC month, quarter or year: actual cost through yesterday plus the forecast of the days left.",
		"service", "horizon")
	projectionConfidenceDesc = desc("cost_projection_confidence_ratio",
		"Confidence of the projection: 1 − the back-test error of the chosen method on the series' own recent past (0…1).",
		"service", "horizon")
	projectionMethodDesc = desc("cost_projection_method_info",
		"The forecasting method chosen for the service by back-testing (linear, compound, holt_winters, holt_winters_log).",
		"service", "method")
)

// Projections forecasts every service's cost to the end of the month,
// quarter and year.
type Projections struct {
	Store ProjectionStore
	// History is how many days the methods are fitted on.
	History int
	// Season in days (Holt-Winters).
	Season int
}

// Horizons are the periods projected, by their label.
var Horizons = []struct{ Label, Period string }{{"month", "monthly"}, {"quarter", "quarterly"}, {"year", "yearly"}}

func (p Projections) Update(ctx context.Context, now time.Time, ch chan<- prometheus.Metric) error {
	last := yesterday(now)
	from := historyStart(last, p.History)
	by, err := p.Store.DailyCostsByService(ctx, store.CostFilter{}, from, last)
	if err != nil {
		return fmt.Errorf("daily costs: %w", err)
	}
	services := make([]string, 0, len(by))
	for s := range by {
		services = append(services, s)
	}
	sort.Strings(services)
	for _, svc := range services {
		pr, err := project(by[svc], last, p.History, p.Season)
		if err != nil {
			return fmt.Errorf("project %s: %w", svc, err)
		}
		for _, h := range Horizons {
			ch <- gauge(projectionDesc, pr.total(h.Period), svc, h.Label)
			ch <- gaugeF(projectionConfidenceDesc, pr.confidence, svc, h.Label)
		}
		ch <- gaugeF(projectionMethodDesc, 1, svc, pr.method)
	}
	return nil
}

// historyStart is the first day read: far enough back for the fit and for
// the actual cost since the start of the year.
func historyStart(last time.Time, history int) time.Time {
	from := last.AddDate(0, 0, -history+1)
	if ys := store.PeriodStart("yearly", last); ys.Before(from) {
		from = ys
	}
	return from
}

// projection is one series' forecast through the end of the year.
type projection struct {
	days       []store.DailyCost // actual, through last
	last       time.Time
	forecast   []float64 // from the day after last
	confidence float64
	method     string
}

// total is the projected cost of the period that holds the day after last:
// actual cost of its days through last, plus the forecast of the rest.
func (p projection) total(period string) decimal.Decimal {
	today := p.last.AddDate(0, 0, 1)
	start, end := store.PeriodStart(period, today), store.PeriodEnd(period, today)
	actual := decimal.Zero
	for _, d := range p.days {
		if !d.Date.Before(start) {
			actual = actual.Add(d.Amount)
		}
	}
	left := int(end.Sub(p.last) / (24 * time.Hour))
	return actual.Add(forecast.SumDecimal(p.forecast[:left], 2))
}

// project fits the last history days of the series and forecasts them to
// the end of the year.
func project(days []store.DailyCost, last time.Time, history, season int) (projection, error) {
	p := projection{days: days, last: last}
	fit := days
	if len(fit) > history {
		fit = fit[len(fit)-history:]
	}
	// A series starts on its first day of cost: the zeros before a service
	// existed are not a history of spending nothing.
	for len(fit) > 3 && fit[0].Amount.IsZero() {
		fit = fit[1:]
	}
	amounts := make([]decimal.Decimal, len(fit))
	for i, d := range fit {
		amounts[i] = d.Amount
	}
	yearEnd := store.PeriodEnd("yearly", last.AddDate(0, 0, 1))
	h := int(yearEnd.Sub(last) / (24 * time.Hour))
	r, err := forecast.Choose(forecast.FromDecimals(amounts), forecast.Options{Period: season})
	if err != nil {
		return p, err
	}
	p.forecast, p.confidence, p.method = r.Forecast(h), r.Confidence, r.Method()
	return p, nil
}
