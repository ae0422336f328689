// Package projection is the one owner of cost projections: how much history
// is fitted (HistoryDays, SeasonDays), which day is the last one counted
// (LastDay), the month/quarter/year totals (actual cost of the period so far
// plus the forecast of its remaining days, the method chosen by back-testing
// on the series itself in core/forecast), the month-over-month growth rate
// and how a set of services adds up to one figure (Summarize). The exporter,
// the admin API, the scaler's budget guard and the Grafana plugin all call
// it, so every screen shows the same month-end for the same data; none of
// them keeps a copy of these defaults.
package projection

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/forecast"
	"github.com/wedsync/scaling/core/store"
)

const (
	// HistoryDays is how many days of daily cost the methods are fitted
	// on: long enough for a seasonal fit to see half a year of trend,
	// short enough that a change of pricing a year ago does not steer it.
	HistoryDays = 180
	// SeasonDays is the season of the Holt-Winters methods: spending
	// follows the week's traffic.
	SeasonDays = 7
	// GrowthMonths is how many of the last complete months the growth
	// rate is fitted on.
	GrowthMonths = 6
	// Places is the rounding of every projected total: cents, so that a
	// total is the same figure on every screen and the overall figure is
	// the sum of the service figures shown beside it.
	Places = 2
)

const day = 24 * time.Hour

// Horizons are the periods projected, by their label.
var Horizons = []struct{ Label, Period string }{{"month", "monthly"}, {"quarter", "quarterly"}, {"year", "yearly"}}

// LastDay is the last day a projection counts as actual at the instant
// now: yesterday (UTC), the last complete day. Today's cost is still
// arriving; counting it as actual would make the month-end move with the
// hour of the query.
func LastDay(now time.Time) time.Time {
	return now.UTC().Truncate(day).AddDate(0, 0, -1)
}

// HistoryStart is the first day to read: far enough back for the fit and
// for the actual cost since the start of the year.
func HistoryStart(last time.Time) time.Time {
	from := last.AddDate(0, 0, -HistoryDays+1)
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
	model      forecast.Model
}

// Extend is the forecast of the h days after Last, for a chart that looks
// further than the year's end. Nil when the series was not projected.
func (p Projection) Extend(h int) []float64 {
	if p.model == nil {
		return nil
	}
	return p.model.Forecast(h)
}

// Forecasted is the forecast cost of the days from through to (after
// Last), in cents: the same sum Total adds to the actual cost.
func (p Projection) Forecasted(from, to time.Time) decimal.Decimal {
	if from.Before(p.Last.AddDate(0, 0, 1)) {
		from = p.Last.AddDate(0, 0, 1)
	}
	if to.Before(from) {
		return decimal.Zero
	}
	start, n := int(from.Sub(p.Last)/day)-1, int(to.Sub(from)/day)+1
	vs := p.Forecast
	if start+n > len(vs) {
		vs = p.Extend(start + n)
	}
	return forecast.SumDecimal(vs[start:start+n], Places)
}

// Total is the projected cost of the period that holds the day after Last:
// actual cost of its days through Last, plus the forecast of the rest,
// rounded to cents (Places).
func (p Projection) Total(period string) decimal.Decimal {
	today := p.Last.AddDate(0, 0, 1)
	start, end := store.PeriodStart(period, today), store.PeriodEnd(period, today)
	actual := decimal.Zero
	for _, d := range p.Days {
		if !d.Date.Before(start) && !d.Date.After(p.Last) {
			actual = actual.Add(d.Amount)
		}
	}
	left := int(end.Sub(p.Last) / day)
	return actual.Add(forecast.SumDecimal(p.Forecast[:left], Places)).Round(Places)
}

// Project fits the last HistoryDays of the series (days through last) and
// forecasts them to the end of the year.
func Project(days []store.DailyCost, last time.Time) (Projection, error) {
	p := Projection{Days: days, Last: last}
	fit := days
	if len(fit) > HistoryDays {
		fit = fit[len(fit)-HistoryDays:]
	}
	// A series starts on its first day of cost: the zeros before a service
	// existed are not a history of spending nothing (a service seen once
	// yesterday has one day of history, not 180). A series of nothing but
	// zeros is a history of spending nothing.
	for i, d := range fit {
		if !d.Amount.IsZero() {
			fit = fit[i:]
			break
		}
	}
	amounts := make([]decimal.Decimal, len(fit))
	for i, d := range fit {
		amounts[i] = d.Amount
	}
	yearEnd := store.PeriodEnd("yearly", last.AddDate(0, 0, 1))
	h := int(yearEnd.Sub(last) / day)
	r, err := forecast.Choose(forecast.FromDecimals(amounts), forecast.Options{Period: SeasonDays})
	if err != nil {
		return p, err
	}
	p.Forecast, p.Confidence, p.Method, p.model = r.Forecast(h), r.Confidence, r.Method(), r.Model
	return p, nil
}
