package decision

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/policy"
)

const horizontalPolicy = `
services:
  api:
    actuator: {type: exec, exec: {current_command: [cat, x], apply_command: [echo, "{{.Replicas}}"]}}
    min_replicas: 2
    max_replicas: 10
    metrics:
      - {name: cpu, query: 'service:cpu_utilization:ratio{service="api"}', target: 0.6}
      - {name: p95, query: 'service:http_request_duration_seconds:p95{service="api"}', target: 1}
    scale_up: {stabilization_window: 0s, cooldown: 1m, max_step: 4, max_percent: 100}
    scale_down: {stabilization_window: 5m, cooldown: 5m, max_step: 1, max_percent: 50}
  db:
    mode: vertical
    actuator: {type: exec, exec: {current_command: [cat, x], apply_command: [echo, "{{.Tier}}"]}}
    tiers:
      - {name: ci_micro, capacity: 2, price_monthly: 10}
      - {name: ci_small, capacity: 4, price_monthly: 15}
      - {name: ci_medium, capacity: 8, price_monthly: 60}
      - {name: ci_large, capacity: 16, price_monthly: 110}
    max_tier: ci_medium
    metrics:
      - {name: cpu, query: 'db:cpu_utilization:ratio{service="db"}', target: 0.7}
`

func load(t *testing.T) *policy.File {
	t.Helper()
	f, err := policy.Parse([]byte(horizontalPolicy))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// The directions a firing alert allows (alerts_only control).
var (
	up   = &Directions{Up: true}
	down = &Directions{Down: true}
)

func obs(cpu, p95 float64) []Observation {
	return []Observation{{Name: "cpu", Value: cpu, Target: 0.6}, {Name: "p95", Value: p95, Target: 1}}
}

func TestDecideHorizontal(t *testing.T) {
	t.Parallel()
	p := load(t).Services["api"]
	long := t0.Add(-time.Hour)
	tests := []struct {
		name    string
		in      Input
		outcome Outcome
		target  int
		raw     int
	}{
		{"cpu over target scales up", Input{Allow: up, Current: 4, Observations: obs(0.9, 0.5)}, Scale, 6, 6},
		{"worst metric wins (latency)", Input{Allow: up, Current: 2, Observations: obs(0.9, 3)}, Scale, 6, 6},
		{"rate limit: max(4, 100%) of 2 is 4", Input{Allow: up, Current: 2, Observations: obs(1.0, 8)}, Scale, 6, 16},
		{"worst metric within limit", Input{Allow: up, Current: 6, Observations: obs(0.8, 1.5)}, Scale, 9, 9},
		{"rate limit: max(4, 100% of 3) is 4", Input{Allow: up, Current: 3, Observations: obs(1.0, 4.5)}, Scale, 7, 14},
		{"clamped to max", Input{Allow: up, Current: 8, Observations: obs(1.0, 2)}, Scale, 10, 16},
		{"at max holds", Input{Allow: up, Current: 10, Observations: obs(1.0, 2)}, AtBound, 10, 20},
		{"within tolerance holds", Input{Allow: up, Current: 4, Observations: obs(0.65, 1.05)}, WithinTolerance, 4, 4},
		{"alert up but metrics say down: hold", Input{Allow: up, Current: 4, Observations: obs(0.2, 0.1)}, WithinTolerance, 4, 2},
		{"NaN holds", Input{Allow: up, Current: 4, Observations: []Observation{{Name: "cpu", Value: math.NaN(), Target: 0.6, Problem: "nan"}, {Name: "p95", Value: 3, Target: 1}}}, NoData, 4, 4},
		{"missing data never scales down", Input{Allow: down, Current: 4, HistorySince: long, Observations: []Observation{{Name: "cpu", Problem: "no_data"}, {Name: "p95", Value: 0.1, Target: 1}}}, NoData, 4, 4},
		{"stale data holds", Input{Allow: down, Current: 4, HistorySince: long, Observations: []Observation{{Name: "cpu", Value: 0.1, Problem: "stale"}, {Name: "p95", Value: 0.1, Target: 1}}}, NoData, 4, 4},
		{"scale down one step (max(1, 50%) of 4 = 2)", Input{Allow: down, Current: 4, HistorySince: long, Observations: obs(0.1, 0.1)}, Scale, 2, 1},
		{"scale down clamped to min", Input{Allow: down, Current: 3, HistorySince: long, Observations: obs(0.05, 0.05)}, Scale, 2, 1},
		{"at min holds", Input{Allow: down, Current: 2, HistorySince: long, Observations: obs(0.05, 0.05)}, AtBound, 2, 1},
		{"down window covers a higher recommendation", Input{Allow: down, Current: 6, HistorySince: long, Observations: obs(0.1, 0.1),
			History: []Recommendation{{At: t0.Add(-2 * time.Minute), Level: 6}}}, Stabilizing, 6, 1},
		{"down window partly: highest in window wins", Input{Allow: down, Current: 8, HistorySince: long, Observations: obs(0.1, 0.1),
			History: []Recommendation{{At: t0.Add(-2 * time.Minute), Level: 6}, {At: t0.Add(-10 * time.Minute), Level: 9}}}, Scale, 6, 2},
		{"down window not yet observed after restart", Input{Allow: down, Current: 6, HistorySince: t0.Add(-time.Minute), Observations: obs(0.1, 0.1)}, Stabilizing, 6, 1},
		{"cooldown holds", Input{Allow: up, Current: 4, LastAction: t0.Add(-30 * time.Second), Observations: obs(0.9, 0.5)}, Cooldown, 4, 6},
		{"cooldown over", Input{Allow: up, Current: 4, LastAction: t0.Add(-61 * time.Second), Observations: obs(0.9, 0.5)}, Scale, 6, 6},
		{"below min while idle is raised by a scale-up alert", Input{Allow: up, Current: 1, Observations: obs(0.7, 0.5)}, Scale, 2, 2},
		{"above max with scale-down alert comes down by 50%", Input{Allow: down, Current: 14, HistorySince: long, Observations: obs(0.1, 0.1)}, Scale, 7, 3},
		{"above max with scale-up alert does not scale down", Input{Allow: up, Current: 14, Observations: obs(1.0, 2)}, WithinTolerance, 14, 28},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Now = t0
			got := Decide(p, tc.in)
			if got.Outcome != tc.outcome || got.Target != tc.target || got.Raw != tc.raw {
				t.Fatalf("Decide = {outcome %s, target %d, raw %d} (%s); want {%s, %d, %d}", got.Outcome, got.Target, got.Raw, got.Reason, tc.outcome, tc.target, tc.raw)
			}
			if got.Reason == "" {
				t.Fatal("decision without a reason")
			}
			if got.Outcome != Scale && got.Target != tc.in.Current {
				t.Fatalf("hold with target %d != current %d", got.Target, tc.in.Current)
			}
		})
	}
}

// Deciding twice on the same state gives the same absolute target: a
// duplicated notification cannot compound into "+N twice".
func TestDecideIsIdempotent(t *testing.T) {
	t.Parallel()
	p := load(t).Services["api"]
	in := Input{Now: t0, Allow: up, Current: 2, Observations: obs(1.0, 4)}
	a, b := Decide(p, in), Decide(p, in)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two decisions on one state differ: %+v vs %+v", a, b)
	}
	in.Current = a.Target // after acting, a re-delivery sees the new state
	in.LastAction = t0
	if c := Decide(p, in); c.Outcome == Scale {
		t.Fatalf("re-delivered notification acted again: %+v", c)
	}
}

func TestDecideVertical(t *testing.T) {
	t.Parallel()
	p := load(t).Services["db"]
	long := t0.Add(-time.Hour)
	cpu := func(v float64) []Observation { return []Observation{{Name: "cpu", Value: v, Target: 0.7}} }
	tests := []struct {
		name    string
		in      Input
		outcome Outcome
		target  int
	}{
		{"one tier up per action", Input{Allow: up, Current: 0, Observations: cpu(2.8)}, Scale, 1}, // needs 8 (ci_medium) but max_step 1
		{"exact fit", Input{Allow: up, Current: 1, Observations: cpu(1.4)}, Scale, 2},
		{"max_tier bound", Input{Allow: up, Current: 2, Observations: cpu(1.0)}, AtBound, 2},
		{"down a tier", Input{Allow: down, Current: 2, HistorySince: long, Observations: cpu(0.2)}, Scale, 1},
		{"within tolerance", Input{Allow: up, Current: 1, Observations: cpu(0.75)}, WithinTolerance, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Now = t0
			got := Decide(p, tc.in)
			if got.Outcome != tc.outcome || got.Target != tc.target {
				t.Fatalf("Decide = %s → %d (%s); want %s → %d", got.Outcome, got.Target, got.Reason, tc.outcome, tc.target)
			}
		})
	}
	if c := p.MonthlyCost(2).Sub(p.MonthlyCost(1)); c.String() != "45" {
		t.Fatalf("tier cost delta = %s, want 45", c)
	}
}

func TestObservationJSONKeepsNaN(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal([]Observation{{Name: "cpu", Value: math.NaN(), Problem: "nan"}, {Name: "p95", Value: 1.5}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"value":"NaN"`) || !strings.Contains(string(b), `"value":1.5`) {
		t.Fatalf("json = %s", b)
	}
}

// A monthly cost ceiling stops a scale-up below it, unless an SLO is
// breached: then the SLO wins and the output says so.
func TestCostCeiling(t *testing.T) {
	t.Parallel()
	f, err := policy.Parse([]byte(`
services:
  api:
    actuator: {type: exec, exec: {current_command: [x], apply_command: [y]}}
    min_replicas: 1
    max_replicas: 20
    price_per_replica_monthly: 20
    monthly_cost_ceiling: 100
    metrics: [{name: cpu, query: q, target: 0.5}]
`))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Services["api"]
	cpu := []Observation{{Name: "cpu", Value: 1.0, Target: 0.5}} // calls for 2× current
	tests := []struct {
		current int
		slo     bool
		outcome Outcome
		target  int
		over    bool
	}{
		{3, false, Scale, 5, false},       // wants 6: the ceiling (100 / 20 = 5) stops it at 5
		{5, false, CostCeiling, 5, false}, // already at the ceiling
		{3, true, Scale, 6, true},         // SLO breached: past the ceiling, said so
		{2, false, Scale, 4, false},       // within the ceiling
	}
	for _, tc := range tests {
		out := Decide(p, Input{Now: t0, Allow: up, Current: tc.current, Observations: cpu, SLOBreached: tc.slo})
		if out.Outcome != tc.outcome || out.Target != tc.target || out.OverCeiling != tc.over {
			t.Errorf("current %d slo %v: %s → %d over %v (%s); want %s → %d over %v", tc.current, tc.slo, out.Outcome, out.Target, out.OverCeiling, out.Reason, tc.outcome, tc.target, tc.over)
		}
	}
	if _, err := policy.Parse([]byte(`
services:
  api:
    actuator: {type: exec, exec: {current_command: [x], apply_command: [y]}}
    min_replicas: 6
    max_replicas: 20
    price_per_replica_monthly: 20
    monthly_cost_ceiling: 100
    metrics: [{name: cpu, query: q, target: 0.5}]
`)); err == nil || !strings.Contains(err.Error(), "monthly_cost_ceiling: 100 is below the cost of the minimum (120)") {
		t.Fatalf("ceiling below the minimum: %v", err)
	}
}
