// Package predict owns the load forecasters of predictive scaling: a
// short-term trend of the driver metric (for ramps), a seasonal model of
// its daily and weekly rhythm fitted on history (through core/forecast), the
// lead time a forecast must look ahead, and the bookkeeping of how wrong
// forecasts were at that lead. It is pure: the live scaler feeds it
// Prometheus data, the replay feeds it simulated data.
package predict

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/wedsync/scaling/autoscaler/policy"
)

// Sample is one value of the driver metric.
type Sample struct {
	At    time.Time
	Value float64
}

// minTrendT is the t-statistic a slope needs to be trusted: at 3 a flat
// noisy series extrapolates by chance about once in 400 evaluations, and
// then only by its fitted (smoothed) line, which stays inside the
// tolerance band.
const minTrendT = 3

// Trend fits a least-squares line through the samples of the last window;
// when it rises significantly and its newest half still does, it returns
// the newest half's line at now + lead.
// A falling or flat trend forecasts nothing: the reactive decision already
// covers "less", and predictive scale-down must never be faster than it.
func Trend(samples []Sample, now time.Time, window, lead time.Duration, minSamples int) (float64, bool, string) {
	from := now.Add(-window)
	var xs, ys []float64
	var first, last time.Time
	for _, s := range samples {
		if s.At.Before(from) || s.At.After(now) || math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			continue
		}
		if first.IsZero() {
			first = s.At
		}
		last = s.At
		xs = append(xs, s.At.Sub(now).Seconds())
		ys = append(ys, s.Value)
	}
	if len(xs) < minSamples {
		return 0, false, fmt.Sprintf("trend: %d samples in the last %s, need %d", len(xs), window, minSamples)
	}
	if last.Sub(first) < window/2 {
		return 0, false, fmt.Sprintf("trend: samples span %s, need half the window (%s)", last.Sub(first).Round(time.Second), window/2)
	}
	a, b, se, sd := fit(xs, ys)
	if !(b > 0) {
		return 0, false, "trend: not rising"
	}
	if se > 0 && b/se < minTrendT {
		return 0, false, fmt.Sprintf("trend: slope %.3g/s not significant (t = %.1f < %d)", b, b/se, minTrendT)
	}
	// The newest sample far below the line means the ramp ended (the load
	// fell back): extending it would add capacity nobody needs.
	n := len(xs) - 1
	if r := ys[n] - (a + b*xs[n]); r < -minTrendT*sd && r < -0.05*math.Abs(ys[n]) {
		return 0, false, fmt.Sprintf("trend: broken (newest sample %.3g is %.3g below the line)", ys[n], -r)
	}
	// A ramp rises through both halves of the window. A step — the load
	// jumped and stays, which a rate window turns into a short ramp — is
	// flat in one half: extending it would overshoot the new plateau.
	h := len(xs) / 2
	if h < 3 || len(xs)-h < 3 {
		return 0, false, "trend: too few samples in each half of the window"
	}
	_, b1, se1, _ := fit(xs[:h], ys[:h])
	a2, b2, se2, _ := fit(xs[h:], ys[h:])
	if !(b1 > 0) || se1 > 0 && b1/se1 < minTrendT-1 {
		return 0, false, fmt.Sprintf("trend: a step, not a ramp (older half %.3g/s)", b1)
	}
	if !(b2 > 0) || se2 > 0 && b2/se2 < minTrendT-1 || b2 < b/2 {
		return 0, false, fmt.Sprintf("trend: levelling off (newest half %.3g/s of the window's %.3g/s)", b2, b)
	}
	v := a2 + b2*lead.Seconds()
	return v, true, fmt.Sprintf("trend %.3g/s over the last %s", b2, window/2)
}

// fit is y = a + b·x by least squares with the standard error of b and
// the residuals' standard deviation.
func fit(x, y []float64) (a, b, se, sd float64) {
	n := float64(len(x))
	var sx, sy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
	}
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for i := range x {
		dx := x[i] - mx
		sxx += dx * dx
		sxy += dx * (y[i] - my)
	}
	if sxx == 0 {
		return my, 0, 0, 0
	}
	b = sxy / sxx
	a = my - b*mx
	var sse float64
	for i := range x {
		e := y[i] - (a + b*x[i])
		sse += e * e
	}
	if n > 2 {
		sd = math.Sqrt(sse / (n - 2))
		se = sd / math.Sqrt(sxx)
	}
	return a, b, se, sd
}

// Lead is how far ahead a forecast must look: the fixed lead if the policy
// sets one, else the service's time to become ready — the 90th percentile
// of its measured scale-ups, never below the policy's floor — plus one sync
// period (the next evaluation must find the capacity ready).
func Lead(pr *policy.Predictive, sync time.Duration, readyTimes []time.Duration) time.Duration {
	if pr.Lead > 0 {
		return pr.Lead.D()
	}
	ready := pr.MinReadyTime.D()
	if len(readyTimes) > 0 {
		r := slices.Clone(readyTimes)
		sort.Slice(r, func(i, j int) bool { return r[i] < r[j] })
		ready = max(ready, r[int(math.Ceil(0.9*float64(len(r))))-1])
	}
	return ready + sync
}
