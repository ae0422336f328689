package forecast

import (
	"fmt"
	"testing"

	"github.com/wedsync/scaling/core/forecast/synthetic"
)

// Synthetic daily series of the shapes a cost or usage series takes, for the
// accuracy benchmark: a year of history, three months to forecast.
const (
	historyDays = 365
	aheadDays   = 90
	seeds       = 10
)

type scores struct {
	chosen, plFull, pl30   float64 // against the observations
	chosenSignal, plSignal float64 // against the noise-free signal
	methods                map[string]int
}

// accuracy returns the mean 3-month-ahead MAPE (over every day of the three
// months) over the seeds, of the chosen method and of predict_linear over
// the whole history and over 30 days.
func accuracy(shape synthetic.Shape) scores {
	s := scores{methods: map[string]int{}}
	for seed := range seeds {
		y, truth := shape.Series(uint64(seed), historyDays+aheadDays)
		hist, future, futureSignal := y[:historyDays], y[historyDays:], truth[historyDays:]
		r, err := Choose(hist, Options{Period: 7})
		if err != nil {
			panic(err)
		}
		s.methods[r.Method()]++
		f := r.Forecast(aheadDays)
		full, _ := FitLinear(hist)
		pl := full.Forecast(aheadDays)
		last30, _ := FitLinear(hist[historyDays-30:])
		s.chosen += MAPE(future, f) / seeds
		s.chosenSignal += MAPE(futureSignal, f) / seeds
		s.plFull += MAPE(future, pl) / seeds
		s.plSignal += MAPE(futureSignal, pl) / seeds
		s.pl30 += MAPE(future, last30.Forecast(aheadDays)) / seeds
	}
	return s
}

// BenchmarkForecastAccuracy reports, per shape, the 3-month-ahead MAPE of
// the chosen method and of Prometheus's predict_linear on the same series
// (predict_linear(x[365d], 90d) and over a 30-day window), and the ratio of
// the chosen method's error to predict_linear's (goal ≤ 0.7, MAPE ≤ 10 %).
func BenchmarkForecastAccuracy(b *testing.B) {
	for _, s := range synthetic.Shapes {
		b.Run(s.Name, func(b *testing.B) {
			var r scores
			for range b.N {
				r = accuracy(s)
			}
			b.ReportMetric(100*r.chosen, "chosen_mape_%")
			b.ReportMetric(100*r.plFull, "predict_linear_mape_%")
			b.ReportMetric(100*r.pl30, "predict_linear_30d_mape_%")
			b.ReportMetric(r.chosen/r.plFull, "ratio")
			b.ReportMetric(100*r.chosenSignal, "chosen_vs_signal_mape_%")
			b.ReportMetric(100*r.plSignal, "predict_linear_vs_signal_mape_%")
			b.ReportMetric(r.chosenSignal/r.plSignal, "ratio_vs_signal")
			b.Logf("%s: methods chosen %v", s.Name, r.methods)
		})
	}
}

// The accuracy goals as a test, on fewer seeds' worth of work than the
// benchmark but the same shapes: the chooser must beat predict_linear
// where growth is not a straight line and stay close to it where it is.
func TestAccuracyAgainstPredictLinear(t *testing.T) {
	t.Parallel()
	for _, s := range synthetic.Shapes {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			r := accuracy(s)
			t.Logf("chosen %.2f %% (%v), predict_linear %.2f %%; against the signal %.2f %% and %.2f %%",
				100*r.chosen, r.methods, 100*r.plFull, 100*r.chosenSignal, 100*r.plSignal)
			c, f := r.chosen, r.plFull
			if s.Noise > 0.05 {
				c, f = r.chosenSignal, r.plSignal
			}
			if c > 0.10 {
				t.Errorf("3-month-ahead MAPE %.3f above 10 %%", c)
			}
			if s.Name == "linear" {
				if c > 1.2*f+0.005 {
					t.Errorf("on a straight line the chooser (%.3f) is much worse than predict_linear (%.3f)", c, f)
				}
				return
			}
			if c > 0.7*f {
				t.Errorf("chosen MAPE %.3f is not 30 %% below predict_linear's %.3f", c, f)
			}
		})
	}
}

func ExampleFitCompound() {
	c, _ := FitCompound([]float64{100, 110, 121, 133})
	fmt.Printf("%.1f %% a month, confidence %.3f\n", 100*c.Rate, c.R2)
	// Output: 10.0 % a month, confidence 1.000
}
