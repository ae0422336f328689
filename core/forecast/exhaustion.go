package forecast

import (
	"fmt"
	"math"
	"time"
)

// Sample is one observation of a resource's usage.
type Sample struct {
	At    time.Time
	Value float64
}

// Exhaustion says when a resource's usage will reach its limit.
type Exhaustion struct {
	// Method that extrapolated the usage: "linear" or "compound".
	Method string
	// ETA from the last sample to the limit; Never when usage does not
	// grow towards it, 0 when it is already there.
	ETA time.Duration
	// Confidence is the R² of the chosen fit (0…1).
	Confidence float64
}

// ExhaustionETA fits linear and compound growth to the samples (in time,
// not by index, so gaps in the record do not bend the line), keeps the one
// that forecast the last quarter of the samples better, and solves it for
// the limit. It needs three samples spread over time.
func ExhaustionETA(samples []Sample, limit float64) (Exhaustion, error) {
	if len(samples) < 3 {
		return Exhaustion{}, fmt.Errorf("exhaustion of %d samples: %w", len(samples), ErrTooShort)
	}
	if !(limit > 0) {
		return Exhaustion{}, fmt.Errorf("exhaustion: limit %v is not positive", limit)
	}
	t0 := samples[0].At
	x := make([]float64, len(samples))
	y := make([]float64, len(samples))
	positive := true
	for i, s := range samples {
		x[i] = s.At.Sub(t0).Hours()
		y[i] = s.Value
		if !(s.Value > 0) {
			positive = false
		}
	}
	last := samples[len(samples)-1]
	if last.Value >= limit {
		return Exhaustion{Method: "observed", ETA: 0, Confidence: 1}, nil
	}
	if x[len(x)-1] == x[0] {
		return Exhaustion{}, fmt.Errorf("exhaustion: samples span no time: %w", ErrTooShort)
	}
	linear := func(x, y []float64) (func(float64) float64, func() float64, float64) {
		a, b, r2 := leastSquaresXY(x, y)
		at := func(t float64) float64 { return a + b*t }
		hit := func() float64 {
			if b <= 0 {
				return math.Inf(1)
			}
			return (limit - a) / b
		}
		return at, hit, r2
	}
	compound := func(x, y []float64) (func(float64) float64, func() float64, float64) {
		logs := make([]float64, len(y))
		for i, v := range y {
			logs[i] = math.Log(v)
		}
		a, b, r2 := leastSquaresXY(x, logs)
		at := func(t float64) float64 { return math.Exp(a + b*t) }
		hit := func() float64 {
			if b <= 0 {
				return math.Inf(1)
			}
			return (math.Log(limit) - a) / b
		}
		return at, hit, r2
	}
	type fitter func(x, y []float64) (func(float64) float64, func() float64, float64)
	fits := []struct {
		name string
		fit  fitter
	}{{"linear", linear}}
	if positive {
		fits = append(fits, struct {
			name string
			fit  fitter
		}{"compound", compound})
	}
	// Back-test on the last quarter (at least one sample, keeping three).
	hold := max(1, min(len(x)/4, len(x)-3))
	bestName, bestErr := "", math.Inf(1)
	var bestFit fitter
	for _, f := range fits {
		cut := len(x) - hold
		if x[cut-1] == x[0] {
			bestName, bestFit = f.name, f.fit // too little spread to back-test
			break
		}
		at, _, _ := f.fit(x[:cut], y[:cut])
		pred := make([]float64, hold)
		for i := range pred {
			pred[i] = at(x[cut+i])
		}
		if e := MAPE(y[cut:], pred); e < bestErr {
			bestName, bestErr, bestFit = f.name, e, f.fit
		}
	}
	_, hit, r2 := bestFit(x, y)
	tHit := hit()
	eta := math.Inf(1)
	if !math.IsInf(tHit, 1) {
		eta = max(0, tHit-x[len(x)-1])
	}
	return Exhaustion{Method: bestName, ETA: hoursToDuration(eta), Confidence: r2}, nil
}

// hoursToDuration saturates: an ETA beyond ~290 years is "never" (+Inf
// would not fit a time.Duration, so it becomes the largest one).
func hoursToDuration(h float64) time.Duration {
	if math.IsInf(h, 1) || h*float64(time.Hour) >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(h * float64(time.Hour))
}

// Never is the ETA of a resource that does not run out.
const Never = time.Duration(math.MaxInt64)
