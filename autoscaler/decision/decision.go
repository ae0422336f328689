// Package decision computes what to do about one service from its current
// state — never "+N per notification". It is pure: the same inputs give the
// same answer, so duplicated or retried notifications cannot compound, the
// live loop and the offline replay run the very same code, and every rule
// (tolerance, forecasts, schedules, guards, stabilization, rate policies,
// bounds, cooldown, missing data) is testable in a table.
//
// The pipeline, with Kubernetes HPA's semantics where HPA has them:
//
//	reactive  = max over sizing metrics (utilization: ceil(current × value/target);
//	            load: ceil(value / (capacity per replica × target)))
//	predicted = what the forecast load at now + lead needs
//	raw       = max(reactive, predicted); a guard over its target forbids going down
//	bounds    = the policy's (narrowed by the growth phase), raised by scheduled windows
//	stabilized: up to the lowest raw of the up-window, down to the highest of the down-window
//	target    = stabilized within the rate policies, the bounds, the cooldown and the cost ceiling
package decision

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/schedule"
	"github.com/wedsync/scaling/core/store"
)

// Outcome names what a decision concluded. The values are stored in
// scaling_decisions.outcome.
type Outcome string

const (
	Scale  Outcome = "scale"
	NoData Outcome = "no_data"
	// NoState: the actuator could not be read; nothing is decided on a
	// state the autoscaler does not know.
	NoState         Outcome = "no_state"
	Cooldown        Outcome = "cooldown"
	Stabilizing     Outcome = "stabilizing"
	WithinTolerance Outcome = "within_tolerance"
	AtBound         Outcome = "at_bound"
	RateLimited     Outcome = "rate_limited"
	InProgress      Outcome = "in_progress"
	CostCeiling     Outcome = "cost_ceiling"
	DryRun          Outcome = "dry_run"
	// ForecastOnly: the forecast would have scaled the service (forecast_only
	// policy), the reactive decision did not.
	ForecastOnly Outcome = "forecast_only"
	Error        Outcome = "error"
)

// Outcomes lists every outcome, for the schema's CHECK (tested).
var Outcomes = []Outcome{Scale, NoData, NoState, Cooldown, Stabilizing, WithinTolerance, AtBound, RateLimited, InProgress,
	CostCeiling, DryRun, ForecastOnly, Error}

// Observation is one metric as read from Prometheus.
type Observation struct {
	Name   string    `json:"name"`
	Query  string    `json:"query"`
	Value  float64   `json:"value"`
	Target float64   `json:"target"`
	At     time.Time `json:"at,omitzero"`
	// Problem is set when the value cannot be used: no_data, nan, stale,
	// query_error, ambiguous, warming_up. Any problem means hold.
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

// Action is a change made to the service (started at At), counted against
// the rate policies of its direction.
type Action struct {
	At       time.Time
	From, To int
}

// Forecast is one forecaster's view of the driver metric over the lead.
type Forecast struct {
	Forecaster string `json:"forecaster"`
	// Value is the highest load forecast between now and now + Lead, in the
	// driver's unit: capacity asked for now must carry all of it.
	Value float64       `json:"value"`
	Lead  time.Duration `json:"lead"`
	// Desired is the level Value needs; set by Decide.
	Desired int `json:"desired"`
}

// Directions a firing alert allows.
type Directions struct{ Up, Down bool }

// Input is everything a decision depends on.
type Input struct {
	Now     time.Time
	Current int // current level: replicas, or tier index (while a scale-up provisions: its target)
	// Ready is how many replicas serve now, when fewer than Current (a
	// scale-up still provisioning): utilization is measured over them, so
	// it is scaled from them, as HPA scales from its ready pods. 0: Current.
	Ready int
	// Allow restricts the directions (alerts_only control, or a manual
	// request "as an alert would"); nil means any (level control).
	Allow *Directions
	// Observations of every metric of the policy, in any order.
	Observations []Observation
	// Capacity is the learned capacity per replica of load metrics, by
	// metric name; absent or 0 means the policy's capacity_per_replica.
	Capacity map[string]float64
	// Forecasts of the driver metric (predictive policies).
	Forecasts []Forecast
	// Schedule is the scheduled windows active now.
	Schedule schedule.Active
	// History of raw recommendations, any order; the caller keeps it. The
	// current recommendation is added by Decide.
	History []Recommendation
	// HistorySince is when valid observation started without a gap (the
	// process start, or the first valid sample after a gap): a scale-down
	// window longer than what was observed holds, so neither a restart nor
	// a metrics gap can skip stabilization.
	HistorySince time.Time
	// Gap describes the data gap the current run of valid observation
	// follows (nil: none known — a replay, an eval, a manual request).
	Gap *Gap
	// Actions are recent actions on the service (rate policies).
	Actions []Action
	// LastAction is when the service's last action finished (zero: never).
	LastAction time.Time
	// SLOBreached: a latency or error SLO alert is firing, so a scale-up
	// goes past the service's cost ceiling.
	SLOBreached bool
}

// Gap is the data gap before the current run of valid observation: a
// scale-down waits until the down-window is observed again (live, or
// filled from Prometheus history), and never follows from the first valid
// sample after it.
type Gap struct {
	// At is when the gap began: the last valid sample before it, or the
	// process start when Restart is set (the controller's history is empty).
	At      time.Time
	Restart bool
	// LiveSince is the first valid live sample after the gap.
	LiveSince time.Time
	// FromHistory is how much of the window before LiveSince was filled
	// from Prometheus history.
	FromHistory time.Duration
}

// Output is the decision.
type Output struct {
	Outcome Outcome `json:"outcome"`
	// Reactive is what the current metrics call for; Predicted what the
	// forecasts call for (nil without forecasts); Raw the level recorded for
	// stabilization; Stabilized after the windows; Target after rate
	// policies, bounds and cooldown (= Current unless Scale).
	Reactive   int  `json:"reactive"`
	Predicted  *int `json:"predicted,omitempty"`
	Raw        int  `json:"raw"`
	Stabilized int  `json:"stabilized"`
	Target     int  `json:"target"`
	// Min and Max are the bounds in force (scheduled windows included).
	Min int `json:"min"`
	Max int `json:"max"`
	// Scheduled names the windows that raised the bounds; BySchedule is set
	// when they, not the metrics, call for this target.
	Scheduled  []string `json:"scheduled,omitempty"`
	BySchedule bool     `json:"by_schedule,omitempty"`
	// ByForecast: the forecast asked for more than the metrics do now and
	// decided the target.
	ByForecast bool `json:"by_forecast,omitempty"`
	// WouldTarget is, for a forecast_only policy, the target the forecast
	// would have set (0 when it would not have changed the decision).
	WouldTarget int `json:"would_target,omitempty"`
	// Short: a guard metric is over its target (capacity is short).
	Short  bool   `json:"short,omitempty"`
	Reason string `json:"reason"`
	// Recorded is true when Raw was computed from valid data and belongs in
	// the history.
	Recorded bool `json:"-"`
	// OverCeiling: the target costs more than the service's monthly cost
	// ceiling, allowed because an SLO is breached.
	OverCeiling bool `json:"over_ceiling,omitempty"`
}

// Up reports whether the decision scales up.
func (o Output) Up(current int) bool { return o.Outcome == Scale && o.Target > current }

// Recommend computes the reactive level from the observations alone: the
// maximum over the sizing metrics (utilization and load). ok is false when
// any metric is unusable; short is true when a guard is over its target.
func Recommend(p *policy.Service, current, ready int, obs []Observation, capacity map[string]float64) (level int, ok, short bool, why string) {
	if ready <= 0 || ready > current {
		ready = current
	}
	if len(obs) == 0 {
		return current, false, false, "no metrics observed"
	}
	var bad []string
	for _, o := range obs {
		if !o.Valid() {
			bad = append(bad, fmt.Sprintf("%s: %s", o.Name, o.Problem))
		}
	}
	if len(bad) > 0 {
		return current, false, false, "unusable data (" + strings.Join(bad, ", ") + ")"
	}
	// A utilization at saturation only says "at least this much": when a
	// load metric can size the service, a saturated utilization does not
	// (it would scale by 1/target whatever the real overload).
	loadSizes := false
	for _, o := range obs {
		if m := p.Metric(o.Name); m != nil && m.Type == policy.MetricLoad && CapacityOf(m, capacity) > 0 {
			loadSizes = true
		}
	}
	level = math.MinInt
	var parts []string
	for _, o := range obs {
		m := p.Metric(o.Name)
		typ := policy.Utilization
		if m != nil {
			typ = m.Type
		}
		switch typ {
		case policy.Guard:
			if o.Value > o.Target {
				short = true
				parts = append(parts, fmt.Sprintf("%s %.3g over %.3g: capacity short", o.Name, o.Value, o.Target))
			}
			continue
		case policy.MetricLoad:
			capa := CapacityOf(m, capacity)
			if !(capa > 0) {
				parts = append(parts, fmt.Sprintf("%s: capacity per replica not known yet", o.Name))
				continue
			}
			l := LoadLevel(p, current, o.Value, capa, o.Target)
			parts = append(parts, fmt.Sprintf("%s %.4g needs %d at %.4g per replica × %.2g", o.Name, o.Value, l, capa, o.Target))
			level = max(level, l)
		default:
			if loadSizes && o.Value >= Saturated {
				parts = append(parts, fmt.Sprintf("%s %.3g saturated: the load sizes", o.Name, o.Value))
				continue
			}
			ratio := o.Value / o.Target
			l := current
			if math.Abs(ratio-1) > *p.Tolerance || ready < current {
				l = levelFor(p, ready, ratio)
				if math.Abs(ratio-1) <= *p.Tolerance {
					l = max(l, current) // the ready part is on target: the rest is on its way
				}
			}
			parts = append(parts, fmt.Sprintf("%s %.3g/%.3g → %d", o.Name, o.Value, o.Target, l))
			level = max(level, l)
		}
	}
	if level == math.MinInt {
		// Only guards and unlearned capacities: nothing says how many.
		level = current
	}
	return level, true, short, strings.Join(parts, "; ")
}

// Saturated is the utilization from which a utilization metric no longer
// says how much capacity is missing.
const Saturated = 0.95

// CapacityOf is a load metric's capacity per replica: learned if known,
// else configured.
func CapacityOf(m *policy.Metric, learned map[string]float64) float64 {
	if m == nil {
		return 0
	}
	if c := learned[m.Name]; c > 0 {
		return c
	}
	return m.CapacityPerReplica
}

// LoadLevel is the level a load needs at a target utilization of the
// capacity per replica, with the policy's tolerance around the current
// level (so noise around the target never moves the fleet).
func LoadLevel(p *policy.Service, current int, load, capacity, target float64) int {
	per := capacity * target
	if current > 0 && math.Abs(load/(float64(current)*per)-1) <= *p.Tolerance {
		return current
	}
	return int(math.Ceil(load/per - 1e-9))
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

// Bounds are the bounds in force: the policy's (as narrowed by the growth
// phase), with the minimum raised by active scheduled windows and the
// maximum raised to what they allow. Schedules are validated against the
// policy's hard limits, so raising never passes them.
func Bounds(p *policy.Service, sched schedule.Active) (lo, hi int) {
	lo, hi = p.Bounds()
	if p.Mode == policy.Vertical {
		return lo, hi
	}
	lo = max(lo, sched.Min)
	hi = max(hi, sched.Max, lo)
	return lo, hi
}

// Decide computes the decision for a service.
func Decide(p *policy.Service, in Input) Output {
	pr := p.Predictive
	if pr == nil || !pr.ForecastOnly || len(in.Forecasts) == 0 {
		return decide(p, in, true)
	}
	// forecast_only: act on the reactive decision, and say what the
	// forecast would have done.
	out := decide(p, in, false)
	with := decide(p, in, true)
	if with.Outcome == Scale && (out.Outcome != Scale || with.Target != out.Target) {
		out.WouldTarget = with.Target
		if out.Outcome != Scale {
			out.Outcome = ForecastOnly
			out.Reason = fmt.Sprintf("forecast only: the forecast would scale %d → %d (%s); reactive: %s", in.Current, with.Target, forecastWhy(in.Forecasts), out.Reason)
		}
	}
	out.Predicted = with.Predicted
	return out
}

func decide(p *policy.Service, in Input, applyForecast bool) Output {
	lo, hi := Bounds(p, in.Schedule)
	out := Output{Raw: in.Current, Reactive: in.Current, Stabilized: in.Current, Target: in.Current, Min: lo, Max: hi}
	if plo, phi := p.Bounds(); in.Schedule.Any() && (lo > plo || hi > phi) {
		out.Scheduled = in.Schedule.Names
	}
	reactive, ok, short, why := Recommend(p, in.Current, in.Ready, in.Observations, in.Capacity)
	if !ok {
		// Never scale on missing, NaN or stale data — in either direction.
		out.Outcome, out.Reason = NoData, why
		return out
	}
	out.Reactive, out.Short = reactive, short
	raw := reactive
	if pred, ok := predicted(p, in); ok {
		out.Predicted = &pred
		if applyForecast && pred > raw {
			raw = pred
			why += "; " + forecastWhy(in.Forecasts)
		}
	}
	if short && raw < in.Current {
		// A symptom says capacity is short: whatever the sizing says,
		// nothing is released.
		raw = in.Current
	}
	out.Raw, out.Recorded = raw, true

	// Outside the bounds (a scheduled window began, the phase changed):
	// the bound is the target, as HPA sets min/max directly.
	if in.Current < lo || in.Current > hi {
		return outOfBounds(p, in, out, raw, why)
	}

	stab := stabilize(p, in, raw)
	out.Stabilized = stab
	up := stab > in.Current
	switch {
	case stab == in.Current:
		out.Outcome = WithinTolerance
		if raw != in.Current {
			out.Outcome = Stabilizing
		}
		out.Reason = fmt.Sprintf("holding at %d (raw %d, stabilized %d): %s", in.Current, raw, stab, why)
		return out
	case !up:
		if held, reason := unobserved(in, p.ScaleDown.StabilizationWindow.D()); held {
			out.Outcome = Stabilizing
			out.Reason = reason + ": " + why
			return out
		}
	}
	if in.Allow != nil && (up && !in.Allow.Up || !up && !in.Allow.Down) {
		out.Outcome = WithinTolerance
		out.Reason = fmt.Sprintf("metrics call for %d (stabilized %d) at current %d, but no firing alert asks for %s: %s", raw, stab,
			in.Current, direction(up), why)
		if in.Allow.Up || in.Allow.Down {
			out.Reason = fmt.Sprintf("%s asked for but metrics call for %d (stabilized %d) at current %d: %s", allowed(*in.Allow), raw, stab, in.Current, why)
		}
		return out
	}
	lim := limit(p, in, stab, up, lo, hi)
	if lim.Outcome != Scale {
		out.Outcome, out.Reason = lim.Outcome, lim.Reason+": "+why
		return out
	}
	out.Outcome, out.Target, out.OverCeiling = Scale, lim.Target, lim.OverCeiling
	out.ByForecast = up && out.Predicted != nil && *out.Predicted > reactive && applyForecast
	out.Reason = fmt.Sprintf("%d → %d: %s", in.Current, lim.Target, why)
	if lim.Target != stab {
		out.Reason += fmt.Sprintf(" (limited from %d by %s)", stab, lim.Reason)
	}
	return out
}

// unobserved says whether a scale-down must wait because its window w has
// not been observed since the data gap (or the start): observed means
// covered without a gap by live samples and Prometheus history, and a
// live sample after the first one since the gap — the first valid sample
// after a gap is often the artefact of it (a rate over a half-empty
// window), so it alone never releases capacity. A zero window asks for no
// stabilization, and gets none.
func unobserved(in Input, w time.Duration) (bool, string) {
	if w <= 0 {
		return false, ""
	}
	observed := in.Now.Sub(in.HistorySince)
	first := in.Gap != nil && !in.Now.After(in.Gap.LiveSince)
	if observed >= w && !first {
		return false, ""
	}
	since := "the start"
	switch {
	case in.Gap != nil && in.Gap.Restart:
		since = "the restart at " + in.Gap.At.UTC().Format(time.RFC3339)
	case in.Gap != nil:
		since = "the data gap at " + in.Gap.At.UTC().Format(time.RFC3339)
	case !in.HistorySince.IsZero():
		since = in.HistorySince.UTC().Format(time.RFC3339)
	}
	observed = min(max(observed, 0), w)
	reason := fmt.Sprintf("stabilization window not yet observed since %s: %d s of %d s", since, int(observed.Seconds()), int(w.Seconds()))
	if in.Gap != nil && in.Gap.FromHistory > 0 {
		reason += fmt.Sprintf(" (%d s from Prometheus history)", int(min(in.Gap.FromHistory, w).Seconds()))
	}
	if first {
		reason += "; the first valid sample after it never scales down"
	}
	return true, reason
}

// outOfBounds brings a level outside the bounds back to them: up to the
// minimum at once (a schedule's minimum is a promise made in advance), down
// to the maximum within the scale-down rate policies.
func outOfBounds(p *policy.Service, in Input, out Output, raw int, why string) Output {
	lo, hi := out.Min, out.Max
	if in.Allow != nil && (in.Current < lo && !in.Allow.Up || in.Current > hi && !in.Allow.Down) {
		out.Outcome = WithinTolerance
		out.Reason = fmt.Sprintf("current %d is outside the bounds [%d, %d], but no firing alert asks to move", in.Current, lo, hi)
		return out
	}
	if in.Current < lo {
		out.Outcome = Scale
		out.Stabilized = max(lo, min(raw, hi))
		// The minimum at once; more than that only as fast as scale-ups go.
		out.Target = max(lo, min(out.Stabilized, upLimit(p, in, in.Current)))
		out.BySchedule = len(out.Scheduled) > 0 && raw < lo
		out.Reason = fmt.Sprintf("%d → %d: below the minimum %d", in.Current, out.Target, lo)
		if out.BySchedule {
			out.Reason += " of scheduled window " + strings.Join(out.Scheduled, ", ")
		}
		out.Reason += ": " + why
		return out
	}
	want := max(min(raw, hi), lo)
	t := downLimit(p, in, in.Current)
	target := max(want, t)
	if target >= in.Current {
		out.Outcome, out.Reason = RateLimited, fmt.Sprintf("above the maximum %d, but the scale-down rate policies allow no change now", hi)
		return out
	}
	out.Stabilized, out.Target, out.Outcome = want, target, Scale
	out.Reason = fmt.Sprintf("%d → %d: above the maximum %d: %s", in.Current, target, hi, why)
	return out
}

func allowed(d Directions) string {
	switch {
	case d.Up && d.Down:
		return "scale_up and scale_down"
	case d.Up:
		return string(store.EventScaleUp)
	}
	return string(store.EventScaleDown)
}

func direction(up bool) string {
	if up {
		return "a scale-up"
	}
	return "a scale-down"
}

// predicted is the level the forecasts need, the highest of them.
func predicted(p *policy.Service, in Input) (int, bool) {
	pr := p.Predictive
	if pr == nil || len(in.Forecasts) == 0 {
		return 0, false
	}
	m := p.Metric(pr.Driver)
	capa := CapacityOf(m, in.Capacity)
	if m == nil || !(capa > 0) {
		return 0, false
	}
	best, ok := 0, false
	for i := range in.Forecasts {
		f := &in.Forecasts[i]
		if math.IsNaN(f.Value) || math.IsInf(f.Value, 0) || f.Value < 0 {
			continue
		}
		f.Desired = LoadLevel(p, in.Current, f.Value, capa, m.Target)
		best, ok = max(best, f.Desired), true
	}
	return best, ok
}

func forecastWhy(fs []Forecast) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%s forecast %.4g within %s → %d", f.Forecaster, f.Value, f.Lead.Round(time.Second), f.Desired))
	}
	return strings.Join(parts, ", ")
}

// stabilize applies both windows as HPA does: the recommendation may rise
// to the lowest raw level of the up-window and fall to the highest raw
// level of the down-window, so a short spike or dip does not move it.
func stabilize(p *policy.Service, in Input, raw int) int {
	upW, downW := p.ScaleUp.StabilizationWindow.D(), p.ScaleDown.StabilizationWindow.D()
	upRec, downRec := raw, raw
	for _, r := range in.History {
		age := in.Now.Sub(r.At)
		if age <= upW {
			upRec = min(upRec, r.Level)
		}
		if age <= downW {
			downRec = max(downRec, r.Level)
		}
	}
	rec := in.Current
	if rec < upRec {
		rec = upRec
	}
	if rec > downRec {
		rec = downRec
	}
	return rec
}

// upLimit is the highest level the scale-up rate policies allow now: for
// each policy, the level at the start of its period (current, less what was
// added and plus what was removed within it) plus its allowance; Select
// chooses among them (HPA's calculateScaleUpLimitWithScalingRules).
func upLimit(p *policy.Service, in Input, current int) int {
	b := p.ScaleUp
	if b.Select == policy.SelectDisabled {
		return current
	}
	res, set := 0, false
	for _, rp := range b.Policies {
		added, removed := changedWithin(in, rp.Period.D())
		start := current - added + removed
		var proposed int
		if rp.Type == policy.Percent {
			proposed = int(math.Ceil(float64(start) * (1 + float64(rp.Value)/100)))
		} else {
			proposed = start + rp.Value
		}
		switch {
		case !set:
			res, set = proposed, true
		case b.Select == policy.SelectMin:
			res = min(res, proposed)
		default:
			res = max(res, proposed)
		}
	}
	if !set {
		return current
	}
	return max(res, current)
}

// downLimit is the lowest level the scale-down rate policies allow now
// (HPA's calculateScaleDownLimitWithBehaviors).
func downLimit(p *policy.Service, in Input, current int) int {
	b := p.ScaleDown
	if b.Select == policy.SelectDisabled {
		return current
	}
	res, set := 0, false
	for _, rp := range b.Policies {
		added, removed := changedWithin(in, rp.Period.D())
		start := current + removed - added
		var proposed int
		if rp.Type == policy.Percent {
			proposed = int(float64(start) * (1 - float64(rp.Value)/100))
		} else {
			proposed = start - rp.Value
		}
		switch {
		case !set:
			res, set = proposed, true
		case b.Select == policy.SelectMin:
			res = max(res, proposed)
		default:
			res = min(res, proposed)
		}
	}
	if !set {
		return current
	}
	return min(res, current)
}

func changedWithin(in Input, period time.Duration) (added, removed int) {
	for _, a := range in.Actions {
		if in.Now.Sub(a.At) >= period || a.At.After(in.Now) {
			continue
		}
		if a.To > a.From {
			added += a.To - a.From
		} else {
			removed += a.From - a.To
		}
	}
	return added, removed
}

// Limit applies the limits every action obeys — rate policies, bounds,
// cooldown, cost ceiling — to a wanted level: the last stage of Decide, and
// all of a manual request's.
func Limit(p *policy.Service, in Input, want int) Output {
	lo, hi := Bounds(p, in.Schedule)
	out := limit(p, in, want, want > in.Current, lo, hi)
	out.Min, out.Max = lo, hi
	return out
}

func limit(p *policy.Service, in Input, want int, up bool, lo, hi int) Output {
	out := Output{Raw: want, Reactive: want, Stabilized: want, Target: in.Current}
	b := p.ScaleDown
	if up {
		b = p.ScaleUp
	}
	if want == in.Current {
		out.Outcome, out.Reason = WithinTolerance, fmt.Sprintf("already at %d", in.Current)
		return out
	}
	target := min(max(want, lo), hi)
	if up && target <= in.Current || !up && target >= in.Current {
		out.Outcome = AtBound
		out.Reason = fmt.Sprintf("wanted %d but bounds are [%d, %d] at current %d", want, lo, hi, in.Current)
		return out
	}
	limited := ""
	if up {
		if l := upLimit(p, in, in.Current); target > l {
			target, limited = l, "the scale-up rate policies"
		}
	} else if l := downLimit(p, in, in.Current); target < l {
		target, limited = l, "the scale-down rate policies"
	}
	if target == in.Current {
		out.Outcome = RateLimited
		out.Reason = fmt.Sprintf("wanted %d but %s allow no change now", want, limited)
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
			limited = "the monthly cost ceiling"
		}
	}
	out.Outcome, out.Target, out.Reason = Scale, target, limited
	if limited == "" {
		out.Reason = "bounds"
	}
	return out
}
