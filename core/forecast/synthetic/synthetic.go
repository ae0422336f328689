// Package synthetic holds the synthetic daily series the forecasting and
// projection back-tests are scored on, so that both score the same shapes:
// a noise-free signal and relative Gaussian noise laid over it, seeded.
// They are written from the spec's growth figures (10 % a month), not
// recorded from any bill.
package synthetic

import (
	"math"
	"math/rand/v2"
)

// Shape is a noise-free signal (t is the day, from 0) and the relative noise
// laid over it.
type Shape struct {
	Name   string
	Signal func(t int) float64
	Noise  float64
}

// Shapes are the shapes a cost or usage series takes.
var Shapes = []Shape{
	// 10 % a month, the spec's growth.
	{"compound", func(t int) float64 { return 100 * math.Pow(1.10, float64(t)/30.4) }, 0.03},
	{"linear", func(t int) float64 { return 100 + 1.5*float64(t) }, 0.03},
	// Weekday traffic ±25 % on a linear trend.
	{"seasonal_trend", func(t int) float64 {
		week := []float64{1.10, 1.20, 1.20, 1.15, 1.05, 0.65, 0.65}
		return (100 + 0.8*float64(t)) * week[t%7]
	}, 0.03},
	// Slower compound growth buried in 10 % noise: against the noisy
	// observations no method can do better than the noise (≈ 8 % MAPE),
	// so this shape is also scored against the signal itself.
	{"noisy", func(t int) float64 { return 100 * math.Pow(1.05, float64(t)/30.4) }, 0.10},
}

// Series returns n days of the shape under seed: the observations and the
// signal they were drawn around.
func (s Shape) Series(seed uint64, n int) (observed, signal []float64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	observed, signal = make([]float64, n), make([]float64, n)
	for i := range observed {
		signal[i] = s.Signal(i)
		observed[i] = signal[i] * (1 + s.Noise*rng.NormFloat64())
	}
	return observed, signal
}
