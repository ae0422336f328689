package control

import (
	"math"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
)

const pol = `
sync_period: 15s
services:
  api:
    actuator: {type: exec, exec: {current_command: [x], apply_command: [y]}}
    min_replicas: 2
    max_replicas: 40
    metric_window: 30s
    metrics:
      - {name: cpu, query: q1, target: 0.6}
      - {name: load, type: load, query: q2, target: 0.6, capacity_per_replica: 80, capacity_from: cpu}
    predictive: {driver: load, forecasters: [trend, seasonal], trend: {window: 2m, min_samples: 4}}
`

func service(t *testing.T) *policy.Service {
	t.Helper()
	f, err := policy.Parse([]byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	return f.Services["api"]
}

var t0 = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

func obs(cpu, load float64) []decision.Observation {
	return []decision.Observation{{Name: "cpu", Value: cpu, Target: 0.6}, {Name: "load", Value: load, Target: 0.6}}
}

func TestGapRestartsTheWindows(t *testing.T) {
	t.Parallel()
	p := service(t)
	c := New("api", t0.Add(-time.Hour))
	c.AssumeObserved(t0.Add(-time.Hour), t0.Add(-15*time.Second))
	in, _ := c.Gather(p, t0, 4, obs(0.5, 200), 15*time.Second, 45*time.Second)
	if !in.HistorySince.Equal(t0.Add(-time.Hour)) || in.Gap != nil {
		t.Fatalf("continuous data: since %s", in.HistorySince)
	}
	c.Gather(p, t0.Add(15*time.Second), 4, []decision.Observation{{Name: "cpu", Problem: "nan"}, {Name: "load", Value: 1}}, 15*time.Second, 45*time.Second)
	in, _ = c.Gather(p, t0.Add(30*time.Second), 4, obs(0.5, 200), 15*time.Second, 45*time.Second)
	if !in.HistorySince.Equal(t0.Add(30 * time.Second)) {
		t.Fatalf("after a NaN: since %s, want the first valid sample", in.HistorySince)
	}
	// Evaluations further apart than gapAfter are a gap too (the process
	// was stopped, or Prometheus did not answer).
	in, _ = c.Gather(p, t0.Add(2*time.Minute), 4, obs(0.5, 200), 15*time.Second, 45*time.Second)
	if !in.HistorySince.Equal(t0.Add(2 * time.Minute)) {
		t.Fatalf("after 90 s without an evaluation: since %s", in.HistorySince)
	}
}

func TestCapacityIsLearnedFromSteadyWindowsOnly(t *testing.T) {
	t.Parallel()
	p := service(t)
	c := New("api", t0)
	now := t0
	for range 50 { // 4 replicas serving 240 req/s at 60 %: 100 req/s each
		now = now.Add(15 * time.Second)
		c.Gather(p, now, 4, obs(0.6, 240), 15*time.Second, time.Minute)
	}
	if got := c.Capacity("load"); math.Abs(got-100) > 1 {
		t.Fatalf("learned %v req/s per replica, want ≈ 100", got)
	}
	// Right after an action the window mixes fleet sizes: not learned from.
	c.Acted(p, now, 4, 8)
	now = now.Add(15 * time.Second)
	c.Gather(p, now, 8, obs(0.3, 240*0.5), 15*time.Second, time.Minute) // would say 50
	if got := c.Capacity("load"); math.Abs(got-100) > 1 {
		t.Fatalf("learned from a window spanning a scale-up: %v", got)
	}
	// Saturated or idle utilization says nothing about capacity.
	c2 := New("api", t0)
	for i := range 20 {
		c2.Gather(p, t0.Add(time.Duration(i)*15*time.Second), 4, obs(1, 900), 15*time.Second, time.Minute)
		c2.Gather(p, t0.Add(time.Duration(i)*15*time.Second), 4, obs(0.05, 5), 15*time.Second, time.Minute)
	}
	if got := c2.Capacity("load"); got != 0 {
		t.Fatalf("learned %v from saturated and idle samples", got)
	}
}

func TestForecastsAreMadeAndScored(t *testing.T) {
	t.Parallel()
	p := service(t)
	c := New("api", t0.Add(-time.Hour))
	var notes Notes
	var in decision.Input
	for i := range 12 {
		in, notes = c.Gather(p, t0.Add(time.Duration(i)*15*time.Second), 4, obs(0.6, 200+20*float64(i)), 15*time.Second, time.Minute)
	}
	if notes.Lead != time.Minute+15*time.Second {
		t.Fatalf("lead = %s, want the 1m floor + sync", notes.Lead)
	}
	if len(in.Forecasts) != 1 || in.Forecasts[0].Forecaster != policy.ForecasterTrend || in.Forecasts[0].Value <= 420 {
		t.Fatalf("forecasts = %+v", in.Forecasts)
	}
	if len(notes.Why) != 1 || notes.Why[0] != "seasonal: not fitted yet" {
		t.Fatalf("why = %q", notes.Why)
	}
	// Two minutes later the first forecasts are scored against what came.
	for i := 12; i < 24; i++ {
		c.Gather(p, t0.Add(time.Duration(i)*15*time.Second), 4, obs(0.6, 200+20*float64(i)), 15*time.Second, time.Minute)
	}
	if e, n := c.Tracker.MAPE(Combined); n == 0 || e > 0.05 {
		t.Fatalf("combined MAPE %v over %d forecasts of a straight ramp", e, n)
	}
}
