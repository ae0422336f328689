package control

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/predict"
)

// BenchmarkDecisionSync50 is one sync period of the level-triggered loop
// for 50 services, Prometheus round trips and the actuators excluded: for
// each service the controller's Gather (data continuity, capacity learning,
// the trend fit, the seasonal forecast over the lead, forecast scoring),
// the decision and its recording. Every service has both forecasters, a
// seasonal model fitted on two weeks of 5-minute history (refits run in the
// background live, so they are not part of a sync), schedules and an hour of
// recommendation history. It reports the p50 and p99 of a whole sync (goal:
// p99 ≤ 10 ms). The baseline in the same run is the same sync without
// forecasts or schedules (the decision alone).
func BenchmarkDecisionSync50(b *testing.B) {
	b.Run("predictive", func(b *testing.B) { benchSync(b, true) })
	b.Run("baseline", func(b *testing.B) { benchSync(b, false) })
}

func benchSync(b *testing.B, predictive bool) {
	const services = 50
	extra := `    predictive: {driver: load}
    schedules:
      - {name: weekend, cron: "0 18 * * 5", duration: 54h, timezone: Europe/London, min_replicas: 4}
      - {name: season, start: 2027-04-01, end: 2027-09-30, min_replicas: 3}
`
	if !predictive {
		extra = ""
	}
	var sb strings.Builder
	sb.WriteString("sync_period: 15s\nservices:\n")
	for i := range services {
		fmt.Fprintf(&sb, `  svc%02d:
    actuator: {type: exec, exec: {current_command: [x], apply_command: [y]}}
    min_replicas: 2
    max_replicas: 60
    metrics:
      - {name: cpu, query: q, target: 0.6}
      - {name: load, type: load, query: q, target: 0.6, capacity_per_replica: 100, capacity_from: cpu}
      - {name: p95, type: guard, query: q, target: 1}
    scale_down: {stabilization_window: 1h}
%s`, i, extra)
	}
	f, err := policy.Parse([]byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC)
	var hist []predict.Sample
	for at := start.Add(-14 * 24 * time.Hour).Add(5 * time.Minute); !at.After(start); at = at.Add(5 * time.Minute) {
		h := float64(at.Hour()) + float64(at.Minute())/60
		hist = append(hist, predict.Sample{At: at, Value: 200 + 150*math.Sin(h/24*2*math.Pi)})
	}
	model, err := predict.FitSeasonal(hist, start, 5*time.Minute, 7*24*time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, 0, services)
	ctls := map[string]*Service{}
	for name := range f.Services {
		names = append(names, name)
		c := New(name, start.Add(-2*time.Hour))
		c.SetSeasonal(start, model, nil)
		ctls[name] = c
	}
	sort.Strings(names)
	now := start.Add(-time.Hour)
	sync := func() {
		for i, name := range names {
			p := f.Services[name]
			c := ctls[name]
			load := 240 + 40*math.Sin(float64(now.Unix())/600+float64(i))
			obs := []decision.Observation{{Name: "cpu", Value: load / 400, Target: 0.6}, {Name: "load", Value: load, Target: 0.6}, {Name: "p95", Value: 0.2, Target: 1}}
			in, _ := c.Gather(p, now, 4, obs, 15*time.Second, 45*time.Second)
			out := decision.Decide(p, in)
			c.Record(p, now, out)
		}
		now = now.Add(15 * time.Second)
	}
	for range 240 { // an hour of history in every window first
		sync()
	}
	var took []time.Duration
	for b.Loop() {
		t0 := time.Now()
		sync()
		took = append(took, time.Since(t0))
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	q := func(p float64) float64 {
		return float64(took[min(len(took)-1, int(p*float64(len(took))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50_ms/sync")
	b.ReportMetric(q(0.99), "p99_ms/sync")
	b.ReportMetric(services, "services")
}
