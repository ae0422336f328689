package replay

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/replay/fleetsim"
	"github.com/wedsync/scaling/rules"
)

// scenario is one replay of the benchmark.
type scenario struct {
	name, trace, policy, baseline, profile string
	ready, warmup                          time.Duration
	arrivals                               fleetsim.Arrivals
	note                                   string
}

// demoPolicy renders the demo stack's policy (its addresses do not matter
// to a replay).
const demoPolicy = "demo"

// The scenarios of the "must show": the production-like policy on
// the two-week daily pattern, a slow ramp, a flash spike and a flat noisy
// load, with replicas ready 2 minutes after they are asked for (a container
// or VM with a warm-up); the sawtooth on the demo stack's own policy,
// profile and provisioning delay, against the demo policy of before (the
// "reactive-only today" the issue measured).
var scenarios = []scenario{
	{name: "daily", trace: "daily", policy: "testdata/policy.yml", profile: "production", ready: 2 * time.Minute,
		note: "two weeks, all counted: the seasonal forecaster has no history in the first week"},
	{name: "daily-week-2", trace: "daily", policy: "testdata/policy.yml", profile: "production", ready: 2 * time.Minute, warmup: 7 * 24 * time.Hour,
		note: "the same run, counted from day 8: the seasonal forecaster has a week of history, as in production"},
	{name: "slow-ramp", trace: "slow-ramp", policy: "testdata/policy.yml", profile: "production", ready: 2 * time.Minute},
	{name: "flash-spike", trace: "flash-spike", policy: "testdata/policy.yml", profile: "production", ready: 2 * time.Minute},
	{name: "flat-noisy", trace: "flat-noisy", policy: "testdata/policy.yml", profile: "production", ready: 2 * time.Minute},
	{name: "sawtooth", trace: "sawtooth", policy: demoPolicy, baseline: "testdata/policy-before-demo.yml", profile: "demo", ready: 2 * time.Second,
		arrivals: fleetsim.Uniform, note: "the demo stack: its policy, profile, 2 s provisioning and evenly spaced arrivals; reactive = the demo policy before this change"},
	{name: "sawtooth-after-first-cycle", trace: "sawtooth", policy: demoPolicy, baseline: "testdata/policy-before-demo.yml", profile: "demo",
		ready: 2 * time.Second, warmup: 4 * time.Minute, arrivals: fleetsim.Uniform, note: "the same run, counted after the warm-up and the first cycle"},
}

func loadPolicyFile(tb testing.TB, path string) *policy.File {
	tb.Helper()
	if path == demoPolicy {
		b, err := os.ReadFile(filepath.Join("..", "..", "demo", "stack", "policy.yml.tmpl"))
		if err != nil {
			tb.Fatal(err)
		}
		var buf bytes.Buffer
		if err := template.Must(template.New("p").Parse(string(b))).Execute(&buf, map[string]string{
			"FleetURL": "http://127.0.0.1:1", "FleetTokenFile": "/dev/null", "ExtraServices": ""}); err != nil {
			tb.Fatal(err)
		}
		f, err := policy.Parse(buf.Bytes())
		if err != nil {
			tb.Fatal(err)
		}
		return f
	}
	f, err := policy.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func runScenario(tb testing.TB, sc scenario) *Report {
	tb.Helper()
	th, err := rules.EmbeddedThresholds()
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := ReadTraceFile(filepath.Join("testdata", "traces", sc.trace+".csv"))
	if err != nil {
		tb.Fatal(err)
	}
	c := Config{Policy: loadPolicyFile(tb, sc.policy), Service: "api", Trace: tr, CapacityPerReplica: 100, ReadyAfter: sc.ready,
		Profile: th.Profiles[sc.profile], Arrivals: sc.arrivals, Warmup: sc.warmup}
	if sc.baseline != "" {
		c.Baseline = loadPolicyFile(tb, sc.baseline)
	}
	rep, err := Run(context.Background(), c)
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// BenchmarkReplay runs every scenario once per iteration (run it with
// -benchtime 1x) and, with WEDSYNC_REPLAY_MD set, writes the comparison
// table and the ratios there for bench/results.
func BenchmarkReplay(b *testing.B) {
	var md strings.Builder
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			var rep *Report
			for b.Loop() {
				rep = runScenario(b, sc)
			}
			for _, s := range Strategies {
				r := rep.Strategies[s]
				b.ReportMetric(r.SLOViolationMinutes, "slo_min_"+s)
				b.ReportMetric(r.ReplicaHours, "replica_h_"+s)
			}
			writeScenario(&md, sc, rep)
		})
	}
	if path := os.Getenv("WEDSYNC_REPLAY_MD"); path != "" && md.Len() > 0 {
		if err := os.WriteFile(path, []byte(md.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func writeScenario(md *strings.Builder, sc scenario, rep *Report) {
	fmt.Fprintf(md, "\n### %s — trace %s, %s profile, replicas ready after %s", sc.name, sc.trace, sc.profile, sc.ready)
	if sc.warmup > 0 {
		fmt.Fprintf(md, ", first %s not counted", sc.warmup)
	}
	fmt.Fprintln(md)
	if sc.note != "" {
		fmt.Fprintf(md, "\n%s.\n", sc.note)
	}
	fmt.Fprintln(md, "\n| strategy | SLO-violation min | replica-hours | actions | flaps | recovery rounds | forecast MAPE | refused | max replicas |")
	fmt.Fprintln(md, "|---|---|---|---|---|---|---|---|---|")
	for _, s := range rep.Sorted() {
		r := rep.Strategies[s]
		mape := "–"
		if r.ForecastMAPE != nil {
			mape = fmt.Sprintf("%.1f %%", 100**r.ForecastMAPE)
		}
		fmt.Fprintf(md, "| %s | %.0f | %.1f | %d | %d | %d | %s | %.0f | %d |\n", s, r.SLOViolationMinutes, r.ReplicaHours, r.Actions, r.Flaps,
			r.RecoveryRounds, mape, r.Refused, r.MaxReplicas)
	}
	react, hpa := rep.Strategies[Reactive], rep.Strategies[HPA]
	fmt.Fprintln(md)
	for _, s := range []string{Predictive, Scheduled} {
		r := rep.Strategies[s]
		fmt.Fprintf(md, "- %s: SLO-violation minutes %s of reactive-only, %s of HPA; replica-hours %.2f× reactive-only\n", s,
			ratio(r.SLOViolationMinutes, react.SLOViolationMinutes), ratio(r.SLOViolationMinutes, hpa.SLOViolationMinutes), r.ReplicaHours/react.ReplicaHours)
	}
}

// ratio prints a/b, or says what it is when b is 0.
func ratio(a, b float64) string {
	switch {
	case b == 0 && a == 0:
		return "0 vs 0"
	case b == 0:
		return fmt.Sprintf("%.0f vs 0", a)
	}
	return fmt.Sprintf("%.2f×", a/b)
}
