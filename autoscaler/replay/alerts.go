package replay

import (
	"time"

	"github.com/wedsync/scaling/rules"
)

// alertSim emulates, for the reactive strategy, the scaling alerts of
// rules/thresholds.yml as Prometheus evaluates them and Alertmanager
// delivers them: a condition must hold for its `for`, the first
// notification leaves after group_wait, a resolution after group_interval.
// The thresholds are read from the same profile the real rules are
// rendered from, so the emulation cannot drift from them.
type alertSim struct {
	prof   *rules.Profile
	alerts []*simAlert
}

type simAlert struct {
	name, reason string
	up           bool
	threshold    float64
	forDur       time.Duration
	// above: fires when the signal is above the threshold (else below).
	above  bool
	signal func(s signals) (float64, bool)

	pendingSince time.Duration // condition true since; -1: not
	firing       bool
	visible      bool          // what the autoscaler has been told
	changeAt     time.Duration // when the pending notification is delivered; -1: none
}

// signals are the normalized series at one evaluation.
type signals struct {
	cpu, cpuAvgLong, p95, p99 float64
	cpuOK, longOK, latOK      bool
}

func newAlertSim(p *rules.Profile) *alertSim {
	a := &alertSim{prof: p}
	add := func(name, reason string, up bool, th float64, f rules.Duration, above bool, sig func(signals) (float64, bool)) {
		a.alerts = append(a.alerts, &simAlert{name: name, reason: reason, up: up, threshold: th, forDur: f.D(), above: above,
			signal: sig, pendingSince: -1, changeAt: -1})
	}
	cpu := func(s signals) (float64, bool) { return s.cpu, s.cpuOK }
	add("ServiceCPUHigh", "high_cpu_usage", true, p.CPUHigh.Threshold, p.CPUHigh.For, true, cpu)
	add("ServiceCPUSustainedHigh", "high_cpu_usage", true, p.CPUSustainedHigh.Threshold, p.CPUSustainedHigh.For, true,
		func(s signals) (float64, bool) { return s.cpuAvgLong, s.longOK })
	add("APILatencyP95High", "response_time_degradation", true, p.LatencyP95High.ThresholdSeconds, p.LatencyP95High.For, true,
		func(s signals) (float64, bool) { return s.p95, s.latOK })
	add("APILatencyP99High", "response_time_degradation", true, p.LatencyP99High.ThresholdSeconds, p.LatencyP99High.For, true,
		func(s signals) (float64, bool) { return s.p99, s.latOK })
	// The fleet's memory is not simulated: CPU alone stands for "CPU and
	// memory both low", which only makes the emulated alert fire sooner.
	add("ServiceUnderutilized", "resource_underutilization", false, p.Underutilized.Threshold, p.Underutilized.For, false, cpu)
	return a
}

// step evaluates the rules at now and returns whether what the autoscaler
// has been told changed (a delivery: the fast path evaluates at once).
func (a *alertSim) step(now time.Duration, s signals) bool {
	delivered := false
	for _, al := range a.alerts {
		v, ok := al.signal(s)
		cond := ok && (al.above && v > al.threshold || !al.above && v < al.threshold)
		switch {
		case cond && al.pendingSince < 0:
			al.pendingSince = now
		case !cond:
			al.pendingSince = -1
		}
		firing := cond && now-al.pendingSince >= al.forDur
		if firing != al.firing {
			al.firing = firing
			wait := a.prof.Alertmanager.GroupWait.D()
			if !firing {
				wait = a.prof.Alertmanager.GroupInterval.D()
			}
			al.changeAt = now + wait
		}
		if al.changeAt >= 0 && now >= al.changeAt {
			al.changeAt = -1
			if al.visible != al.firing {
				al.visible = al.firing
				delivered = true
			}
		}
	}
	return delivered
}

// directions are the directions the alerts the autoscaler knows of allow,
// and whether a latency SLO alert is among them.
func (a *alertSim) directions() (up, down, slo bool) {
	for _, al := range a.alerts {
		if !al.visible {
			continue
		}
		if al.up {
			up = true
			slo = slo || al.reason == "response_time_degradation"
		} else {
			down = true
		}
	}
	return up, down, slo
}
