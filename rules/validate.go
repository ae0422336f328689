package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ValidationError lists every problem of a thresholds file at once, each
// prefixed with its field path, so one edit-run cycle fixes them all.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid thresholds:\n  " + strings.Join(e.Problems, "\n  ")
}

type problems []string

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, path+": "+fmt.Sprintf(format, args...))
}

// Validate checks t after defaults were applied and returns a
// *ValidationError naming every problem, or nil.
func (t *Thresholds) Validate() error {
	var ps problems
	validateRunbookURL(t.RunbookURLTemplate, &ps)
	validateSLOs(t.SLOs, &ps)
	for _, name := range RequiredProfiles {
		if t.Profiles[name] == nil {
			ps.add("profiles."+name, "missing (required profiles: %s)", strings.Join(RequiredProfiles, ", "))
		}
	}
	for _, name := range t.ProfileNames() {
		if p := t.Profiles[name]; p != nil {
			p.validate("profiles."+name, &ps)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

func (p *Profile) validate(path string, ps *problems) {
	intervalOK := positive(ps, path+".evaluation_interval", p.EvaluationInterval)
	if nonNegative(ps, path+".rate_window", p.RateWindow) && intervalOK && p.RateWindow < 2*p.EvaluationInterval {
		// rate() needs two samples in its window, and the scrape interval is
		// assumed to be the evaluation interval.
		ps.add(path+".rate_window", "must be at least 2 × evaluation_interval (%s) so rate() sees two samples, got %s",
			2*p.EvaluationInterval, p.RateWindow)
	}
	if nonNegative(ps, path+".long_window", p.LongWindow) && p.LongWindow <= p.RateWindow {
		ps.add(path+".long_window", "must be longer than rate_window (%s), got %s", p.RateWindow, p.LongWindow)
	}
	if c := p.LongWindowCoverage; !(c > 0 && c <= 1) {
		ps.add(path+".long_window_coverage", "must be in (0,1], got %s", formatFloat(c))
	}

	cpuHighOK := p.CPUHigh.validate(path+".cpu_high", ps)
	cpuSustainedOK := p.CPUSustainedHigh.validate(path+".cpu_sustained_high", ps)
	p.DBCPUHigh.validate(path+".db_cpu_high", ps)
	p.DBConnectionsHigh.validate(path+".db_connections_high", ps)
	p95OK := p.LatencyP95High.validate(path+".latency_p95_high", p, ps)
	p99OK := p.LatencyP99High.validate(path+".latency_p99_high", p, ps)
	if p95OK && p99OK && p.LatencyP99High.ThresholdSeconds < p.LatencyP95High.ThresholdSeconds {
		ps.add(path+".latency_p99_high.threshold_seconds", "must not be below latency_p95_high.threshold_seconds (%s), got %s",
			formatFloat(p.LatencyP95High.ThresholdSeconds), formatFloat(p.LatencyP99High.ThresholdSeconds))
	}

	// Hysteresis: a fleet that is scaled down must not be "high" right away,
	// or it flaps between the two alerts.
	if p.Underutilized.validate(path+".underutilized", ps) {
		low := p.Underutilized.Threshold
		if cpuHighOK && low >= p.CPUHigh.Threshold {
			ps.add(path+".underutilized.threshold", "must be below cpu_high.threshold (%s) to leave a hysteresis band, got %s",
				formatFloat(p.CPUHigh.Threshold), formatFloat(low))
		}
		if cpuSustainedOK && low >= p.CPUSustainedHigh.Threshold {
			ps.add(path+".underutilized.threshold", "must be below cpu_sustained_high.threshold (%s) to leave a hysteresis band, got %s",
				formatFloat(p.CPUSustainedHigh.Threshold), formatFloat(low))
		}
	}

	// One source for alert thresholds and decision targets: inside the
	// decision's tolerance band no scaling alert fires.
	st := p.ScalingTarget
	if ratio(ps, path+".scaling_target.utilization", st.Utilization) {
		if !(st.Tolerance >= 0 && st.Tolerance < 1) {
			ps.add(path+".scaling_target.tolerance", "must be in [0,1), got %s", formatFloat(st.Tolerance))
		} else {
			lo, hi := st.Band()
			for _, a := range []struct {
				field string
				th    float64
			}{{"cpu_high", p.CPUHigh.Threshold}, {"cpu_sustained_high", p.CPUSustainedHigh.Threshold}} {
				if a.th > 0 && a.th <= hi {
					ps.add(path+"."+a.field+".threshold", "must be above the autoscaler's tolerance band [%s, %s] (scaling_target), got %s: the alert would fire where the decision holds",
						formatFloat(lo), formatFloat(hi), formatFloat(a.th))
				}
			}
			// Above the band the hysteresis rule above already says no.
			if th := p.Underutilized.Threshold; th >= lo && th <= hi {
				ps.add(path+".underutilized.threshold", "must be below the autoscaler's tolerance band [%s, %s] (scaling_target), got %s: the alert would fire where the decision holds",
					formatFloat(lo), formatFloat(hi), formatFloat(th))
			}
		}
	}

	p.Alertmanager.validate(path+".alertmanager", ps)
	p.Cost.validate(path+".cost", ps)
	p.SLO.validate(path+".slo", p, ps)
	if p.Baselines != nil {
		p.Baselines.validate(path+".baselines", p, ps)
	}
	p.LatencyDegradation.validate(path+".latency_degradation", ps)
	p.PredictedSaturation.validate(path+".predicted_saturation", p, ps)
	positive(ps, path+".target_down.for", p.TargetDown.For)
	p.AutoscalerAlerts.validate(path+".autoscaler_alerts", p, ps)
}

func (c CostThresholds) validate(path string, ps *problems) {
	nonNegative(ps, path+".for", c.For)
	if c.BudgetWarningPercent < 1 || c.BudgetWarningPercent > 1000 {
		ps.add(path+".budget_warning_percent", "must be 1…1000, got %d", c.BudgetWarningPercent)
	}
	if c.BudgetCriticalPercent < c.BudgetWarningPercent || c.BudgetCriticalPercent > 1000 {
		ps.add(path+".budget_critical_percent", "must be budget_warning_percent (%d)…1000, got %d", c.BudgetWarningPercent, c.BudgetCriticalPercent)
	}
	if !(c.SpikeRatio > 1) || math.IsInf(c.SpikeRatio, 0) {
		ps.add(path+".spike_ratio", "must be a finite number above 1, got %s", formatFloat(c.SpikeRatio))
	}
	if !(c.SpikeMinIncrease >= 0) || math.IsInf(c.SpikeMinIncrease, 0) {
		ps.add(path+".spike_min_increase", "must be a finite number ≥ 0, got %s", formatFloat(c.SpikeMinIncrease))
	}
	if !(c.UsageSpikeRatio > 1) || math.IsInf(c.UsageSpikeRatio, 0) {
		ps.add(path+".usage_spike_ratio", "must be a finite number above 1, got %s", formatFloat(c.UsageSpikeRatio))
	}
	if !(c.ProjectionMinConfidence >= 0 && c.ProjectionMinConfidence <= 1) {
		ps.add(path+".projection_min_confidence", "must be in [0,1], got %s", formatFloat(c.ProjectionMinConfidence))
	}
	positive(ps, path+".exhaustion_within", c.ExhaustionWithin)
	nonNegative(ps, path+".users_beyond_phase_for", c.UsersBeyondPhaseFor)
	positive(ps, path+".source_down_for", c.SourceDownFor)
	c.Alertmanager.validate(path+".alertmanager", ps)
}

// validate reports whether the threshold itself is usable for comparisons.
func (a Alert) validate(path string, ps *problems) bool {
	nonNegative(ps, path+".for", a.For)
	return ratio(ps, path+".threshold", a.Threshold)
}

func (l LatencyAlert) validate(path string, p *Profile, ps *problems) bool {
	ok := true
	if !(l.ThresholdSeconds > 0) {
		ps.add(path+".threshold_seconds", "must be positive, got %s", formatFloat(l.ThresholdSeconds))
		ok = false
	}
	forOK := nonNegative(ps, path+".for", l.For)
	if positive(ps, path+".fire_within", l.FireWithin) && forOK {
		// Worst case from a latency step to a firing alert: the scrape, the
		// recording group and the alerting group each lag one evaluation
		// interval, the rate window fills with slow requests, then `for`.
		worst := p.RateWindow + l.For + 3*p.EvaluationInterval
		if worst > l.FireWithin {
			ps.add(path, "cannot fire within %s: rate_window %s + for %s + 3 × evaluation_interval %s = %s",
				l.FireWithin, p.RateWindow, l.For, p.EvaluationInterval, worst)
		}
	}
	return ok
}

func (a AlertmanagerTimings) validate(path string, ps *problems) {
	nonNegative(ps, path+".group_wait", a.GroupWait)
	gi := positive(ps, path+".group_interval", a.GroupInterval)
	if positive(ps, path+".repeat_interval", a.RepeatInterval) && gi && a.RepeatInterval < a.GroupInterval {
		// Alertmanager only repeats at group_interval ticks.
		ps.add(path+".repeat_interval", "must not be shorter than group_interval (%s), got %s", a.GroupInterval, a.RepeatInterval)
	}
}

func ratio(ps *problems, path string, v float64) bool {
	if v > 0 && v <= 1 {
		return true
	}
	ps.add(path, "must be in (0,1], got %s", formatFloat(v))
	return false
}

func nonNegative(ps *problems, path string, d Duration) bool {
	if d < 0 {
		ps.add(path, "must not be negative, got %s", d)
		return false
	}
	return true
}

func positive(ps *problems, path string, d Duration) bool {
	if d <= 0 {
		ps.add(path, "must be positive, got %s", d)
		return false
	}
	return true
}

// formatFloat prints the shortest form that reads back as v ("0.8", "2").
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
