package decision

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"text/template"
	"time"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/rules"
)

// The repository's policies, with the thresholds profile they run beside.
var repoPolicies = []struct {
	path, profile string
}{
	{filepath.Join("..", "policy.example.yml"), "production"},
	{filepath.Join("..", "replay", "testdata", "policy.yml"), "production"},
	{filepath.Join("..", "..", "demo", "stack", "policy.yml.tmpl"), "demo"},
	{filepath.Join("..", "..", "compose", "autoscaler", "policy.yml"), "production"},
}

func loadRepoPolicy(t *testing.T, path string) *policy.File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(path) == ".tmpl" {
		var buf bytes.Buffer
		if err := template.Must(template.New("p").Parse(string(b))).Execute(&buf, map[string]string{
			"FleetURL": "http://127.0.0.1:1", "FleetTokenFile": "/dev/null", "ExtraServices": ""}); err != nil {
			t.Fatal(err)
		}
		b = buf.Bytes()
	}
	f, err := policy.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// Alert thresholds and decision targets have one source: every policy of
// the repository aims its utilization and load metrics at the profile's
// scaling_target with its tolerance, and inside that band the decision
// holds — while rules.TestToleranceBandIsQuiet proves, with promtool, that no
// scaling alert fires there. A value inside the alerts' quiet band is inside
// the decision's tolerance.
func TestPoliciesAgreeWithThresholds(t *testing.T) {
	t.Parallel()
	th, err := rules.EmbeddedThresholds()
	if err != nil {
		t.Fatal(err)
	}
	for _, rp := range repoPolicies {
		t.Run(filepath.Base(rp.path), func(t *testing.T) {
			t.Parallel()
			st := th.Profiles[rp.profile].ScalingTarget
			lo, hi := st.Band()
			f := loadRepoPolicy(t, rp.path)
			for name, p := range f.Services {
				if p.Mode != policy.Horizontal {
					continue
				}
				checked := false
				for _, m := range p.Metrics {
					if m.Type == policy.Guard || m.Type == policy.Utilization && m.Name != "cpu" {
						continue
					}
					checked = true
					if m.Target != st.Utilization || *p.Tolerance != st.Tolerance {
						t.Errorf("%s: services.%s.metrics %s aims at %v ± %v, the %s profile's scaling_target is %v ± %v",
							rp.path, name, m.Name, m.Target, *p.Tolerance, rp.profile, st.Utilization, st.Tolerance)
					}
				}
				if !checked {
					continue
				}
				// Inside the band (a hair within its edges), at any fleet size,
				// the decision holds.
				for _, current := range []int{2, 5, 11} {
					lb, ub := p.Bounds()
					if current < lb || current > ub {
						continue
					}
					for _, u := range []float64{lo * 1.001, st.Utilization, hi * 0.999} {
						var obs []Observation
						for _, m := range p.Metrics {
							v := u
							switch m.Type {
							case policy.MetricLoad:
								v = u * float64(current) * m.CapacityPerReplica
							case policy.Guard:
								v = m.Target / 2
							}
							obs = append(obs, Observation{Name: m.Name, Value: v, Target: m.Target})
						}
						out := Decide(p, Input{Now: t0, HistorySince: t0.Add(-time.Hour), Current: current, Observations: obs})
						if out.Outcome != WithinTolerance {
							t.Errorf("%s: services.%s at %d replicas and utilization %.3f (inside [%.2f, %.2f]): %s (%s)",
								rp.path, name, current, u, lo, hi, out.Outcome, out.Reason)
						}
					}
				}
			}
		})
	}
}
