package rules

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// requireTool finds a Prometheus tool. The rules are only as good as the
// real promtool and amtool say, so a missing tool fails the test: skipping
// would let CI pass without ever having checked a rule.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found on PATH: run `make deps` (installs Debian's prometheus and prometheus-alertmanager packages)", name)
	}
	return path
}

func runTool(t *testing.T, tool string, args ...string) string {
	t.Helper()
	cmd := exec.Command(requireTool(t, tool), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// writeRendered renders profile into dir and returns the file paths by name.
func writeRendered(t *testing.T, dir, profile string, p Params) map[string]string {
	t.Helper()
	files, err := Render(profile, p)
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name] = path
	}
	return paths
}

func TestPromtoolCheckRules(t *testing.T) {
	t.Parallel()
	for _, profile := range Profiles() {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			paths := writeRendered(t, t.TempDir(), profile, DefaultParams())
			for _, name := range RuleFiles {
				out := runTool(t, "promtool", "check", "rules", paths[name])
				if !strings.Contains(out, "SUCCESS") || strings.Contains(out, "WARNING") {
					t.Errorf("promtool check rules %s/%s is not clean:\n%s", profile, name, out)
				}
			}
		})
	}
}

// unitTestFile is the part of a promtool unit-test file the checks below read.
type unitTestFile struct {
	RuleFiles          []string `yaml:"rule_files"`
	EvaluationInterval string   `yaml:"evaluation_interval"`
	GroupEvalOrder     []string `yaml:"group_eval_order"`
	Tests              []struct {
		Name           string `yaml:"name"`
		Interval       string `yaml:"interval"`
		AlertRuleTests []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromqlExprTests []struct {
			Expr       string `yaml:"expr"`
			ExpSamples []struct {
				Labels string `yaml:"labels"`
			} `yaml:"exp_samples"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

func testFiles(t *testing.T, profile string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("tests", profile, "*.test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no promtool tests under tests/%s", profile)
	}
	return files
}

// TestPromtoolTestRules runs every hand-written unit test against the
// committed dist/ files (TestRenderGolden keeps those equal to Render).
func TestPromtoolTestRules(t *testing.T) {
	t.Parallel()
	for _, profile := range Profiles() {
		for _, file := range testFiles(t, profile) {
			t.Run(filepath.ToSlash(file), func(t *testing.T) {
				t.Parallel()
				out := runTool(t, "promtool", "test", "rules", file)
				if !strings.Contains(out, "SUCCESS") {
					t.Errorf("promtool test rules %s:\n%s", file, out)
				}
			})
		}
	}
}

// TestPromtoolTestCoverage holds the hand-written tests to what they must
// cover: each profile's own rule files and clock, a firing and a silent case
// for every alert, and exact values for every adapter output.
func TestPromtoolTestCoverage(t *testing.T) {
	t.Parallel()
	th, err := EmbeddedThresholds()
	if err != nil {
		t.Fatal(err)
	}
	for _, profile := range Profiles() {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			interval := th.Profiles[profile].EvaluationInterval.String()
			var groupOrder []string
			groupFile := map[string]string{}
			for _, name := range RuleFiles {
				for _, g := range renderedRules(t, profile, name).Groups {
					groupOrder = append(groupOrder, g.Name)
					groupFile[g.Name] = name
				}
			}
			fires, silent := map[string]bool{}, map[string]bool{}
			var samples []string
			for _, file := range testFiles(t, profile) {
				b, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				var tf unitTestFile
				if err := yaml.Unmarshal(b, &tf); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				for _, rf := range tf.RuleFiles {
					if !strings.HasPrefix(rf, "../../dist/"+profile+"/") {
						t.Errorf("%s loads %s, not a file of dist/%s", file, rf, profile)
					}
				}
				// promtool evaluates every group at the test's interval, so
				// any other value would test timings the profile never has.
				if tf.EvaluationInterval != interval {
					t.Errorf("%s: evaluation_interval %s, want the profile's %s", file, tf.EvaluationInterval, interval)
				}
				// Prometheus runs groups concurrently; promtool runs them in
				// map order unless told, which would make the tests flaky.
				var want []string
				for _, g := range groupOrder {
					for _, rf := range tf.RuleFiles {
						if strings.HasSuffix(rf, "/"+groupFile[g]) {
							want = append(want, g)
						}
					}
				}
				if len(want) < 2 {
					want = nil // one group needs no order
				}
				if !slices.Equal(tf.GroupEvalOrder, want) {
					t.Errorf("%s: group_eval_order %q, want %q", file, tf.GroupEvalOrder, want)
				}
				for _, tc := range tf.Tests {
					if tc.Interval != interval {
						t.Errorf("%s: test %q has interval %q, want %s", file, tc.Name, tc.Interval, interval)
					}
					for _, a := range tc.AlertRuleTests {
						if len(a.ExpAlerts) > 0 {
							fires[a.Alertname] = true
						} else {
							silent[a.Alertname] = true
						}
					}
					for _, e := range tc.PromqlExprTests {
						for _, s := range e.ExpSamples {
							samples = append(samples, s.Labels)
						}
					}
				}
			}
			// Every alert of every rendered rule file, not only the contract's.
			var alerts []string
			for _, name := range RuleFiles {
				for _, g := range renderedRules(t, profile, name).Groups {
					for _, r := range g.Rules {
						if r.Alert != "" && !slices.Contains(alerts, r.Alert) {
							alerts = append(alerts, r.Alert)
						}
					}
				}
			}
			for _, alert := range alerts {
				if !fires[alert] {
					t.Errorf("no test where %s fires", alert)
				}
				if !silent[alert] {
					t.Errorf("no test where %s stays silent", alert)
				}
			}
			for _, g := range renderedRules(t, profile, RecordingRulesFile).Groups {
				for _, r := range g.Rules {
					covered := slices.ContainsFunc(samples, func(s string) bool {
						return strings.HasPrefix(s, r.Record+"{") &&
							(r.Labels["source"] == "" || strings.Contains(s, `source="`+r.Labels["source"]+`"`))
					})
					if !covered {
						t.Errorf("no promql_expr_test expects a value of %s{source=%q}", r.Record, r.Labels["source"])
					}
				}
			}
		})
	}
}

func TestAmtoolCheckConfig(t *testing.T) {
	t.Parallel()
	for _, profile := range Profiles() {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			token := filepath.Join(dir, "webhook-token")
			if err := os.WriteFile(token, []byte("test-token\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			paths := writeRendered(t, dir, profile, Params{
				WebhookURL:             "http://127.0.0.1:19681/webhook/alertmanager",
				WebhookCredentialsFile: token,
			})
			config := paths[AlertmanagerFile]
			out := runTool(t, "amtool", "check-config", config)
			if !strings.Contains(out, "SUCCESS") {
				t.Errorf("amtool check-config %s:\n%s", profile, out)
			}
			// The routing itself, as Alertmanager resolves it.
			routes := []struct {
				labels   []string
				receiver string
			}{
				{[]string{"alertname=ServiceCPUHigh", "scaling_service=api", "scaling_action=scale_up"}, "wedsync-autoscaler"},
				{[]string{"alertname=ServiceUnderutilized", "scaling_service=api", "scaling_action=scale_down"}, "wedsync-autoscaler"},
				{[]string{"alertname=GrowthPhase", "scaling_service=platform", "scaling_action=migration"}, "wedsync-autoscaler"},
				{[]string{"alertname=MonthlyBudgetExceeded", "severity=warning"}, "operations"},
				// Cost alerts reach the autoscaler's cost webhook and people.
				{[]string{"alertname=CostBudgetThresholdCrossed", "cost_alert_type=budget_threshold", "budget=platform", "severity=critical"},
					"wedsync-autoscaler-costs,operations-slack,operations-email"},
				{[]string{"alertname=CapacityExhaustionSoon", "cost_alert_type=capacity_exhaustion", "resource=database_storage"},
					"wedsync-autoscaler-costs,operations-slack,operations-email"},
				// The autoscaler's own alerts reach its people; the
				// over-ceiling one is also recorded as a cost alert.
				{[]string{"alertname=WedsyncScalingActionFailed", "severity=critical", "service=api", "event_type=scale_up", "event_id=e1"}, "autoscaler-oncall"},
				{[]string{"alertname=WedsyncActuatorStateUnknown", "severity=critical", "service=api"}, "autoscaler-oncall"},
				{[]string{"alertname=WedsyncLoadTestRegression", "severity=warning", "benchmark=api-baseline", "test_type=baseline"}, "autoscaler-oncall"},
				{[]string{"alertname=WedsyncScaleUpOverCostCeiling", "severity=warning", "service=api", "event_id=e1", "cost_alert_type=slo_over_budget"},
					"autoscaler-oncall,wedsync-autoscaler-costs,operations-slack,operations-email"},
			}
			// Every one of them, by the list the route is rendered from.
			for _, name := range AutoscalerAlerts {
				runTool(t, "amtool", "config", "routes", "test", "--config.file="+config, "--verify.receivers=autoscaler-oncall", "alertname="+name, "service=api")
			}
			for _, r := range routes {
				args := append([]string{"config", "routes", "test", "--config.file=" + config, "--verify.receivers=" + r.receiver}, r.labels...)
				runTool(t, "amtool", args...)
			}
		})
	}
}
