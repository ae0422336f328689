package predict

import (
	"math"
	"time"
)

// Tracker measures forecast error at the lead: every forecast made is
// remembered with the window it spoke of, and once that window has passed
// it is compared with the highest value actually seen in it.
type Tracker struct {
	pending []pending
	seen    []Sample // recent actual values, oldest first
	stats   map[string]*errStat
}

type pending struct {
	forecaster string
	from, to   time.Time
	value      float64
}

type errStat struct {
	sum  float64
	n    int
	last float64
}

// maxPending bounds memory when actual values stop coming (Prometheus down).
const maxPending = 10000

// Made records a forecast of the highest value in (from, to].
func (t *Tracker) Made(forecaster string, from, to time.Time, value float64) {
	if len(t.pending) >= maxPending {
		t.pending = t.pending[1:]
	}
	t.pending = append(t.pending, pending{forecaster, from, to, value})
}

// Observe records an actual value and scores the forecasts whose window
// has ended.
func (t *Tracker) Observe(at time.Time, value float64) {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return
	}
	t.seen = append(t.seen, Sample{at, value})
	keep := t.pending[:0]
	oldest := at
	for _, p := range t.pending {
		if at.Before(p.to) {
			keep = append(keep, p)
			oldest = minTime(oldest, p.from)
			continue
		}
		actual, ok := t.maxIn(p.from, p.to)
		if !ok || actual <= 0 {
			continue // nothing seen, or nothing to be a percentage of
		}
		if t.stats == nil {
			t.stats = map[string]*errStat{}
		}
		st := t.stats[p.forecaster]
		if st == nil {
			st = &errStat{}
			t.stats[p.forecaster] = st
		}
		e := math.Abs(p.value-actual) / actual
		st.sum += e
		st.n++
		st.last = e
	}
	t.pending = keep
	i := 0
	for i < len(t.seen) && !t.seen[i].At.After(oldest) {
		i++
	}
	// Keep the last sample at or before the oldest open window: it is the
	// value in force at that window's start.
	t.seen = t.seen[max(0, i-1):]
}

func (t *Tracker) maxIn(from, to time.Time) (float64, bool) {
	v, ok := math.Inf(-1), false
	for _, s := range t.seen {
		if s.At.After(from) && !s.At.After(to) {
			v, ok = math.Max(v, s.Value), true
		}
	}
	return v, ok
}

// MAPE is the mean absolute percentage error of a forecaster's scored
// forecasts, and how many were scored.
func (t *Tracker) MAPE(forecaster string) (float64, int) {
	st := t.stats[forecaster]
	if st == nil || st.n == 0 {
		return math.NaN(), 0
	}
	return st.sum / float64(st.n), st.n
}

// Last is the error of a forecaster's most recently scored forecast.
func (t *Tracker) Last(forecaster string) (float64, bool) {
	st := t.stats[forecaster]
	if st == nil || st.n == 0 {
		return 0, false
	}
	return st.last, true
}

// Overall is the MAPE over every forecaster's scored forecasts.
func (t *Tracker) Overall() (float64, int) {
	var sum float64
	var n int
	for _, st := range t.stats {
		sum += st.sum
		n += st.n
	}
	if n == 0 {
		return math.NaN(), 0
	}
	return sum / float64(n), n
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
