package scenario

import (
	"fmt"
	"time"
)

// Limits keep a mistyped scenario from taking the machine (or the target)
// down. They are checked before anything is sent.
type Limits struct {
	MaxVUs      int64         // peak virtual users over all executors
	MaxDuration time.Duration // longest nominal run
	// ConfirmLong lifts MaxDuration (wedsync-load --confirm-long): soak
	// tests are long on purpose.
	ConfirmLong bool
}

// DefaultLimits are the limits unless told otherwise.
var DefaultLimits = Limits{MaxVUs: 2000, MaxDuration: 30 * time.Minute}

// CheckLimits reports every executor or total that exceeds the limits. The
// scenario must have been validated.
func (s *Scenario) CheckLimits(l Limits) error {
	var p problems
	if l.MaxVUs > 0 {
		for _, name := range s.ExecutorNames() {
			if v := s.Scenarios[name].PeakVUs(); v > l.MaxVUs {
				p.add("scenarios."+name+"."+s.Scenarios[name].vuField(), "%d VUs exceed the limit of %d (raise it with --max-vus)", v, l.MaxVUs)
			}
		}
		if total := s.PeakVUs(); len(p) == 0 && total > l.MaxVUs {
			p.add("scenarios", "%d VUs in all exceed the limit of %d (raise it with --max-vus)", total, l.MaxVUs)
		}
	}
	if l.MaxDuration > 0 && !l.ConfirmLong {
		if d := s.TotalDuration(); d > l.MaxDuration {
			p.add("duration", "the run lasts %s, longer than %s: pass --confirm-long if that is meant", d, l.MaxDuration)
		}
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

func (e *Executor) vuField() string {
	switch e.Executor {
	case RampingVUs:
		return "stages"
	case ConstantArrivalRate, RampingArrivalRate:
		return "maxVUs"
	}
	return "vus"
}

// PeakVUs is the most virtual users the executor can run at once.
func (e *Executor) PeakVUs() int64 {
	switch e.Executor {
	case RampingVUs:
		m := val(e.StartVUs)
		for _, st := range e.Stages {
			m = max(m, val(st.Target))
		}
		return m
	case ConstantArrivalRate, RampingArrivalRate:
		return max(val(e.MaxVUs), val(e.PreAllocatedVUs))
	}
	return val(e.VUs)
}

// NominalDuration is how long the executor runs, graceful stop excluded
// (for the iteration executors, their maxDuration).
func (e *Executor) NominalDuration() time.Duration {
	switch e.Executor {
	case RampingVUs, RampingArrivalRate:
		var d time.Duration
		for _, st := range e.Stages {
			if st.Duration != nil {
				d += st.Duration.D()
			}
		}
		return d
	case SharedIterations, PerVUIterations:
		if e.MaxDuration != nil {
			return e.MaxDuration.D()
		}
		return DefaultMaxDuration
	}
	if e.Duration != nil {
		return e.Duration.D()
	}
	return 0
}

// PeakVUs sums the executors' peaks (they may overlap in time).
func (s *Scenario) PeakVUs() int64 {
	var n int64
	for _, e := range s.Scenarios {
		n += e.PeakVUs()
	}
	return n
}

// TotalDuration is when the last executor ends, graceful stops excluded.
func (s *Scenario) TotalDuration() time.Duration {
	var d time.Duration
	for _, e := range s.Scenarios {
		start := time.Duration(0)
		if e.StartTime != nil {
			start = e.StartTime.D()
		}
		d = max(d, start+e.NominalDuration())
	}
	return d
}

// OpenModel reports whether the executor schedules arrivals (latency is then
// measured from the scheduled time) rather than looping virtual users.
func (e *Executor) OpenModel() bool {
	return e.Executor == ConstantArrivalRate || e.Executor == RampingArrivalRate
}

func val(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func (e *Executor) String() string { return fmt.Sprintf("%s executor", e.Executor) }
