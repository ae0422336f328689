package predict

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/config"
)

var t0 = time.Date(2027, 3, 8, 12, 0, 0, 0, time.UTC)

func series(n int, step time.Duration, f func(i int) float64) []Sample {
	out := make([]Sample, n)
	for i := range out {
		out[i] = Sample{At: t0.Add(time.Duration(i-n+1) * step), Value: f(i)}
	}
	return out
}

func TestTrend(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name    string
		samples []Sample
		ok      bool
		value   float64 // at now + 1 minute, when ok
		why     string
	}{
		{"ramp: extended to the lead", series(20, 15*time.Second, func(i int) float64 { return 100 + 10*float64(i) }), true, 330, ""},
		{"flat noisy: nothing", series(20, 15*time.Second, func(int) float64 { return 240 * (0.96 + 0.08*r.Float64()) }), false, 0, "trend: "},
		{"falling: nothing", series(20, 15*time.Second, func(i int) float64 { return 500 - 10*float64(i) }), false, 0, "trend: not rising"},
		{"too few samples", series(3, 15*time.Second, func(i int) float64 { return float64(i) }), false, 0, "trend: 3 samples in the last 5m0s, need 6"},
		{"ramp that ended", append(series(59, 5*time.Second, func(i int) float64 { return 100 + 5*float64(i) })[1:],
			Sample{At: t0.Add(15 * time.Second), Value: 30}), false, 0, "trend: broken"},
		{"NaN samples ignored", append(series(20, 15*time.Second, func(i int) float64 { return 100 + 10*float64(i) }), Sample{At: t0, Value: math.NaN()}), true, 330, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := t0
			if tc.name == "ramp that ended" {
				now = t0.Add(15 * time.Second)
			}
			v, ok, why := Trend(tc.samples, now, 5*time.Minute, time.Minute, 6)
			if ok != tc.ok || ok && math.Abs(v-tc.value) > 1e-6 || !ok && !strings.HasPrefix(why, tc.why) {
				t.Fatalf("Trend = %v, %v, %q; want %v, %v, %q…", v, ok, why, tc.value, tc.ok, tc.why)
			}
		})
	}
}

// A flat noisy load never extrapolates far: over many windows, a trend is
// rarely significant, and when it is, it stays near the mean.
func TestTrendOnNoiseStaysQuiet(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	hits := 0
	for range 2000 {
		s := series(20, 15*time.Second, func(int) float64 { return 240 * (0.96 + 0.08*r.Float64()) })
		if v, ok, _ := Trend(s, t0, 5*time.Minute, time.Minute, 6); ok {
			hits++
			if v > 240*1.1 {
				t.Fatalf("noise extrapolated to %v (over the 10 %% tolerance)", v)
			}
		}
	}
	if hits > 20 {
		t.Fatalf("a trend was trusted in %d of 2000 noisy windows", hits)
	}
}

func TestLead(t *testing.T) {
	t.Parallel()
	floor := config.Duration(time.Minute)
	pr := &policy.Predictive{MinReadyTime: &floor}
	if got := Lead(pr, 15*time.Second, nil); got != 75*time.Second {
		t.Errorf("no measurements: %s, want floor + sync", got)
	}
	ready := []time.Duration{2 * time.Minute, 90 * time.Second, 3 * time.Minute, 100 * time.Second}
	if got := Lead(pr, 15*time.Second, ready); got != 3*time.Minute+15*time.Second {
		t.Errorf("measured: %s, want the 90th percentile (3m) + sync", got)
	}
	pr.Lead = config.Duration(5 * time.Minute)
	if got := Lead(pr, 15*time.Second, ready); got != 5*time.Minute {
		t.Errorf("fixed lead: %s", got)
	}
}

// weekly is hourly-peaked daily load at 5-minute steps, weekends × 1.5.
func weekly(days int, end time.Time) []Sample {
	var out []Sample
	for at := end.Add(-time.Duration(days) * 24 * time.Hour).Add(5 * time.Minute); !at.After(end); at = at.Add(5 * time.Minute) {
		h := float64(at.Hour()) + float64(at.Minute())/60
		v := 100 + 300*math.Max(0, math.Sin((h-6)/24*2*math.Pi))
		if wd := at.Weekday(); wd == time.Saturday || wd == time.Sunday {
			v *= 1.5
		}
		if at.Hour() == 19 && at.Minute() < 10 {
			v *= 2 // the reminder surge
		}
		out = append(out, Sample{At: at, Value: v})
	}
	return out
}

func TestSeasonal(t *testing.T) {
	t.Parallel()
	end := time.Date(2027, 3, 15, 18, 0, 0, 0, time.UTC) // a Monday
	s, err := FitSeasonal(weekly(8, end), end, 5*time.Minute, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The surge of 19:00 is forecast a week after it was seen.
	v, ok := s.MaxOver(end.Add(55*time.Minute), end.Add(62*time.Minute))
	base, _ := s.MaxOver(end.Add(30*time.Minute), end.Add(40*time.Minute))
	if !ok || v < 1.8*base {
		t.Fatalf("surge forecast %v vs %v before it (%s)", v, base, s.Method)
	}
	if _, ok := s.MaxOver(end.Add(8*24*time.Hour), end.Add(8*24*time.Hour+time.Minute)); ok {
		t.Fatal("forecast beyond one season")
	}
	// Too little history: said in the operator's words.
	_, err = FitSeasonal(weekly(2, end), end, 5*time.Minute, 7*24*time.Hour)
	var he *HistoryError
	if !errors.As(err, &he) || !errors.Is(err, ErrTooLittleHistory) || err.Error() != "predictive: 2 days of history, need 7; reactive only" {
		t.Fatalf("two days: %v", err)
	}
	// A patchy history is refused, not guessed from.
	pts := weekly(8, end)
	var holey []Sample
	for i, p := range pts {
		if i%4 != 0 {
			holey = append(holey, p)
		}
	}
	if _, err := FitSeasonal(holey, end, 5*time.Minute, 7*24*time.Hour); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("25 %% missing: %v", err)
	}
	// A few missing points are filled from the week before.
	few := append(append([]Sample(nil), pts[:100]...), pts[103:]...)
	if _, err := FitSeasonal(few, end, 5*time.Minute, 7*24*time.Hour); err != nil {
		t.Fatalf("3 missing points: %v", err)
	}
}

func TestTracker(t *testing.T) {
	t.Parallel()
	var tr Tracker
	tr.Made("trend", t0, t0.Add(time.Minute), 110)
	tr.Observe(t0.Add(30*time.Second), 90)
	tr.Observe(t0.Add(time.Minute), 100) // the window's highest value: 100
	if e, n := tr.MAPE("trend"); n != 1 || math.Abs(e-0.1) > 1e-12 {
		t.Fatalf("MAPE = %v over %d, want 0.1 over 1", e, n)
	}
	if e, ok := tr.Last("trend"); !ok || math.Abs(e-0.1) > 1e-12 {
		t.Fatalf("Last = %v %v", e, ok)
	}
	if _, n := tr.MAPE("seasonal"); n != 0 {
		t.Fatal("scored a forecaster that made nothing")
	}
	for i := range maxPending + 10 {
		tr.Made("trend", t0, t0.Add(time.Hour), float64(i))
	}
	if len(tr.pending) != maxPending {
		t.Fatalf("%d pending, want the bound %d", len(tr.pending), maxPending)
	}
}
