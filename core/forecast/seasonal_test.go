package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// weekly is a load at hourly steps with a daily and weekly rhythm, a
// growth of g per week and multiplicative noise.
func weekly(weeks int, g, noise float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	y := make([]float64, weeks*168)
	for i := range y {
		hour, day := i%24, (i/24)%7
		v := 100 + 80*math.Max(0, math.Sin(float64(hour-6)/24*2*math.Pi))
		if day >= 5 {
			v *= 1.5
		}
		v *= math.Pow(1+g, float64(i)/168)
		v *= 1 + noise*(2*r.Float64()-1)
		y[i] = v
	}
	return y
}

func TestSeasonalNaive(t *testing.T) {
	t.Parallel()
	y := weekly(2, 0, 0, 1)
	m, err := FitSeasonalNaive(y, 168, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Factor != 1 {
		t.Fatalf("factor on a flat level = %v, want 1", m.Factor)
	}
	f := m.Forecast(200)
	for i, v := range f {
		if want := y[len(y)-168+i%168]; math.Abs(v-want) > 1e-9 {
			t.Fatalf("step %d: %v, want last week's %v", i, v, want)
		}
	}
	// With growth, the level factor carries last week's shape up.
	g := weekly(2, 0.1, 0, 1)
	m, _ = FitSeasonalNaive(g, 168, 1, 24)
	if !near(m.Factor, 1.1, 0.005) {
		t.Fatalf("factor with 10 %%/week growth = %v, want ≈ 1.1", m.Factor)
	}
	if _, err := FitSeasonalNaive(y[:170], 168, 1, 24); !errors.Is(err, ErrTooShort) {
		t.Fatalf("one season + 2 points: %v, want ErrTooShort", err)
	}
	if _, err := FitSeasonalNaive(append(y[:200:200], math.NaN()), 168, 1, 24); err == nil {
		t.Fatal("NaN accepted")
	}
}

// The back-test picks a seasonal method that forecasts next week within a
// few percent, where a line through the same history does not.
func TestChooseSeasonal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		weeks  int
		growth float64
	}{{"two weeks, flat", 2, 0}, {"two weeks, growing", 2, 0.1}, {"three weeks, growing", 3, 0.1}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			all := weekly(tc.weeks+1, tc.growth, 0.03, 7)
			hist, next := all[:tc.weeks*168], all[tc.weeks*168:]
			r, err := ChooseSeasonal(hist, SeasonalOptions{Period: 168})
			if err != nil {
				t.Fatal(err)
			}
			got := MAPE(next, r.Forecast(168))
			lin, _ := FitLinear(hist)
			base := MAPE(next, lin.Forecast(168))
			t.Logf("%s: MAPE %.3f vs linear %.3f", r, got, base)
			if got > 0.08 || got > base/3 {
				t.Fatalf("%s forecast next week with MAPE %.3f (linear %.3f)", r.Method(), got, base)
			}
			if tc.weeks >= 3 {
				if _, ok := r.Backtest["holt_winters"]; !ok {
					t.Fatalf("three weeks of history: holt_winters not back-tested (%v)", r.Backtest)
				}
			}
		})
	}
	if _, err := ChooseSeasonal(weekly(1, 0, 0, 1), SeasonalOptions{Period: 168}); !errors.Is(err, ErrTooShort) {
		t.Fatalf("one week: %v, want ErrTooShort", err)
	}
}

func BenchmarkChooseSeasonal(b *testing.B) {
	// Two weeks at 5-minute steps, as the autoscaler refits it.
	y := make([]float64, 4032)
	base := weekly(3, 0.05, 0.03, 3)
	for i := range y {
		y[i] = base[i/12]
	}
	for b.Loop() {
		if _, err := ChooseSeasonal(y, SeasonalOptions{Period: 2016}); err != nil {
			b.Fatal(err)
		}
	}
}
