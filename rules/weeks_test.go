package rules

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBandsOnTwoWeeks runs the production bands and early warnings with the
// real promtool over two weeks of a synthetic WedSync pattern (written by
// this test, not recorded): an evening peak, busier weekends, a season
// growing 1 % a day, and noise on every sample. The normal weeks raise no
// anomaly at all; the same weeks with traffic tripling, or p95 40 % slower,
// on the last Saturday raise the anomaly within its `for`.
//
// promtool evaluates every group at the test file's interval; 5m here
// (production evaluates every 15s) keeps two weeks to seconds of CPU on CI,
// and every window and `for` of the profile is a multiple of it. At 1m the
// three cases pass too (4 minutes).
func TestBandsOnTwoWeeks(t *testing.T) {
	t.Parallel()
	th, err := EmbeddedThresholds()
	if err != nil {
		t.Fatal(err)
	}
	p := th.Profiles["production"]
	dir := t.TempDir()
	writeRendered(t, dir, "production", DefaultParams())

	const (
		step = 5 * time.Minute
		days = 14
	)
	n := int(days * 24 * time.Hour / step)
	// The change happens on day 13 (a Saturday: day 0 is a Monday) at 12:00.
	change := time.Duration(12*24+12) * time.Hour
	anomalies := `alertname=~"RequestRateAnomaly|LatencyAnomaly|ErrorRatioAnomaly|CPUAnomaly|APILatencyDegradation"`

	type scenario struct {
		name      string
		rateAfter float64 // request-rate factor from the change on
		p95After  float64 // p95 factor from the change on
		alert     string  // the anomaly expected after the change
		within    time.Duration
	}
	for _, sc := range []scenario{
		{name: "normal weeks raise no anomaly", rateAfter: 1, p95After: 1},
		{name: "traffic tripling raises RequestRateAnomaly", rateAfter: 3, p95After: 1, alert: "RequestRateAnomaly", within: p.Baselines.Signals.RequestRate.For.D()},
		{name: "p95 40 % slower raises LatencyAnomaly", rateAfter: 1, p95After: 1.4, alert: "LatencyAnomaly", within: p.Baselines.Signals.LatencyP95.For.D()},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(1, 2))
			var rate, p95, errs, cpu strings.Builder
			for i := 0; i <= n; i++ {
				at := time.Duration(i) * step
				h := math.Mod(at.Hours(), 24)
				day := int(at.Hours() / 24)
				daily := 1 + 0.6*math.Sin(2*math.Pi*(h-14)/24) // peak at 20:00
				weekly := 1.0
				switch day % 7 {
				case 4:
					weekly = 1.15 // Friday
				case 5, 6:
					weekly = 1.3 // the weekend
				}
				season := 1 + 0.01*at.Hours()/24
				load := daily * weekly * season
				noise := func(a float64) float64 { return 1 + a*(2*rng.Float64()-1) }
				r, l := 100*load*noise(0.1), (0.4+0.1*load)*noise(0.08)
				if at >= change {
					r *= sc.rateAfter
					l *= sc.p95After
				}
				fmt.Fprintf(&rate, "%.4g ", r)
				fmt.Fprintf(&p95, "%.4g ", l)
				fmt.Fprintf(&errs, "%.4g ", 0.002*noise(0.5))
				fmt.Fprintf(&cpu, "%.4g ", min(0.3*load*noise(0.05), 1))
			}
			var checks strings.Builder
			if sc.alert == "" {
				fmt.Fprintf(&checks, `      - expr: count_over_time(ALERTS{alertstate="firing", %s}[%dd])
        eval_time: %dd
        exp_samples: []
`, anomalies, days, days)
			} else {
				// Nothing before the change; the alert fired within its
				// for (plus two evaluations) after it.
				fmt.Fprintf(&checks, `      - expr: count_over_time(ALERTS{alertstate="firing", %s}[%s])
        eval_time: %s
        exp_samples: []
      - expr: count by (alertname, service) (max_over_time(ALERTS{alertstate="firing", alertname="%s"}[%s]))
        eval_time: %s
        exp_samples:
          - labels: '{alertname="%s", service="api"}'
            value: 1
`, anomalies, Duration(change), Duration(change), sc.alert, Duration(sc.within+2*step), Duration(change+sc.within+2*step), sc.alert)
			}
			file := fmt.Sprintf(`rule_files: [baseline.rules.yml, warnings.rules.yml]
evaluation_interval: %s
group_eval_order: [wedsync-baseline-seasonal, wedsync-baseline, wedsync-warnings]
tests:
  - interval: %s
    input_series:
      - series: 'service:http_requests:rate{service="api", source="app"}'
        values: '%s'
      - series: 'service:http_request_duration_seconds:p95{service="api", source="app"}'
        values: '%s'
      - series: 'service:http_errors:ratio_rate{service="api", source="app"}'
        values: '%s'
      - series: 'service:cpu_utilization:ratio{service="api", source="node"}'
        values: '%s'
    promql_expr_test:
%s`, Duration(step), Duration(step), rate.String(), p95.String(), errs.String(), cpu.String(), checks.String())
			path := filepath.Join(dir, strings.ReplaceAll(sc.name, " ", "-")+".test.yml")
			if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
				t.Fatal(err)
			}
			if out := runTool(t, "promtool", "test", "rules", path); !strings.Contains(out, "SUCCESS") {
				t.Fatalf("promtool test rules:\n%.4000s", out)
			}
		})
	}
}
