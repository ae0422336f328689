package rules

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/wedsync/scaling/core/alertpost"
	"github.com/wedsync/scaling/core/config"
)

// TestRulesParseWithPrometheus3 parses every rendered expression with the
// PromQL parser of Prometheus 3.x (promtool on this machine may be older):
// users run 3.x.
func TestRulesParseWithPrometheus3(t *testing.T) {
	t.Parallel()
	for _, profile := range Profiles() {
		for _, name := range RuleFiles {
			for _, g := range renderedRules(t, profile, name).Groups {
				for _, r := range g.Rules {
					if _, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr); err != nil {
						t.Errorf("%s %s %s%s: %v\n%s", profile, name, r.Record, r.Alert, err, r.Expr)
					}
				}
			}
		}
	}
}

// TestEveryAlertHasARunbook: each alert links to docs/runbooks/<name>.md
// through runbook_url, and the file exists.
func TestEveryAlertHasARunbook(t *testing.T) {
	t.Parallel()
	th, err := EmbeddedThresholds()
	if err != nil {
		t.Fatal(err)
	}
	names := slices.Clone(AutoscalerAlerts) // the posted ones have no rule
	for _, profile := range Profiles() {
		for _, file := range RuleFiles {
			for _, g := range renderedRules(t, profile, file).Groups {
				for _, r := range g.Rules {
					if r.Alert == "" {
						continue
					}
					if got, want := r.Annotations["runbook_url"], th.RunbookURL(r.Alert); got != want {
						t.Errorf("%s %s: runbook_url = %q, want %q", profile, r.Alert, got, want)
					}
					if !slices.Contains(names, r.Alert) {
						names = append(names, r.Alert)
					}
				}
			}
		}
	}
	for _, n := range names {
		if !strings.HasSuffix(th.RunbookURL(n), "/docs/runbooks/"+n+".md") {
			t.Errorf("%s: runbook_url %q does not point at docs/runbooks", n, th.RunbookURL(n))
		}
		if _, err := os.Stat(filepath.Join("..", "docs", "runbooks", n+".md")); err != nil {
			t.Errorf("%s has no runbook: %v", n, err)
		}
	}
}

// TestEarlyWarningConfigRejects: bad SLO, band, saturation and runbook
// settings are refused with the field named; nothing is rendered.
func TestEarlyWarningConfigRejects(t *testing.T) {
	base, err := os.ReadFile("thresholds.yml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, old, new string
		want           []string
	}{
		{"objective of 1", "    availability: 0.999\n", "    availability: 1\n",
			[]string{"slos[0].availability: must be in (0,1)"}},
		{"objective as a percentage", "    latency: 0.99\n", "    latency: 99\n",
			[]string{"slos[0].latency: must be in (0,1)"}},
		{"negative objective", "    availability: 0.999\n", "    availability: -0.5\n",
			[]string{"slos[0].availability: must be in (0,1)"}},
		{"no objective", "  - service: api\n    availability: 0.999\n    latency: 0.99\n", "  - service: api\n",
			[]string{"slos[0]: set availability, latency or both"}},
		{"duplicate service", "    latency: 0.99\n", "    latency: 0.99\n  - service: api\n    availability: 0.99\n",
			[]string{`slos[1].service: "api" already has objectives at slos[0]`}},
		{"no service", "  - service: api\n", "  - service: \"\"\n", []string{"slos[0].service: required"}},
		{"burn window shorter than the evaluation interval", "      period: 1d\n", "      period: 30m\n",
			[]string{"profiles.demo.slo.period: 30m scales the workbook's 5m window to 0s, shorter than the evaluation interval 1s"}},
		{"burn window shorter than the rate window", "      period: 1d\n", "      period: 2h\n",
			[]string{"profiles.demo.slo.period: 2h scales the workbook's 5m window to 1s, shorter than rate_window 10s"}},
		{"band with neither window nor seasonality", "      window: 1h\n      smoothing: 26h\n      seasonality: [1d, 1w]\n", "      smoothing: 26h\n",
			[]string{"profiles.production.baselines: a band needs a history window"}},
		{"band window shorter than the evaluation interval", "      window: 2m\n      smoothing: 10m\n", "      window: 1s\n      smoothing: 10m\n",
			[]string{"profiles.demo.baselines.window: must be at least 2 × evaluation_interval (2s), got 1s"}},
		{"seasonality inside the window", "      seasonality: [1d, 1w]\n", "      seasonality: [30m, 1w]\n",
			[]string{"profiles.production.baselines.seasonality[0]: must be longer than window (1h), got 30m"}},
		{"floor ratio outside (0,1)", "        cpu: {floor_ratio: 0.25, floor: 0.05, for: 15m}\n", "        cpu: {floor_ratio: 2, floor: 0.05, for: 15m}\n",
			[]string{"profiles.production.baselines.signals.cpu.floor_ratio: must be in (0,1), got 2"}},
		{"unknown signal", "        cpu: {floor_ratio: 0.25, floor: 0.05, for: 15m}\n", "        memory: {floor_ratio: 0.25, floor: 0.05, for: 15m}\n",
			[]string{"field memory not found"}},
		{"degradation ratio not above 1", "      ratio: 1.5\n      for: 10m\n", "      ratio: 0.5\n      for: 10m\n",
			[]string{"profiles.production.latency_degradation.ratio: must be a finite number above 1, got 0.5"}},
		{"saturation lead under the evaluation interval", "      lead: 60s\n", "      lead: 500ms\n",
			[]string{"profiles.demo.predicted_saturation.lead: must not be shorter than evaluation_interval 1s, got 500ms"}},
		{"runbook placeholder unknown", "{alertname}.md\n", "{alert}.md\n",
			[]string{"runbook_url: unknown placeholder {alert} (known: {alertname})"}},
		{"runbook not a URL", "runbook_url: https://github.com/wedsync/scaling/blob/main/docs/runbooks/{alertname}.md\n", "runbook_url: docs/{alertname}.md\n",
			[]string{"runbook_url: must be an absolute http or https URL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(base), tc.old) {
				t.Fatalf("thresholds.yml no longer contains %q", tc.old)
			}
			th, err := ParseThresholds([]byte(strings.Replace(string(base), tc.old, tc.new, 1)))
			if err == nil {
				t.Fatalf("accepted; would render %d profiles", len(th.Profiles))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestBurnWindowsScaleWithThePeriod: the workbook's windows for 30 days,
// and a tenth of them for a 3-day period.
func TestBurnWindowsScaleWithThePeriod(t *testing.T) {
	for _, tc := range []struct {
		period string
		want   string
	}{
		{"30d", "page[14.4 1h/5m 6 6h/30m] ticket[1 3d/6h]"},
		{"3d", "page[14.4 6m/30s 6 36m/3m] ticket[1 7h12m/36m]"},
	} {
		d, err := config.ParseDuration(tc.period)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, a := range (SLOTimings{Period: d}).BurnAlerts() {
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(a.Severity + "[")
			for j, w := range a.Windows {
				if j > 0 {
					b.WriteString(" ")
				}
				b.WriteString(formatFloat(w.Factor) + " " + w.Long.String() + "/" + w.Short.String())
			}
			b.WriteString("]")
		}
		if b.String() != tc.want {
			t.Errorf("period %s: %s, want %s", tc.period, b.String(), tc.want)
		}
	}
}

// TestPostedAlertsLinkTheSameRunbooks: the autoscaler's and the load
// engine's own alerts (core/alertpost) use thresholds.yml's runbook_url.
func TestPostedAlertsLinkTheSameRunbooks(t *testing.T) {
	th, err := EmbeddedThresholds()
	if err != nil {
		t.Fatal(err)
	}
	if alertpost.RunbookURLTemplate != th.RunbookURLTemplate {
		t.Errorf("core/alertpost.RunbookURLTemplate = %q, thresholds.yml runbook_url = %q", alertpost.RunbookURLTemplate, th.RunbookURLTemplate)
	}
}
