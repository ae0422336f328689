package forecast

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Options tune Choose.
type Options struct {
	// Period of the season in steps (7 for daily data with a weekly
	// pattern); below 2 the seasonal methods run without a season.
	Period int
	// Holdout is how many of the last points the back-test forecasts
	// (default a quarter of the series, at most 90, at least 1).
	Holdout int
}

// Result is the method chosen for a series, fitted on all of it.
type Result struct {
	Model
	// Confidence is 1 − the back-test's mean absolute percentage error,
	// clamped to 0…1: how well this method forecast the series' own last
	// points from the points before them.
	Confidence float64
	// Backtest is every candidate's back-test MAPE, by method.
	Backtest map[string]float64
}

type candidate struct {
	name string
	fit  func(y []float64, period int) (Model, error)
}

// Candidates in order of simplicity: on equal back-test error the simpler
// method wins.
var candidates = []candidate{
	{"linear", func(y []float64, _ int) (Model, error) { return FitLinear(y) }},
	{"compound", func(y []float64, _ int) (Model, error) { return FitCompound(y) }},
	{"holt_winters", func(y []float64, p int) (Model, error) { return FitHoltWinters(y, p) }},
	{"holt_winters_log", func(y []float64, p int) (Model, error) { return FitHoltWintersLog(y, p) }},
}

// Choose back-tests every method that fits the series (fit on all but the
// last Holdout points, forecast those, measure MAPE), picks the one with the
// smallest error and refits it on the whole series.
func Choose(y []float64, opts Options) (Result, error) {
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Result{}, fmt.Errorf("point %d is %v", i, v)
		}
	}
	n := len(y)
	if n < 3 {
		return Result{}, fmt.Errorf("choose a method for %d points: %w", n, ErrTooShort)
	}
	hold := opts.Holdout
	if hold <= 0 {
		hold = min(n/4, 90)
	}
	hold = max(1, min(hold, n-3)) // the simplest methods need 3 training points
	train, test := y[:n-hold], y[n-hold:]
	scores := map[string]float64{}
	var order []string
	for _, c := range candidates {
		m, err := c.fit(train, opts.Period)
		if err != nil {
			continue // too short or not positive: this method cannot run
		}
		scores[c.name] = MAPE(test, m.Forecast(hold))
		order = append(order, c.name)
	}
	best := ""
	for _, name := range order {
		if best == "" || scores[name] < scores[best] {
			best = name
		}
	}
	if best == "" {
		return Result{}, errors.New("no method fits the series")
	}
	for _, c := range candidates {
		if c.name != best {
			continue
		}
		m, err := c.fit(y, opts.Period)
		if err != nil {
			// A method that fits the start of a series fits all of it,
			// unless the holdout added a value ≤ 0 (log methods).
			m, err = FitLinear(y)
			if err != nil {
				return Result{}, err
			}
		}
		return Result{Model: m, Confidence: clamp01(1 - scores[best]), Backtest: scores}, nil
	}
	panic("unreachable")
}

// String lists the back-test scores, best first, for logs.
func (r Result) String() string {
	names := make([]string, 0, len(r.Backtest))
	for k := range r.Backtest {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return r.Backtest[names[i]] < r.Backtest[names[j]] })
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=%.3f", k, r.Backtest[k])
	}
	return fmt.Sprintf("%s (confidence %.2f; back-test MAPE %s)", r.Method(), r.Confidence, strings.Join(parts, " "))
}

// MAPE is the mean absolute percentage error of forecast against actual, as
// a fraction. Points whose actual value is 0 have no percentage error and
// are skipped; if every actual is 0 the error is the mean absolute error
// relative to 1, so that a forecast of zeros still scores 0.
func MAPE(actual, forecast []float64) float64 {
	var sum, abs float64
	var n int
	for i, a := range actual {
		e := math.Abs(forecast[i] - a)
		abs += e
		if a != 0 {
			sum += e / math.Abs(a)
			n++
		}
	}
	if n == 0 {
		return abs / float64(max(len(actual), 1))
	}
	return sum / float64(n)
}
