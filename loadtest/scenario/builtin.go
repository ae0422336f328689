package scenario

import (
	"fmt"
	"sort"
	"time"
)

// The spec's performance targets (growth_phases.performance_targets): p95
// under 2 s, p99 under 5 s, under 1 % errors.
func defaultThresholds() map[string]ThresholdList {
	return map[string]ThresholdList{
		"http_req_duration": {{Threshold: "p(95)<2000"}, {Threshold: "p(99)<5000"}},
		"http_req_failed":   {{Threshold: "rate<0.01"}},
	}
}

// Builtin describes a built-in scenario.
type Builtin struct {
	Type        Type
	Description string
	VUs         int64         // peak users (volume: the most VUs the arrival rate may use)
	Duration    time.Duration // whole run
	RampUp      time.Duration
	Rate        int64         // volume only: requests per second
	ThinkTime   time.Duration // closed models: a user's pause between requests
}

// Builtins are the spec's scenarios: baseline (100 users, 10 min, 60 s
// ramp), stress (500, 15 min, 120 s), spike (1,000, 5 min, 30 s), plus
// volume (a sustained request rate with data volume in mind) and endurance
// (a soak: moderate load for hours, which needs --confirm-long).
var Builtins = map[string]Builtin{
	"baseline":  {Type: TypeBaseline, Description: "normal load: 100 users, 60 s ramp, 10 min", VUs: 100, Duration: 10 * time.Minute, RampUp: time.Minute, ThinkTime: time.Second},
	"stress":    {Type: TypeStress, Description: "beyond normal: 500 users, 120 s ramp, 15 min", VUs: 500, Duration: 15 * time.Minute, RampUp: 2 * time.Minute, ThinkTime: time.Second},
	"spike":     {Type: TypeSpike, Description: "sudden surge: 1,000 users within 30 s, 5 min", VUs: 1000, Duration: 5 * time.Minute, RampUp: 30 * time.Second, ThinkTime: time.Second},
	"volume":    {Type: TypeVolume, Description: "sustained volume: 500 requests/s open model, up to 1,000 VUs, 60 s ramp, 20 min", VUs: 1000, Rate: 500, Duration: 20 * time.Minute, RampUp: time.Minute},
	"endurance": {Type: TypeEndurance, Description: "soak: 200 users for 4 h, 5 min ramp (needs --confirm-long)", VUs: 200, Duration: 4 * time.Hour, RampUp: 5 * time.Minute, ThinkTime: time.Second},
}

// BuiltinNames lists the built-in scenarios in a stable order.
func BuiltinNames() []string {
	names := make([]string, 0, len(Builtins))
	for n := range Builtins {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return order(names[i]) < order(names[j]) })
	return names
}

func order(n string) int {
	for i, x := range []string{"baseline", "stress", "spike", "volume", "endurance"} {
		if x == n {
			return i
		}
	}
	return 99
}

// Override changes a built-in scenario's shape; zero fields keep the default.
type Override struct {
	VUs       int64
	Duration  time.Duration
	RampUp    time.Duration
	Rate      int64
	ThinkTime *time.Duration
}

// FromBuiltin builds a built-in scenario against target: users ramp up
// linearly to the peak, then hold until the end. Volume is an open model
// (ramping arrival rate), the others closed (virtual users with think time).
func FromBuiltin(name, target string, o Override) (Scenario, error) {
	b, ok := Builtins[name]
	if !ok {
		return Scenario{}, fmt.Errorf("unknown scenario %q (built-in: %v, or a scenario file)", name, BuiltinNames())
	}
	if o.VUs != 0 {
		b.VUs = o.VUs
	}
	if o.Duration != 0 {
		b.Duration = o.Duration
	}
	if o.RampUp != 0 {
		b.RampUp = o.RampUp
	}
	if o.Rate != 0 {
		b.Rate = o.Rate
	}
	if o.ThinkTime != nil {
		b.ThinkTime = *o.ThinkTime
	}
	if b.RampUp > b.Duration {
		b.RampUp = b.Duration
	}
	hold := b.Duration - b.RampUp
	s := Scenario{Name: name, Type: b.Type, Target: target, Options: Options{Thresholds: defaultThresholds()}}
	var e *Executor
	if b.Type == TypeVolume {
		e = &Executor{Executor: RampingArrivalRate, StartRate: ptr[int64](0), TimeUnit: dur(time.Second),
			PreAllocatedVUs: ptr(max(1, b.VUs/10)), MaxVUs: ptr(b.VUs),
			Stages: []Stage{{Duration: dur(b.RampUp), Target: ptr(b.Rate)}, {Duration: dur(hold), Target: ptr(b.Rate)}}}
	} else {
		e = &Executor{Executor: RampingVUs, StartVUs: ptr[int64](0), ThinkTime: dur(b.ThinkTime),
			Stages: []Stage{{Duration: dur(b.RampUp), Target: ptr(b.VUs)}, {Duration: dur(hold), Target: ptr(b.VUs)}}}
	}
	s.Scenarios = map[string]*Executor{name: e}
	if err := s.Validate(); err != nil {
		return Scenario{}, err
	}
	return s, nil
}
