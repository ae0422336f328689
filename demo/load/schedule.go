package load

import (
	"math"
	"time"
)

// schedule turns rate stages into exact arrival times. Request k (1-based) is due when
// the integral of the rate reaches k, so a ramp sends exactly as many requests as its
// area and no ticker granularity distorts low or high rates.
type schedule struct {
	segs []segment
}

type segment struct {
	start    time.Duration // offset from the run's start
	dur      time.Duration
	from, to float64 // rate at start and end
	before   float64 // arrivals due before this segment
}

func newSchedule(stages []Stage) schedule {
	var (
		s      schedule
		at     time.Duration
		before float64
	)
	for i, st := range stages {
		from := st.Rate
		if i > 0 {
			from = stages[i-1].Rate
		}
		s.segs = append(s.segs, segment{start: at, dur: st.Duration, from: from, to: st.Rate, before: before})
		at += st.Duration
		before += (from + st.Rate) / 2 * st.Duration.Seconds()
	}
	return s
}

func (s schedule) total() time.Duration {
	if len(s.segs) == 0 {
		return 0
	}
	last := s.segs[len(s.segs)-1]
	return last.start + last.dur
}

// arrival returns when request k is due, or false once the schedule is over.
func (s schedule) arrival(k int64) (time.Duration, bool) {
	want := float64(k)
	for _, g := range s.segs {
		d := g.dur.Seconds()
		if want > g.before+(g.from+g.to)/2*d+1e-9 {
			continue
		}
		m := want - g.before // arrivals still needed inside this segment
		// Solve from*t + a*t²/2 = m for t in [0, d], a being the ramp's slope.
		a := (g.to - g.from) / d
		var t float64
		switch {
		case m <= 0:
			t = 0
		case math.Abs(a) < 1e-12:
			t = m / g.from
		default:
			t = (-g.from + math.Sqrt(math.Max(0, g.from*g.from+2*a*m))) / a
		}
		t = math.Min(math.Max(t, 0), d)
		return g.start + time.Duration(t*float64(time.Second)), true
	}
	return 0, false
}

// rateAt is the scheduled rate at offset t, for progress display.
func (s schedule) rateAt(t time.Duration) (rate float64, stage int) {
	for i, g := range s.segs {
		if t < g.start+g.dur || i == len(s.segs)-1 {
			frac := math.Min(math.Max((t-g.start).Seconds()/g.dur.Seconds(), 0), 1)
			return g.from + (g.to-g.from)*frac, i
		}
	}
	return 0, 0
}
