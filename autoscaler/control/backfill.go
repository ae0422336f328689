package control

import (
	"sort"
	"time"

	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
)

// HistoryStep is every metric of the policy as the live observer would
// have read it at one past evaluation time (Prometheus query_range over
// the policy's own queries, with the same problems: missing, NaN, stale).
type HistoryStep struct {
	At           time.Time
	Observations []decision.Observation
}

// filled is what Backfill found for the run that the next valid sample
// starts: the history was continuous from since up to at.
type filled struct {
	since, at time.Time
	covered   time.Duration
}

// Unobserved says whether a valid sample at now would start a new run of
// observation with a stabilization window to fill, and from when the
// history to fill it from should be read (the longer window back).
func (c *Service) Unobserved(p *policy.Service, now time.Time, gapAfter time.Duration) (from time.Time, ok bool) {
	w := max(p.ScaleUp.StabilizationWindow.D(), p.ScaleDown.StabilizationWindow.D())
	if w <= 0 || !c.newRun(now, gapAfter) {
		return time.Time{}, false
	}
	return now.Add(-w), true
}

// Backfill fills the stabilization windows from history before the valid
// sample at now that starts a new run (see Unobserved). Each valid step
// gives the raw recommendation the live path would have recorded at it —
// package decision's, at the level the service had then (levelAt), with
// the capacity learned so far; forecasts are not replayed, so a step's
// level is the reactive one. The window counts as observed back to the
// start of the run of valid steps that reaches now without a gap (and
// back to the run before the gap, when the history bridges it: the gap was
// only this controller's). It returns how far back that is from now.
func (c *Service) Backfill(p *policy.Service, now time.Time, gapAfter time.Duration, steps []HistoryStep, levelAt func(time.Time) int) time.Duration {
	c.filled = nil
	steps = append([]HistoryStep(nil), steps...)
	sort.Slice(steps, func(i, j int) bool { return steps[i].At.Before(steps[j].At) })
	valid := make([]bool, len(steps))
	var recs []decision.Recommendation
	for i, st := range steps {
		if !st.At.Before(now) || !allValid(p, st.Observations) {
			continue
		}
		out := decision.Decide(p, decision.Input{Now: st.At, Current: levelAt(st.At), Observations: st.Observations, Capacity: c.capacity})
		if !out.Recorded {
			continue
		}
		valid[i] = true
		if st.At.After(c.lastValid) {
			// Before it, the live path recorded its own.
			recs = append(recs, decision.Recommendation{At: st.At, Level: out.Raw})
		}
	}
	// The run of valid steps that reaches now without a gap.
	since, next := time.Time{}, now
	for i := len(steps) - 1; i >= 0; i-- {
		if !steps[i].At.Before(now) {
			continue
		}
		if !valid[i] || next.Sub(steps[i].At) > gapAfter {
			break
		}
		since, next = steps[i].At, steps[i].At
	}
	if since.IsZero() {
		return 0
	}
	covered := now.Sub(since)
	if !c.lastValid.IsZero() && !since.After(c.lastValid.Add(gapAfter)) && !c.dataSince.IsZero() && c.dataSince.Before(since) {
		since = c.dataSince
	}
	c.history = append(c.history, recs...)
	sort.SliceStable(c.history, func(i, j int) bool { return c.history[i].At.Before(c.history[j].At) })
	if len(c.history) > maxHistory {
		c.history = c.history[len(c.history)-maxHistory:]
	}
	c.filled = &filled{since: since, at: now, covered: covered}
	return now.Sub(since)
}

func allValid(p *policy.Service, obs []decision.Observation) bool {
	if len(obs) == 0 || len(obs) < len(p.Metrics) {
		return false
	}
	for _, o := range obs {
		if !o.Valid() {
			return false
		}
	}
	return true
}
