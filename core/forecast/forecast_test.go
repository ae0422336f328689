package forecast

import (
	"errors"
	"math"
	"math/rand/v2"

	"github.com/shopspring/decimal"
	"testing"
	"time"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// The spec's example: 100, 110, 121, 133 is 10 % growth a month, and the
// fit must be confident about it.
func TestCompoundSpecSeries(t *testing.T) {
	t.Parallel()
	c, err := FitCompound([]float64{100, 110, 121, 133})
	if err != nil {
		t.Fatal(err)
	}
	if !near(c.Rate, 0.10, 0.002) {
		t.Errorf("rate = %.4f, want 0.10", c.Rate)
	}
	if c.R2 <= 0.7 {
		t.Errorf("confidence (R²) = %.4f, want > 0.7", c.R2)
	}
	if got := c.Forecast(1)[0]; !near(got, 146.4, 0.5) {
		t.Errorf("next month = %.2f, want ≈ 146.4", got)
	}
}

func TestFits(t *testing.T) {
	t.Parallel()
	exact := make([]float64, 24)
	line := make([]float64, 24)
	for i := range exact {
		exact[i] = 50 * math.Pow(1.03, float64(i))
		line[i] = 7 + 2.5*float64(i)
	}
	tests := []struct {
		name     string
		y        []float64
		wantRate float64
		wantR2   float64 // lower bound
		compound bool
	}{
		{"exact compound", exact, 0.03, 0.9999, true},
		{"flat", []float64{5, 5, 5, 5}, 0, 1, true},
		{"decline", []float64{100, 90, 81, 72.9}, -0.10, 0.9999, true},
		{"line", line, 2.5, 0.9999, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.compound {
				c, err := FitCompound(tt.y)
				if err != nil {
					t.Fatal(err)
				}
				if !near(c.Rate, tt.wantRate, 1e-9) || c.R2 < tt.wantR2 {
					t.Errorf("rate %.6f R² %.6f, want %.6f and ≥ %.4f", c.Rate, c.R2, tt.wantRate, tt.wantR2)
				}
				return
			}
			l, err := FitLinear(tt.y)
			if err != nil {
				t.Fatal(err)
			}
			if !near(l.Slope, tt.wantRate, 1e-9) || !near(l.Intercept, 7, 1e-9) || l.R2 < tt.wantR2 {
				t.Errorf("line %+v", l)
			}
			if got := l.Forecast(2); !near(got[1], 7+2.5*25, 1e-9) {
				t.Errorf("forecast %v", got)
			}
		})
	}
}

func TestFitErrors(t *testing.T) {
	t.Parallel()
	if _, err := FitCompound([]float64{1, 2}); !errors.Is(err, ErrTooShort) {
		t.Errorf("2 points: %v", err)
	}
	if _, err := FitCompound([]float64{1, 0, 2}); !errors.Is(err, ErrNonPositive) {
		t.Errorf("zero: %v", err)
	}
	if _, err := FitLinear([]float64{1}); !errors.Is(err, ErrTooShort) {
		t.Errorf("1 point: %v", err)
	}
	if _, err := FitHoltWinters(make([]float64, 14), 7); !errors.Is(err, ErrTooShort) {
		t.Errorf("two seasons without a point: %v", err)
	}
	if _, err := Choose([]float64{1, math.NaN(), 3, 4}, Options{}); err == nil {
		t.Error("NaN accepted")
	}
}

// A weekly pattern on a linear trend, without noise: Holt-Winters must
// continue both, and the chooser must prefer it over the plain fits.
func TestHoltWintersSeasonal(t *testing.T) {
	t.Parallel()
	shape := []float64{0, 10, 12, 11, 9, -15, -27}
	gen := func(i int) float64 { return 200 + 1.5*float64(i) + shape[i%7] }
	y := make([]float64, 10*7)
	for i := range y {
		y[i] = gen(i)
	}
	hw, err := FitHoltWinters(y, 7)
	if err != nil {
		t.Fatal(err)
	}
	f := hw.Forecast(14)
	for k, v := range f {
		if want := gen(len(y) + k); !near(v, want, 0.02*want) {
			t.Errorf("step %d: %.2f, want %.2f", k+1, v, want)
		}
	}
	r, err := Choose(y, Options{Period: 7})
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Method(); m != "holt_winters" && m != "holt_winters_log" {
		t.Errorf("chose %s", r)
	}
	if r.Confidence < 0.95 {
		t.Errorf("confidence %.3f on a noiseless series", r.Confidence)
	}
}

func TestChooseCompound(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	y := make([]float64, 120)
	for i := range y {
		y[i] = 100 * math.Pow(1.01, float64(i)) * (1 + 0.01*rng.NormFloat64())
	}
	r, err := Choose(y, Options{Period: 7})
	if err != nil {
		t.Fatal(err)
	}
	// Compound growth is a line in logarithms: both log methods are right.
	if m := r.Method(); m != "compound" && m != "holt_winters_log" {
		t.Errorf("chose %s for compound growth", r)
	}
	want := 100 * math.Pow(1.01, 150)
	if got := r.Forecast(31)[30]; !near(got, want, 0.05*want) {
		t.Errorf("30 steps ahead: %.1f, want %.1f (%s)", got, want, r)
	}
	if r.Confidence < 0.9 {
		t.Errorf("confidence %.3f", r.Confidence)
	}
}

func TestChooseSpecSeries(t *testing.T) {
	t.Parallel()
	r, err := Choose([]float64{100, 110, 121, 133}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Compound growth is a line in logarithms: both log methods are right.
	if m := r.Method(); (m != "compound" && m != "holt_winters_log") || r.Confidence <= 0.7 {
		t.Errorf("chose %s", r)
	}
	if got := r.Forecast(1)[0]; !near(got, 146.4, 0.5) {
		t.Errorf("next = %.2f", got)
	}
}

func TestMAPE(t *testing.T) {
	t.Parallel()
	if got := MAPE([]float64{100, 200}, []float64{110, 180}); !near(got, 0.10, 1e-12) {
		t.Errorf("MAPE = %v", got)
	}
	if got := MAPE([]float64{0, 0}, []float64{0, 0}); got != 0 {
		t.Errorf("MAPE of zeros = %v", got)
	}
	if got := MAPE([]float64{0, 100}, []float64{5, 150}); !near(got, 0.5, 1e-12) {
		t.Errorf("MAPE skipping a zero actual = %v", got)
	}
}

func TestExhaustionETA(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	series := func(n int, step time.Duration, f func(i int) float64) []Sample {
		out := make([]Sample, n)
		for i := range out {
			out[i] = Sample{At: t0.Add(time.Duration(i) * step), Value: f(i)}
		}
		return out
	}
	day := 24 * time.Hour
	tests := []struct {
		name    string
		samples []Sample
		limit   float64
		method  string
		eta     time.Duration
		tol     time.Duration
	}{
		// 10 a day from 0: at 90 after 9 days, 100 reached one day later.
		{"linear", series(10, day, func(i int) float64 { return 10 * float64(i) }), 100, "linear", day, time.Minute},
		// Doubling every 2 days from 1: at 2^4.5 ≈ 22.6 on day 9; 64 on day 12.
		{"compound", series(10, day, func(i int) float64 { return math.Pow(2, float64(i)/2) }), 64, "compound", 3 * day, time.Minute},
		{"flat never", series(10, time.Hour, func(int) float64 { return 40 }), 100, "linear", Never, 0},
		{"shrinking never", series(10, time.Hour, func(i int) float64 { return 90 - float64(i) }), 100, "linear", Never, 0},
		{"already full", series(5, time.Hour, func(i int) float64 { return 95 + float64(i) }), 98, "observed", 0, 0},
		// Gaps in the record: samples at 0, 1, 2, 10, 11 hours, 1/hour.
		{"irregular", []Sample{{t0, 1}, {t0.Add(time.Hour), 2}, {t0.Add(2 * time.Hour), 3}, {t0.Add(10 * time.Hour), 11}, {t0.Add(11 * time.Hour), 12}},
			20, "linear", 8 * time.Hour, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ExhaustionETA(tt.samples, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got.Method != tt.method || (got.ETA-tt.eta).Abs() > tt.tol {
				t.Errorf("got %s in %v, want %s in %v", got.Method, got.ETA, tt.method, tt.eta)
			}
		})
	}
	if _, err := ExhaustionETA(series(2, day, func(i int) float64 { return 1 }), 10); !errors.Is(err, ErrTooShort) {
		t.Errorf("two samples: %v", err)
	}
}

func TestDecimalBoundary(t *testing.T) {
	t.Parallel()
	in := FromDecimals([]decimal.Decimal{decimal.RequireFromString("0.1"), decimal.RequireFromString("2.25")})
	if in[0] != 0.1 || in[1] != 2.25 {
		t.Errorf("FromDecimals = %v", in)
	}
	if got := SumDecimal([]float64{0.1, 0.2, -5, 1e-9}, 2); !got.Equal(decimal.RequireFromString("0.3")) {
		t.Errorf("SumDecimal = %s", got)
	}
}
