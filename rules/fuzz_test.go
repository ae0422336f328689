package rules

import (
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/wedsync/scaling/core/config"
)

// FuzzLoadThresholds: whatever the input, loading never panics, and whatever
// loads renders into well-formed YAML for every profile, with durations that
// read back as themselves. The seeds run in every `go test`.
func FuzzLoadThresholds(f *testing.F) {
	f.Add(embeddedThresholds)
	f.Add([]byte(validThresholds))
	f.Add([]byte("profiles: {}\n"))
	f.Add([]byte("profiles:\n  demo:\n    cpu_high: {threshold: 1.5, for: -5m}\n"))
	f.Add([]byte("profiles:\n  production:\n    evaluation_interval: 1y52w\n"))
	f.Add([]byte("profiles:\n  production: &p {}\n  demo: *p\n"))
	f.Add([]byte("profiles: [1, 2]\n"))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("profiles:\n  demo:\n    cpu_high: {threshold: .nan}\n"))
	f.Add([]byte("profiles:\n  demo:\n    cost: {spike_ratio: .inf, budget_warning_percent: 100, budget_critical_percent: 100, exhaustion_within: 1y}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		th, err := ParseThresholds(b)
		if err != nil {
			return
		}
		if err := th.Validate(); err != nil {
			t.Fatalf("loaded thresholds fail validation: %v", err)
		}
		for _, name := range th.ProfileNames() {
			p := th.Profiles[name]
			for _, d := range []Duration{p.EvaluationInterval, p.RateWindow, p.LongWindow, p.CPUHigh.For, p.Underutilized.For,
				p.LatencyP95High.FireWithin, p.Alertmanager.RepeatInterval} {
				back, err := config.ParseDuration(d.String())
				if err != nil || back != d {
					t.Fatalf("duration %d prints as %q, reads back as %d (%v)", int64(d), d, int64(back), err)
				}
			}
			files, err := th.Render(name, DefaultParams())
			if err != nil {
				t.Fatalf("render %s: %v", name, err)
			}
			for file, content := range files {
				var doc yaml.Node
				if err := yaml.Unmarshal(content, &doc); err != nil {
					t.Fatalf("render %s: %s is not YAML: %v\n%s", name, file, err, content)
				}
			}
		}
	})
}
