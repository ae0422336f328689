package decision

import (
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/schedule"
)

const levelPolicy = `
sync_period: 15s
services:
  api:
    actuator: {type: exec, exec: {current_command: [cat, x], apply_command: [echo, "{{.Replicas}}"]}}
    min_replicas: 2
    max_replicas: 20
    metrics:
      - {name: cpu, query: q1, target: 0.6}
      - {name: load, type: load, query: q2, target: 0.6, capacity_per_replica: 100}
      - {name: p95, type: guard, query: q3, target: 1}
    scale_up:
      stabilization_window: 0s
      cooldown: 0s
      policies: [{type: Pods, value: 4, period: 60s}, {type: Percent, value: 100, period: 60s}]
    scale_down:
      stabilization_window: 5m
      cooldown: 0s
      policies: [{type: Percent, value: 50, period: 60s}]
    predictive: {driver: load, forecasters: [trend]}
`

func levelService(t *testing.T, edit func(*policy.Service)) *policy.Service {
	t.Helper()
	f, err := policy.Parse([]byte(levelPolicy))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Services["api"]
	if edit != nil {
		edit(p)
	}
	return p
}

// obs3 is cpu, load (req/s) and p95 latency.
func obs3(cpu, load, p95 float64) []Observation {
	return []Observation{{Name: "cpu", Value: cpu, Target: 0.6}, {Name: "load", Value: load, Target: 0.6}, {Name: "p95", Value: p95, Target: 1}}
}

func TestDecideLevel(t *testing.T) {
	t.Parallel()
	long := t0.Add(-time.Hour)
	type want struct {
		outcome            Outcome
		target, raw, react int
	}
	tests := []struct {
		name string
		in   Input
		want want
	}{
		{"no alert needed: load over target tracked", Input{Current: 4, Observations: obs3(0.7, 420, 0.2)}, want{Scale, 7, 7, 7}},
		{"inside the tolerance band: hold", Input{Current: 4, Observations: obs3(0.63, 250, 0.2)}, want{WithinTolerance, 4, 4, 4}},
		// CPU saturates at 1.0 (it would say 7); the load says how much.
		{"3× overload sized by load", Input{Current: 4, Observations: obs3(1.0, 720, 8)}, want{Scale, 8, 12, 12}},
		{"5× overload sized by load, differently", Input{Current: 4, Observations: obs3(1.0, 1200, 9)}, want{Scale, 8, 20, 20}},
		{"a guard over target forbids going down", Input{Current: 6, HistorySince: long, Observations: obs3(0.2, 100, 3)}, want{WithinTolerance, 6, 6, 2}},
		{"guard fine: down by 50 %", Input{Current: 6, HistorySince: long, Observations: obs3(0.2, 100, 0.3)}, want{Scale, 3, 2, 2}},
		{"down window not observed since the data gap", Input{Current: 6, HistorySince: t0.Add(-time.Minute), Observations: obs3(0.2, 100, 0.3)}, want{Stabilizing, 6, 2, 2}},
		{"forecast raises the target", Input{Current: 4, Observations: obs3(0.6, 240, 0.2),
			Forecasts: []Forecast{{Forecaster: "trend", Value: 600, Lead: time.Minute}}}, want{Scale, 8, 10, 4}},
		{"forecast below reactive changes nothing", Input{Current: 4, Observations: obs3(0.7, 420, 0.2),
			Forecasts: []Forecast{{Forecaster: "trend", Value: 100, Lead: time.Minute}}}, want{Scale, 7, 7, 7}},
		{"NaN in any metric holds", Input{Current: 4, Observations: append(obs3(0.7, 420, 0.2)[:2], Observation{Name: "p95", Problem: "nan"})}, want{NoData, 4, 4, 4}},
		{"scheduled window raises the minimum", Input{Current: 4, LastAction: t0, Observations: obs3(0.6, 240, 0.2),
			Schedule: schedule.Active{Names: []string{"weekend"}, Min: 9}}, want{Scale, 9, 4, 4}},
		{"scheduled minimum never lowers what the load needs", Input{Current: 9, Observations: obs3(0.9, 1000, 0.2),
			Schedule: schedule.Active{Names: []string{"weekend"}, Min: 9}}, want{Scale, 17, 17, 17}},
		{"scheduled max raises the phase's max", Input{Current: 20, Observations: obs3(0.75, 1500, 0.2),
			Schedule: schedule.Active{Names: []string{"season"}, Min: 4, Max: 30}}, want{Scale, 25, 25, 25}},
		{"rate policy counts the period's earlier action", Input{Current: 8, Observations: obs3(1, 1500, 9),
			Actions: []Action{{At: t0.Add(-30 * time.Second), From: 4, To: 8}}}, want{RateLimited, 8, 25, 25}},
		{"an action older than the period no longer counts", Input{Current: 8, Observations: obs3(1, 1500, 9),
			Actions: []Action{{At: t0.Add(-61 * time.Second), From: 4, To: 8}}}, want{Scale, 16, 25, 25}},
		{"above max comes down within the rate policy", Input{Current: 30, Observations: obs3(0.5, 1500, 0.2)}, want{Scale, 20, 25, 25}},
	}
	p := levelService(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Now = t0
			got := Decide(p, tc.in)
			if got.Outcome != tc.want.outcome || got.Target != tc.want.target || got.Raw != tc.want.raw || got.Reactive != tc.want.react {
				t.Fatalf("Decide = {%s target %d raw %d reactive %d} (%s); want %+v", got.Outcome, got.Target, got.Raw, got.Reactive, got.Reason, tc.want)
			}
			if got.Reason == "" {
				t.Fatal("decision without a reason")
			}
		})
	}
}

func TestDecideMarksWhoDecided(t *testing.T) {
	t.Parallel()
	p := levelService(t, nil)
	out := Decide(p, Input{Now: t0, Current: 4, Observations: obs3(0.6, 240, 0.2), Schedule: schedule.Active{Names: []string{"weekend"}, Min: 9}})
	if !out.BySchedule || len(out.Scheduled) != 1 || !strings.Contains(out.Reason, "scheduled window weekend") {
		t.Fatalf("scheduled: %+v", out)
	}
	out = Decide(p, Input{Now: t0, Current: 4, Observations: obs3(0.6, 240, 0.2), Forecasts: []Forecast{{Forecaster: "trend", Value: 600}}})
	if !out.ByForecast || out.Predicted == nil || *out.Predicted != 10 || !strings.Contains(out.Reason, "trend forecast 600") {
		t.Fatalf("forecast: %+v", out)
	}
	if !out.Short && Decide(p, Input{Now: t0, Current: 4, Observations: obs3(0.6, 240, 3)}).Short != true {
		t.Fatal("guard over target not marked short")
	}
}

// forecast_only: the decision acts only on the metrics, and says what the
// forecast would have done.
func TestForecastOnly(t *testing.T) {
	t.Parallel()
	p := levelService(t, func(p *policy.Service) { p.Predictive.ForecastOnly = true })
	f := []Forecast{{Forecaster: "trend", Value: 600, Lead: time.Minute}}
	out := Decide(p, Input{Now: t0, Current: 4, Observations: obs3(0.6, 240, 0.2), Forecasts: f})
	if out.Outcome != ForecastOnly || out.Target != 4 || out.WouldTarget != 8 || !strings.Contains(out.Reason, "forecast only") {
		t.Fatalf("forecast only, reactive holds: %+v", out)
	}
	out = Decide(p, Input{Now: t0, Current: 4, Observations: obs3(0.7, 420, 0.2), Forecasts: f})
	if out.Outcome != Scale || out.Target != 7 || out.WouldTarget != 8 {
		t.Fatalf("forecast only, reactive scales: %+v", out)
	}
}

// HPA's rate-policy arithmetic, including select Min and Disabled.
func TestRatePolicies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(*policy.Service)
		current int
		load    float64
		outcome Outcome
		target  int
	}{
		{"Max: more of 4 pods and 100 %", nil, 6, 1500, Scale, 12},
		{"Min: less of 4 pods and 100 %", func(p *policy.Service) { p.ScaleUp.Select = policy.SelectMin }, 6, 1500, Scale, 10},
		{"Disabled: never up", func(p *policy.Service) { p.ScaleUp.Select = policy.SelectDisabled }, 6, 1500, RateLimited, 6},
		{"down Percent truncates (HPA)", nil, 5, 10, Scale, 2},
		{"down Disabled", func(p *policy.Service) { p.ScaleDown.Select = policy.SelectDisabled }, 8, 10, RateLimited, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := levelService(t, tc.edit)
			out := Decide(p, Input{Now: t0, HistorySince: t0.Add(-time.Hour), Current: tc.current, Observations: obs3(0.6*tc.load/(60*float64(tc.current)), tc.load, 0.2)})
			if out.Outcome != tc.outcome || out.Target != tc.target {
				t.Fatalf("got %s → %d (%s); want %s → %d", out.Outcome, out.Target, out.Reason, tc.outcome, tc.target)
			}
		})
	}
}

// A flat load with noise inside the tolerance band never moves the fleet,
// whatever the noise does from one evaluation to the next.
func TestNoiseInsideToleranceHolds(t *testing.T) {
	t.Parallel()
	p := levelService(t, nil)
	for i := range 1000 {
		noise := 0.95 + 0.1*float64((i*7919)%1000)/1000 // ±5 %
		load := 240 * noise
		out := Decide(p, Input{Now: t0, HistorySince: t0.Add(-time.Hour), Current: 4, Observations: obs3(load/400, load, 0.1)})
		if out.Outcome == Scale {
			t.Fatalf("load %.1f (±5 %% around the target) scaled: %s", load, out.Reason)
		}
	}
}

func TestLegacyStepFieldsTranslate(t *testing.T) {
	t.Parallel()
	f, err := policy.Parse([]byte(`
sync_period: 10s
services:
  api:
    actuator: {type: exec, exec: {current_command: [x], apply_command: [y]}}
    min_replicas: 1
    max_replicas: 20
    metrics: [{name: cpu, query: q, target: 0.5}]
    scale_up: {max_step: 2, max_percent: 50}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Services["api"].ScaleUp.Policies
	if len(got) != 2 || got[0] != (policy.RatePolicy{Type: policy.Pods, Value: 2, Period: 10e9}) || got[1].Type != policy.Percent || got[1].Value != 50 {
		t.Fatalf("max_step/max_percent read as %+v", got)
	}
}
