package projection

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
)

// Figures are what a screen shows of a projection: the projected totals by
// period ("monthly", "quarterly", "yearly"), the confidence of the
// projection, the growth rate of the monthly totals and the last complete
// month's total.
type Figures struct {
	Projected map[string]decimal.Decimal
	// Confidence is the projection's back-test score (0…1): for a
	// service 1 − the MAPE of the chosen method on its own recent past;
	// overall the mean of the services' scores weighted by their
	// projected month.
	Confidence float64
	Method     string // a service's chosen method; empty overall
	// Growth is nil (GrowthErr says why) under three complete months.
	Growth    *Growth
	GrowthErr error
	// CurrentMonthly is the last complete month's total; null before the
	// first complete month (unknown, never 0).
	CurrentMonthly decimal.NullDecimal
}

// Service is one service's projection; Err is set (and Figures.Projected
// empty) when its series is too short to project.
type Service struct {
	Name string
	Figures
	Projection Projection
	Err        error
}

// Summary is the projection of a set of services and of their total.
type Summary struct {
	Last     time.Time
	Services []Service // by name
	// Overall: each period's total is the sum of the projected services'
	// totals (already in cents), so it is the sum of the figures shown
	// beside it; growth and current month are those of the summed series.
	Overall Figures
	// Excluded names the services left out of the overall totals because
	// they could not be projected.
	Excluded []string
}

// Summarize projects every service's series through last and their total.
// One series too short to project never hides the others: it is reported
// on its own and named in Excluded.
func Summarize(by map[string][]store.DailyCost, last time.Time) Summary {
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	sort.Strings(names)
	s := Summary{Last: last, Overall: Figures{Projected: map[string]decimal.Decimal{}}}
	var sum []store.DailyCost
	index := map[time.Time]int{}
	weight, weighted := decimal.Zero, 0.0
	var confs []float64
	for _, n := range names {
		days := by[n]
		for _, d := range days {
			i, ok := index[d.Date]
			if !ok {
				i = len(sum)
				index[d.Date] = i
				sum = append(sum, store.DailyCost{Date: d.Date, Amount: decimal.Zero})
			}
			sum[i].Amount = sum[i].Amount.Add(d.Amount)
		}
		svc := Service{Name: n, Figures: figuresOf(days, last)}
		pr, err := Project(days, last)
		if err != nil {
			svc.Err = err
			s.Excluded = append(s.Excluded, n)
			s.Services = append(s.Services, svc)
			continue
		}
		svc.Projection, svc.Confidence, svc.Method = pr, pr.Confidence, pr.Method
		for _, h := range Horizons {
			t := pr.Total(h.Period)
			svc.Projected[h.Period] = t
			s.Overall.Projected[h.Period] = s.Overall.Projected[h.Period].Add(t)
		}
		m := svc.Projected["monthly"]
		weight = weight.Add(m)
		weighted += pr.Confidence * m.InexactFloat64()
		confs = append(confs, pr.Confidence)
		s.Services = append(s.Services, svc)
	}
	sort.Slice(sum, func(i, j int) bool { return sum[i].Date.Before(sum[j].Date) })
	ov := figuresOf(sum, last)
	ov.Projected = s.Overall.Projected
	switch {
	case weight.IsPositive():
		ov.Confidence = weighted / weight.InexactFloat64()
	case len(confs) > 0: // nothing projected to spend: every service counts the same
		for _, c := range confs {
			ov.Confidence += c / float64(len(confs))
		}
	}
	s.Overall = ov
	return s
}

func figuresOf(days []store.DailyCost, last time.Time) Figures {
	f := Figures{Projected: map[string]decimal.Decimal{}}
	g, cur, err := growthOf(days, last)
	f.CurrentMonthly = cur
	if err != nil {
		f.GrowthErr = err
	} else {
		f.Growth = &g
	}
	return f
}

// Total is the overall projected total of period, false when no service
// could be projected (unknown, never 0).
func (s Summary) Total(period string) (decimal.Decimal, bool) {
	if len(s.Services) == len(s.Excluded) {
		return decimal.Zero, false
	}
	return s.Overall.Projected[period], true
}
