package projection

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/forecast"
	"github.com/wedsync/scaling/core/forecast/synthetic"
	"github.com/wedsync/scaling/core/store"
)

func dailyFrom(first time.Time, amounts ...decimal.Decimal) []store.DailyCost {
	out := make([]store.DailyCost, len(amounts))
	for i, a := range amounts {
		out[i] = store.DailyCost{Date: first.AddDate(0, 0, i), Amount: a}
	}
	return out
}

// A flat 10.00 a day projects the month, quarter and year to 10.00 × their
// days, in decimal.
func TestProjectFlatSeries(t *testing.T) {
	t.Parallel()
	last := time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC) // through the 14th
	var days []store.DailyCost
	for d := HistoryStart(last); !d.After(last); d = d.AddDate(0, 0, 1) {
		days = append(days, store.DailyCost{Date: d, Amount: decimal.RequireFromString("10.00")})
	}
	p, err := Project(days, last)
	if err != nil {
		t.Fatal(err)
	}
	for period, want := range map[string]string{"monthly": "300.00", "quarterly": "920.00", "yearly": "3650.00"} {
		if got := p.Total(period).StringFixed(2); got != want {
			t.Errorf("%s = %s, want %s (method %s)", period, p.Total(period), want, p.Method)
		}
	}
	if p.Confidence < 0.99 {
		t.Errorf("confidence %v on a flat series", p.Confidence)
	}
	// Past the year's end too (January, for a chart of the next month),
	// and never the days already counted as actual.
	if got := p.Forecasted(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)).StringFixed(2); got != "310.00" {
		t.Errorf("January forecast %s, want 310.00", got)
	}
	if got := p.Forecasted(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)).StringFixed(2); got != "160.00" {
		t.Errorf("rest of November %s, want 160.00 (15th to 30th)", got)
	}
	if _, err := Project(days[:2], last); err == nil {
		t.Fatal("two days projected")
	}
}

// LastDay is the last complete UTC day, whatever the hour or zone of now.
func TestLastDay(t *testing.T) {
	t.Parallel()
	for now, want := range map[time.Time]string{
		time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC):                     "2026-12-02",
		time.Date(2026, 12, 3, 23, 59, 59, 0, time.UTC):                  "2026-12-02",
		time.Date(2026, 12, 4, 0, 30, 0, 0, time.FixedZone("CET", 3600)): "2026-12-02", // 23:30 UTC on the 3rd
	} {
		if got := LastDay(now); got.Format(time.DateOnly) != want || got.Location() != time.UTC {
			t.Errorf("LastDay(%s) = %s, want %s UTC", now, got, want)
		}
	}
}

// The spec's test: monthly 100, 110, 121, 133 grow 10 % a month with a
// confidence above 0.7.
func TestMonthlyGrowthSpec(t *testing.T) {
	t.Parallel()
	g, err := MonthlyGrowth([]decimal.Decimal{decimal.NewFromInt(100), decimal.NewFromInt(110), decimal.NewFromInt(121), decimal.NewFromInt(133)})
	if err != nil {
		t.Fatal(err)
	}
	if math.Round(g.Rate*100)/100 != 0.10 || g.Confidence <= 0.7 || g.Months != 4 {
		t.Fatalf("growth %+v, want rate 0.10, confidence > 0.7, 4 months", g)
	}
	// Too few months, or a month with nothing spent, has no compound rate.
	if _, err := MonthlyGrowth([]decimal.Decimal{decimal.NewFromInt(100), decimal.NewFromInt(110)}); !errors.Is(err, forecast.ErrTooShort) {
		t.Errorf("two months: %v", err)
	}
	if _, err := MonthlyGrowth([]decimal.Decimal{decimal.NewFromInt(100), decimal.Zero, decimal.NewFromInt(121)}); !errors.Is(err, forecast.ErrNonPositive) {
		t.Errorf("a zero month: %v", err)
	}
}

// The spec's series as daily cost (each month's total spread over its
// days, in exact cents with the remainder on the 1st), projected through
// Summarize as every caller does: growth 0.10 with confidence > 0.7, the
// current month is the last complete one (133), and a series that starts
// mid-month does not count its first, partial month.
func TestSummarizeSpecSeries(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	var days []store.DailyCost
	for i, total := range []int64{10000, 11000, 12100, 13300} { // cents
		m := first.AddDate(0, i, 0)
		n := int64(store.PeriodEnd("monthly", m).Day())
		for d := range n {
			c := total / n
			if d == 0 {
				c += total % n
			}
			days = append(days, store.DailyCost{Date: m.AddDate(0, 0, int(d)), Amount: decimal.New(c, -2)})
		}
	}
	last := days[len(days)-1].Date // 30 November
	// A second service that started on 10 October: one complete month.
	var late []store.DailyCost
	for d := time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC); !d.After(last); d = d.AddDate(0, 0, 1) {
		late = append(late, store.DailyCost{Date: d, Amount: decimal.RequireFromString("1.50")})
	}
	s := Summarize(map[string][]store.DailyCost{"api": days, "cdn": late}, last)
	api, cdn := s.Services[0], s.Services[1]
	if api.Name != "api" || api.Err != nil || api.Growth == nil {
		t.Fatalf("api: %+v", api)
	}
	if math.Round(api.Growth.Rate*100)/100 != 0.10 || api.Growth.Confidence <= 0.7 || api.Confidence <= 0.7 {
		t.Errorf("api growth %+v, projection confidence %v: want 0.10, both > 0.7", api.Growth, api.Confidence)
	}
	if got := api.CurrentMonthly.Decimal.StringFixed(2); !api.CurrentMonthly.Valid || got != "133.00" {
		t.Errorf("api current monthly %s (valid %v), want 133.00", got, api.CurrentMonthly.Valid)
	}
	if !cdn.CurrentMonthly.Valid || cdn.CurrentMonthly.Decimal.StringFixed(2) != "45.00" || cdn.Growth != nil {
		t.Errorf("cdn: current %v, growth %+v: want November only (45.00) and no growth", cdn.CurrentMonthly, cdn.Growth)
	}
	// The overall figures add up the services' own.
	for _, h := range Horizons {
		want := api.Projected[h.Period].Add(cdn.Projected[h.Period])
		if got, ok := s.Total(h.Period); !ok || !got.Equal(want) {
			t.Errorf("overall %s %s, want %s", h.Period, got, want)
		}
	}
	if got := s.Overall.CurrentMonthly.Decimal.StringFixed(2); got != "178.00" {
		t.Errorf("overall current monthly %s, want 178.00", got)
	}
	if c := s.Overall.Confidence; c < math.Min(api.Confidence, cdn.Confidence) || c > math.Max(api.Confidence, cdn.Confidence) {
		t.Errorf("overall confidence %v outside the services' %v…%v", c, api.Confidence, cdn.Confidence)
	}
}

// A service too short to project is reported on its own, left out of the
// overall totals and named; the others stand. With nothing projectable the
// overall total is unknown, not 0.
func TestSummarizeShortSeries(t *testing.T) {
	t.Parallel()
	last := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	var long []store.DailyCost
	for d := last.AddDate(0, 0, -59); !d.After(last); d = d.AddDate(0, 0, 1) {
		long = append(long, store.DailyCost{Date: d, Amount: decimal.RequireFromString("2.00")})
	}
	short := dailyFrom(last.AddDate(0, 0, -1), decimal.NewFromInt(5), decimal.NewFromInt(5))
	s := Summarize(map[string][]store.DailyCost{"db": long, "new": short}, last)
	if len(s.Excluded) != 1 || s.Excluded[0] != "new" || s.Services[1].Err == nil {
		t.Fatalf("excluded %v, new %+v", s.Excluded, s.Services[1])
	}
	if got, ok := s.Total("monthly"); !ok || !got.Equal(s.Services[0].Projected["monthly"]) {
		t.Errorf("overall month %s, want db's %s", got, s.Services[0].Projected["monthly"])
	}
	if _, ok := Summarize(map[string][]store.DailyCost{"new": short}, last).Total("monthly"); ok {
		t.Error("a total of nothing projected")
	}
}

// The back-test of the acceptance: on the synthetic growth series
// (10 % a month, 3 % noise; and a weekly pattern on a trend), fitted on
// HistoryDays as the projection is, the forecast of the next three months
// has a MAPE ≤ 10 % day by day, and the projected quarter total is within
// 10 % of the actual one.
func TestBacktestThreeMonths(t *testing.T) {
	t.Parallel()
	const ahead, seeds = 90, 10
	for _, shape := range synthetic.Shapes {
		t.Run(shape.Name, func(t *testing.T) {
			t.Parallel()
			var mape, totalErr float64
			for seed := range seeds {
				y, truth := shape.Series(uint64(seed), HistoryDays+ahead)
				first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
				last := first.AddDate(0, 0, HistoryDays-1) // 29 June: the forecast covers Q3 (92 days)
				amounts := make([]decimal.Decimal, HistoryDays)
				for i := range amounts {
					amounts[i] = decimal.NewFromFloat(y[i]).Round(6)
				}
				p, err := Project(dailyFrom(first, amounts...), last)
				if err != nil {
					t.Fatal(err)
				}
				actual := y[HistoryDays:]
				if shape.Noise > 0.05 {
					actual = truth[HistoryDays:] // no method beats the noise itself
				}
				mape += forecast.MAPE(actual, p.Forecast[:ahead]) / seeds
				var want, got float64
				for i, a := range actual {
					want, got = want+a, got+p.Forecast[i]
				}
				totalErr += math.Abs(got-want) / want / seeds
			}
			t.Logf("%s: 3-month MAPE %.2f %%, 3-month total off by %.2f %%", shape.Name, 100*mape, 100*totalErr)
			if mape > 0.10 || totalErr > 0.10 {
				t.Errorf("3-month MAPE %.3f, total error %.3f: above 10 %%", mape, totalErr)
			}
		})
	}
}
