// Package decision computes what to do about one service from its current
// state — never "+N per notification". It is pure: the same inputs give the
// same answer, so duplicated or retried notifications cannot compound, and
// every rule (tolerance, stabilization, rate limits, bounds, cooldown,
// missing data) is testable in a table.
package decision

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

// Outcome names what a decision concluded. The values are stored in
// scaling_decisions.outcome.
type Outcome string

const (
	Scale           Outcome = "scale"
	NoData          Outcome = "no_data"
	Cooldown        Outcome = "cooldown"
	Stabilizing     Outcome = "stabilizing"
	WithinTolerance Outcome = "within_tolerance"
	AtBound         Outcome = "at_bound"
	InProgress      Outcome = "in_progress"
	CostCeiling     Outcome = "cost_ceiling"
	DryRun          Outcome = "dry_run"
	Error           Outcome = "error"
)

// Observation is one metric as read from Prometheus.
type Observation struct {
	Name   string    `json:"name"`
	Query  string    `json:"query"`
	Value  float64   `json:"value"`
	Target float64   `json:"target"`
	At     time.Time `json:"at,omitzero"`
	// Problem is set when the value cannot be used: no_data, nan, stale,
	// query_error, ambiguous. Any problem means hold.
	Problem string `json:"problem,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// Valid reports whether the observation can be acted on.
func (o Observation) Valid() bool { return o.Problem == "" }

// MarshalJSON keeps NaN and ±Inf (which encoding/json refuses) readable in
// the audit trail.
func (o Observation) MarshalJSON() ([]byte, error) {
	type plain Observation
	type withText struct {
		plain
		Value string `json:"value"`
	}
	if math.IsNaN(o.Value) || math.IsInf(o.Value, 0) {
		return json.Marshal(withText{plain(o), fmt.Sprint(o.Value)})
	}
	return json.Marshal(plain(o))
}

// Recommendation is a raw desired level seen at a time, kept for
// stabilization windows.
type Recommendation struct {
	At    time.Time
	Level int
}

// Input is everything a decision depends on.
type Input struct {
	Now     time.Time
	Action  store.EventType // what the firing alert asks for: scale_up or scale_down
	Current int             // current level: replicas, or tier index
	// Observations of every metric of the policy.
	Observations []Observation
	// History of raw recommendations, any order; the caller keeps it. The
	// current recommendation is added by Decide.
	History []Recommendation
	// HistorySince is when the history starts (process start): a
	// scale-down window longer than what was observed holds, so a restart
	// cannot skip stabilization.
	HistorySince time.Time
	// LastAction is when the service's last action finished (zero: never).
	LastAction time.Time
	// SLOBreached: a latency or error SLO alert is firing, so a scale-up
	// goes past the service's cost ceiling.
	SLOBreached bool
}

// Output is the decision.
type Output struct {
	Outcome Outcome `json:"outcome"`
	// Raw is the level the metrics call for now; Stabilized after the
	// window; Target after rate limits and bounds (= Current unless Scale).
	Raw        int    `json:"raw"`
	Stabilized int    `json:"stabilized"`
	Target     int    `json:"target"`
	Reason     string `json:"reason"`
	// Recorded is true when Raw was computed from valid data and belongs in
	// the history.
	Recorded bool `json:"-"`
	// OverCeiling: the target costs more than the service's monthly cost
	// ceiling, allowed because an SLO is breached.
	OverCeiling bool `json:"over_ceiling,omitempty"`
}

// Recommend computes the raw desired level from the observations alone:
// desired = ceil(current × value / target) per metric (HPA), or for vertical
// policies the smallest tier with enough capacity; the maximum over metrics.
// ok is false when any metric is unusable.
func Recommend(p *policy.Service, current int, obs []Observation) (level int, ok bool, why string) {
	if len(obs) == 0 {
		return current, false, "no metrics observed"
	}
	var bad []string
	for _, o := range obs {
		if !o.Valid() {
			bad = append(bad, fmt.Sprintf("%s: %s", o.Name, o.Problem))
		}
	}
	if len(bad) > 0 {
		return current, false, "unusable data (" + strings.Join(bad, ", ") + ")"
	}
	level = math.MinInt
	var parts []string
	for _, o := range obs {
		ratio := o.Value / o.Target
		l := current
		if math.Abs(ratio-1) > *p.Tolerance {
			l = levelFor(p, current, ratio)
		}
		parts = append(parts, fmt.Sprintf("%s %.3g/%.3g → %d", o.Name, o.Value, o.Target, l))
		level = max(level, l)
	}
	return level, true, strings.Join(parts, "; ")
}

func levelFor(p *policy.Service, current int, ratio float64) int {
	if p.Mode == policy.Vertical {
		if current < 0 || current >= len(p.Tiers) {
			return current
		}
		need := p.Tiers[current].Capacity * ratio
		for i, t := range p.Tiers {
			// A hair of slack so that exact fits are not rounded up by float error.
			if t.Capacity >= need*(1-1e-9) {
				return i
			}
		}
		return len(p.Tiers) - 1
	}
	if current == 0 {
		// Nothing running: any demand needs at least one replica.
		if ratio > 0 {
			return 1
		}
		return 0
	}
	return int(math.Ceil(float64(current)*ratio - 1e-9))
}

// Decide computes the decision for a service whose alert asks for in.Action.
func Decide(p *policy.Service, in Input) Output {
	out := Output{Raw: in.Current, Stabilized: in.Current, Target: in.Current}
	raw, ok, why := Recommend(p, in.Current, in.Observations)
	if !ok {
		// Never scale on missing, NaN or stale data — in either direction.
		out.Outcome, out.Reason = NoData, why
		return out
	}
	out.Raw, out.Recorded = raw, true
	history := append(slices.Clip(in.History), Recommendation{At: in.Now, Level: raw})

	up := in.Action == store.EventScaleUp
	var b policy.Behavior
	if up {
		b = p.ScaleUp
	} else {
		b = p.ScaleDown
	}
	window := b.StabilizationWindow.D()
	// Stabilization: up to the lowest recommendation of the window, down to
	// the highest, so a short spike or dip does not move the fleet.
	stab := raw
	for _, r := range history {
		if in.Now.Sub(r.At) > window {
			continue
		}
		if up {
			stab = min(stab, r.Level)
		} else {
			stab = max(stab, r.Level)
		}
	}
	out.Stabilized = stab

	if up && stab <= in.Current || !up && stab >= in.Current {
		out.Outcome = WithinTolerance
		out.Reason = fmt.Sprintf("%s asked for but metrics call for %d (stabilized %d) at current %d: %s", in.Action, raw, stab, in.Current, why)
		// A raw recommendation in the asked direction held back by the
		// window is stabilization, not tolerance.
		if up && raw > in.Current || !up && raw < in.Current {
			out.Outcome = Stabilizing
		}
		return out
	}
	if !up && window > 0 && in.Now.Sub(in.HistorySince) < window {
		out.Outcome = Stabilizing
		out.Reason = fmt.Sprintf("scale-down window %s not yet observed since %s", window, in.HistorySince.Format(time.RFC3339))
		return out
	}

	lim := Limit(p, in, stab)
	if lim.Outcome != Scale {
		out.Outcome, out.Reason = lim.Outcome, lim.Reason
		return out
	}
	target := lim.Target
	out.Outcome, out.Target, out.OverCeiling = Scale, target, lim.OverCeiling
	out.Reason = fmt.Sprintf("%d → %d: %s", in.Current, target, why)
	if target != stab {
		out.Reason += fmt.Sprintf(" (limited from %d by rate limit or bounds)", stab)
	}
	return out
}

// Limit applies the limits every action obeys — rate limit, bounds,
// cooldown — to a wanted level: the last stage of Decide, and all of a
// manual request's. in.Action may be empty: the direction is then the
// wanted level's.
func Limit(p *policy.Service, in Input, want int) Output {
	lo, hi := p.Bounds()
	out := Output{Raw: want, Stabilized: want, Target: in.Current}
	up := in.Action == store.EventScaleUp || in.Action == "" && want > in.Current
	b := p.ScaleDown
	if up {
		b = p.ScaleUp
	}
	if want == in.Current {
		out.Outcome, out.Reason = WithinTolerance, fmt.Sprintf("already at %d", in.Current)
		return out
	}
	// Rate limit: one action moves at most max(max_step, max_percent % of current).
	limit := max(*b.MaxStep, int(math.Ceil(float64(in.Current)*float64(*b.MaxPercent)/100)))
	target := want
	if up {
		target = min(target, in.Current+limit)
	} else {
		target = max(target, in.Current-limit)
	}
	target = min(max(target, lo), hi)
	if up && target <= in.Current || !up && target >= in.Current {
		out.Outcome = AtBound
		out.Reason = fmt.Sprintf("wanted %d but bounds are [%d, %d] at current %d", want, lo, hi, in.Current)
		return out
	}
	if cd := b.Cooldown.D(); !in.LastAction.IsZero() && in.Now.Sub(in.LastAction) < cd {
		out.Outcome = Cooldown
		out.Reason = fmt.Sprintf("last action finished %s ago, cooldown %s", in.Now.Sub(in.LastAction).Round(time.Second), cd)
		return out
	}
	if c := p.MonthlyCostCeiling; up && c != nil && p.MonthlyCost(target).GreaterThan(*c) {
		if in.SLOBreached {
			out.OverCeiling = true
		} else {
			// The largest level the ceiling allows.
			for target > in.Current && p.MonthlyCost(target).GreaterThan(*c) {
				target--
			}
			if target <= in.Current {
				out.Outcome = CostCeiling
				out.Reason = fmt.Sprintf("%d would cost %s a month, above the ceiling of %s, and no SLO is breached",
					want, p.MonthlyCost(want).StringFixed(2), c.StringFixed(2))
				return out
			}
		}
	}
	out.Outcome, out.Target = Scale, target
	return out
}
