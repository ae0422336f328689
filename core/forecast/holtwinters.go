package forecast

import (
	"fmt"
	"math"
)

// HoltWinters is additive Holt-Winters (level, trend and a season of Period
// steps), or Holt's linear trend method when Period < 2. With Log set it
// runs on ln y, which makes trend and season multiplicative: compound growth
// with a weekly pattern is a straight line plus a repeating shape there.
//
// The smoothing parameters are chosen on a grid by the smallest sum of
// squared one-step-ahead errors, the usual criterion.
type HoltWinters struct {
	Alpha, Beta, Gamma float64
	Period             int
	Log                bool

	level, trend float64
	season       []float64 // indexed by t mod Period
	n            int
}

// Grids of the smoothing parameters. β starts above 0: the initial trend
// comes from two seasons only and must be allowed to move.
var (
	alphas = []float64{0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9}
	betas  = []float64{0.01, 0.05, 0.1, 0.2}
	gammas = []float64{0.05, 0.1, 0.2, 0.4}
)

// FitHoltWinters fits the additive method. A seasonal fit needs two full
// seasons plus one point; a non-seasonal one three points.
func FitHoltWinters(y []float64, period int) (*HoltWinters, error) {
	return fitHW(y, period, false)
}

// FitHoltWintersLog fits the method on ln y (all values must be positive).
func FitHoltWintersLog(y []float64, period int) (*HoltWinters, error) {
	logs := make([]float64, len(y))
	for i, v := range y {
		if !(v > 0) {
			return nil, fmt.Errorf("holt-winters (log) fit: point %d is %v: %w", i, v, ErrNonPositive)
		}
		logs[i] = math.Log(v)
	}
	return fitHW(logs, period, true)
}

func fitHW(y []float64, period int, log bool) (*HoltWinters, error) {
	if period < 2 {
		period = 1
	}
	need := 3
	if period > 1 {
		need = 2*period + 1
	}
	if len(y) < need {
		return nil, fmt.Errorf("holt-winters fit of %d points with period %d: %w", len(y), period, ErrTooShort)
	}
	gs := gammas
	if period == 1 {
		gs = []float64{0}
	}
	best := math.Inf(1)
	var bestHW *HoltWinters
	season := make([]float64, period)
	for _, a := range alphas {
		for _, b := range betas {
			for _, g := range gs {
				hw := &HoltWinters{Alpha: a, Beta: b, Gamma: g, Period: period, Log: log, season: season}
				sse := hw.run(y)
				if sse < best {
					best = sse
					cp := *hw
					cp.season = append([]float64(nil), hw.season...)
					bestHW = &cp
				}
			}
		}
	}
	if bestHW == nil { // every run produced NaN: non-finite input
		return nil, fmt.Errorf("holt-winters fit: series has non-finite values")
	}
	return bestHW, nil
}

// run smooths y with the receiver's parameters, leaving the final state in
// it, and returns the sum of squared one-step-ahead errors.
func (hw *HoltWinters) run(y []float64) float64 {
	m := hw.Period
	var start int
	if m == 1 {
		hw.level, hw.trend = y[0], y[1]-y[0]
		hw.season[0] = 0
		start = 1
	} else {
		m1, m2 := mean(y[:m]), mean(y[m:2*m])
		hw.level, hw.trend = m1, (m2-m1)/float64(m)
		for i := 0; i < m; i++ {
			hw.season[i] = y[i] - m1
		}
		start = m
	}
	var sse float64
	for t := start; t < len(y); t++ {
		s := hw.season[t%m]
		e := y[t] - (hw.level + hw.trend + s)
		sse += e * e
		level := hw.Alpha*(y[t]-s) + (1-hw.Alpha)*(hw.level+hw.trend)
		hw.trend = hw.Beta*(level-hw.level) + (1-hw.Beta)*hw.trend
		if m > 1 {
			hw.season[t%m] = hw.Gamma*(y[t]-level) + (1-hw.Gamma)*s
		}
		hw.level = level
	}
	hw.n = len(y)
	if math.IsNaN(sse) {
		return math.Inf(1)
	}
	return sse
}

func (hw *HoltWinters) Method() string {
	if hw.Log {
		return "holt_winters_log"
	}
	return "holt_winters"
}

func (hw *HoltWinters) Forecast(h int) []float64 {
	out := make([]float64, h)
	for k := 1; k <= h; k++ {
		v := hw.level + float64(k)*hw.trend + hw.season[(hw.n-1+k)%hw.Period]
		if hw.Log {
			v = math.Exp(v)
		}
		out[k-1] = v
	}
	return out
}

func mean(y []float64) float64 {
	var s float64
	for _, v := range y {
		s += v
	}
	return s / float64(len(y))
}
