// Package forecast owns the growth arithmetic of the control plane: a
// compound-growth fit with its confidence, a seasonal method (Holt-Winters),
// the choice between methods by back-testing on the series itself, and the
// time left before a resource runs out.
//
// It works on float64: fitting needs logarithms and square roots, which
// exact decimal arithmetic does not have. Callers that hold money keep their
// sums in decimal and convert only the series they hand in here, and the
// forecast they take out is an estimate to be rounded, never a ledger value.
package forecast

import (
	"errors"
	"fmt"
	"math"
)

// ErrTooShort means the series has too few points for the method.
var ErrTooShort = errors.New("series too short")

// ErrNonPositive means a method that works in logarithms met a value ≤ 0.
var ErrNonPositive = errors.New("series has values ≤ 0")

// Model is a fitted method that can extend its series.
type Model interface {
	// Method names the method ("linear", "compound", "holt_winters", ...).
	Method() string
	// Forecast returns the next h values after the series it was fitted on.
	Forecast(h int) []float64
}

// Linear is an ordinary least-squares line through the points (0, y0),
// (1, y1), ...: what Prometheus's predict_linear computes over a range.
type Linear struct {
	Intercept, Slope float64
	R2               float64 // coefficient of determination, 0…1
	n                int
}

// FitLinear fits a line; it needs two points.
func FitLinear(y []float64) (Linear, error) {
	if len(y) < 2 {
		return Linear{}, fmt.Errorf("linear fit of %d points: %w", len(y), ErrTooShort)
	}
	a, b, r2 := leastSquares(y)
	return Linear{Intercept: a, Slope: b, R2: r2, n: len(y)}, nil
}

func (l Linear) Method() string { return "linear" }

// At is the line's value at step t (0 is the first point).
func (l Linear) At(t float64) float64 { return l.Intercept + l.Slope*t }

func (l Linear) Forecast(h int) []float64 {
	out := make([]float64, h)
	for i := range out {
		out[i] = l.At(float64(l.n + i))
	}
	return out
}

// Compound is y = A·(1+Rate)^t fitted by least squares on ln y (log-linear
// regression). R2 is the coefficient of determination of that fit and
// serves as its confidence: 1 when the series grows by a constant factor.
type Compound struct {
	A, Rate float64
	R2      float64
	n       int
}

// FitCompound fits compound growth; it needs three positive points (two
// always lie on a curve, and R² would mean nothing).
func FitCompound(y []float64) (Compound, error) {
	if len(y) < 3 {
		return Compound{}, fmt.Errorf("compound fit of %d points: %w", len(y), ErrTooShort)
	}
	logs := make([]float64, len(y))
	for i, v := range y {
		if !(v > 0) {
			return Compound{}, fmt.Errorf("compound fit: point %d is %v: %w", i, v, ErrNonPositive)
		}
		logs[i] = math.Log(v)
	}
	a, b, r2 := leastSquares(logs)
	return Compound{A: math.Exp(a), Rate: math.Expm1(b), R2: r2, n: len(y)}, nil
}

func (c Compound) Method() string { return "compound" }

// At is the curve's value at step t.
func (c Compound) At(t float64) float64 { return c.A * math.Pow(1+c.Rate, t) }

func (c Compound) Forecast(h int) []float64 {
	out := make([]float64, h)
	for i := range out {
		out[i] = c.At(float64(c.n + i))
	}
	return out
}

// leastSquares fits y = a + b·t over t = 0…n-1 and returns R².
func leastSquares(y []float64) (a, b, r2 float64) {
	x := make([]float64, len(y))
	for i := range x {
		x[i] = float64(i)
	}
	return leastSquaresXY(x, y)
}

// leastSquaresXY fits y = a + b·x and returns R². A series without variance
// is fitted exactly (R² = 1); x must not be constant.
func leastSquaresXY(x, y []float64) (a, b, r2 float64) {
	n := float64(len(y))
	var sx, sy float64
	for i, v := range y {
		sx += x[i]
		sy += v
	}
	mx, my := sx/n, sy/n
	var sxx, sxy, syy float64
	for i, v := range y {
		dx, dy := x[i]-mx, v-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	b = sxy / sxx
	a = my - b*mx
	if syy == 0 {
		return a, b, 1
	}
	var sse float64
	for i, v := range y {
		e := v - (a + b*x[i])
		sse += e * e
	}
	return a, b, clamp01(1 - sse/syy)
}

func clamp01(v float64) float64 {
	switch {
	case math.IsNaN(v) || v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}
