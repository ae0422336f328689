package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestToleranceBandIsQuiet proves, with the real promtool on the rendered
// rules, that utilization anywhere in the autoscaler's tolerance band
// (scaling_target) fires no scaling alert: an alert never asks for an
// action the decision would refuse as "within tolerance". The test file is
// generated from the same profile the rules are, so it cannot drift. The
// decision's side — inside the band it holds — is tested in the
// autoscaler's decision package against this profile.
func TestToleranceBandIsQuiet(t *testing.T) {
	t.Parallel()
	th, err := EmbeddedThresholds()
	if err != nil {
		t.Fatal(err)
	}
	for _, profile := range Profiles() {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			p := th.Profiles[profile]
			dir := t.TempDir()
			writeRendered(t, dir, profile, DefaultParams())
			lo, hi := p.ScalingTarget.Band()
			step := p.EvaluationInterval.D()
			// Long enough for every `for` and the long window to have run out.
			span := 2 * max(p.LongWindow.D(), p.CPUHigh.For.D(), p.Underutilized.For.D(), p.CPUSustainedHigh.For.D())
			n := int(span / step)
			var tests strings.Builder
			for _, v := range []float64{lo, (lo + hi) / 2, hi} {
				fmt.Fprintf(&tests, `  - name: utilization %s inside the band [%s, %s]
    interval: %s
    input_series:
      - series: 'service:cpu_utilization:ratio{service="api", source="node"}'
        values: '%sx%d'
      - series: 'service:memory_utilization:ratio{service="api", source="node"}'
        values: '%sx%d'
    alert_rule_test:
`, formatFloat(v), formatFloat(lo), formatFloat(hi), p.EvaluationInterval, formatFloat(v), n, formatFloat(v), n)
				for _, at := range []time.Duration{span / 2, span} {
					for _, alert := range []string{"ServiceCPUHigh", "ServiceCPUSustainedHigh", "ServiceUnderutilized", "ServiceCPUSaturationPredicted"} {
						fmt.Fprintf(&tests, "      - eval_time: %s\n        alertname: %s\n", Duration(at), alert)
					}
				}
			}
			file := fmt.Sprintf(`rule_files: [recording.rules.yml, alerting.rules.yml]
evaluation_interval: %s
tests:
%s`, p.EvaluationInterval, tests.String())
			path := filepath.Join(dir, "band.test.yml")
			if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
				t.Fatal(err)
			}
			if out := runTool(t, "promtool", "test", "rules", path); !strings.Contains(out, "SUCCESS") {
				t.Fatalf("promtool test rules:\n%s\n%s", out, file)
			}
		})
	}
}
