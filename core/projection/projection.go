// Package projection projects daily cost series to the end of the month,
// quarter and year: the actual cost of the period so far plus the forecast
// of its remaining days, with the method chosen by back-testing on the
// series itself (core/forecast). The exporter publishes these figures and
// the admin API serves them; both compute them here.
package projection

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/forecast"
	"github.com/wedsync/scaling/core/store"
)

// Horizons are the periods projected, by their label.
var Horizons = []struct{ Label, Period string }{{"month", "monthly"}, {"quarter", "quarterly"}, {"year", "yearly"}}

// HistoryStart is the first day to read: far enough back for the fit and
// for the actual cost since the start of the year.
func HistoryStart(last time.Time, history int) time.Time {
	from := last.AddDate(0, 0, -history+1)
	if ys := store.PeriodStart("yearly", last); ys.Before(from) {
		from = ys
	}
	return from
}

// Projection is one series' forecast through the end of the year.
type Projection struct {
	Days       []store.DailyCost // actual, through Last
	Last       time.Time
	Forecast   []float64 // from the day after Last
	Confidence float64
	Method     string
}

// Total is the projected cost of the period that holds the day after Last:
// actual cost of its days through Last, plus the forecast of the rest.
func (p Projection) Total(period string) decimal.Decimal {
	today := p.Last.AddDate(0, 0, 1)
	start, end := store.PeriodStart(period, today), store.PeriodEnd(period, today)
	actual := decimal.Zero
	for _, d := range p.Days {
		if !d.Date.Before(start) {
			actual = actual.Add(d.Amount)
		}
	}
	left := int(end.Sub(p.Last) / (24 * time.Hour))
	return actual.Add(forecast.SumDecimal(p.Forecast[:left], 2))
}

// Project fits the last history days of the series and forecasts them to
// the end of the year.
func Project(days []store.DailyCost, last time.Time, history, season int) (Projection, error) {
	p := Projection{Days: days, Last: last}
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
	p.Forecast, p.Confidence, p.Method = r.Forecast(h), r.Confidence, r.Method()
	return p, nil
}
