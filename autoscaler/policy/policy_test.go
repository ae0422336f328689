package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExamplePolicyIsValid(t *testing.T) {
	t.Parallel()
	f, err := Load(filepath.Join("..", "policy.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	api := f.Services["api"]
	if lo, hi := api.Bounds(); lo != 2 || hi != 20 {
		t.Fatalf("api bounds = [%d, %d]", lo, hi)
	}
	if got := api.MonthlyCost(3).String(); got != "109.5" {
		t.Fatalf("3 replicas cost %s, want 109.5 (decimal, not float)", got)
	}
	db := f.Services["database"]
	if lo, hi := db.Bounds(); lo != 0 || hi != 4 {
		t.Fatalf("database bounds = [%d, %d]", lo, hi)
	}
	if d := db.ScaleDown.StabilizationWindow.D().String(); d != "5m0s" {
		t.Fatalf("default down window = %s", d)
	}
	if got := db.ScaleUp.Policies; len(got) != 1 || got[0].Type != Pods || got[0].Value != 1 {
		t.Fatalf("vertical default rate policies = %+v, want one tier per period", got)
	}
	if api.Control != Level || api.Predictive == nil || api.ScheduleSet().Len() != 2 {
		t.Fatalf("api: control %s, predictive %v, %d schedules", api.Control, api.Predictive, api.ScheduleSet().Len())
	}
}

const base = `
services:
  api:
    actuator: {type: http, http: {url: "http://127.0.0.1:1/admin/replicas"}}
    min_replicas: 1
    max_replicas: 5
    metrics: [{name: cpu, query: "up", target: 0.6}]
`

// Every bad policy is refused with a message naming the field, and all the
// problems of a file are reported at once.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown field", base + "    replicas: 3\n", []string{"field replicas not found"}},
		{"min above max", strings.Replace(base, "min_replicas: 1", "min_replicas: 7", 1),
			[]string{"services.api: min_replicas (7) is greater than max_replicas (5)"}},
		{"negative cooldown", base + "    scale_down: {cooldown: -5m}\n", []string{"services.api.scale_down.cooldown: must not be negative"}},
		{"bare number duration", base + "    max_data_age: 30\n", []string{`not a Prometheus duration "30": missing unit`}},
		{"no services", "sync_period: 15s\n", []string{"services: at least one service is required"}},
		{"empty file", "", []string{"config is empty"}},
		{"unknown actuator", strings.Replace(base, "type: http, http: {url: \"http://127.0.0.1:1/admin/replicas\"}", "type: lambda", 1),
			[]string{`services.api.actuator.type: unknown actuator "lambda" (want http, exec, supabase or kubernetes)`}},
		{"actuator url", strings.Replace(base, "http://127.0.0.1:1/admin/replicas", "ftp://x", 1),
			[]string{`services.api.actuator.http.url: "ftp://x" is not an http(s) URL`}},
		{"duplicate key", base + "    actuator: {}\n", []string{"mapping key \"actuator\" already defined"}},
		{"tolerance out of range", base + "    tolerance: 1.5\n",
			[]string{"services.api.tolerance: must be in [0, 1), got 1.5"}},
		{"metric without query", strings.Replace(base, `query: "up", `, "", 1), []string{"services.api.metrics[0].query: required"}},
		{"negative target", strings.Replace(base, "target: 0.6", "target: -1", 1), []string{"services.api.metrics[0].target: must be a positive number, got -1"}},
		{"horizontal with tiers", base + "    tiers: [{name: a, capacity: 1, price_monthly: 1}, {name: b, capacity: 2, price_monthly: 2}]\n",
			[]string{"services.api: tiers, min_tier and max_tier belong to vertical policies (mode: vertical)"}},
		{"zero min", strings.Replace(base, "min_replicas: 1", "min_replicas: 0", 1), []string{"services.api.min_replicas: must be at least 1, got 0"}},
		{"both steps zero", base + "    scale_up: {max_step: 0, max_percent: 0}\n", []string{"services.api.scale_up: max_step and max_percent are both 0"}},
		{"legacy and policies mixed", base + "    scale_up: {max_step: 2, policies: [{type: Pods, value: 4, period: 15s}]}\n",
			[]string{"services.api.scale_up: max_step/max_percent and policies are two formats of the same limit: keep only policies"}},
		{"bad rate policy", base + "    scale_down: {policies: [{type: Pod, value: 0, period: 1h}], select: Most}\n",
			[]string{`services.api.scale_down.policies[0].type: "Pod" is not Pods or Percent`, "services.api.scale_down.policies[0].value: must be positive, got 0",
				"services.api.scale_down.policies[0].period: must be in (0, 30m] (HPA's limit), got 1h", `services.api.scale_down.select: "Most" is not Max, Min or Disabled`}},
		{"control in mode", strings.Replace(base, "    min_replicas: 1", "    mode: alerts_only\n    min_replicas: 1", 1),
			[]string{"services.api.mode: \"alerts_only\" is a control mode: write `control: alerts_only` (mode is horizontal or vertical)"}},
		{"unknown control", base + "    control: sometimes\n", []string{`services.api.control: "sometimes" is not level or alerts_only`}},
		{"unknown metric type", strings.Replace(base, `{name: cpu, query: "up", target: 0.6}`, `{name: cpu, type: latency, query: "up", target: 0.6}`, 1),
			[]string{`services.api.metrics[0].type: "latency" is not utilization, load or guard`}},
		{"only guards", strings.Replace(base, `{name: cpu, query: "up", target: 0.6}`, `{name: p95, type: guard, query: "up", target: 2}`, 1),
			[]string{"services.api.metrics: every metric is a guard"}},
		{"load without capacity", strings.Replace(base, `{name: cpu, query: "up", target: 0.6}`, `{name: rps, type: load, query: "up", target: 0.6}`, 1),
			[]string{"services.api.metrics[0]: a load metric needs capacity_per_replica, capacity_from, or both"}},
		{"load capacity from an unknown metric", strings.Replace(base, `{name: cpu, query: "up", target: 0.6}`, `{name: rps, type: load, query: "up", target: 1.5, capacity_from: mem}`, 1),
			[]string{`services.api.metrics[0].capacity_from: "mem" is neither load_test nor a utilization metric`, "a load metric's target is the utilization of capacity aimed at, in (0, 1], got 1.5"}},
		{"predictive driver is a symptom", base + "    predictive: {driver: cpu, forecasters: [trend, magic], lead: 5s}\n",
			[]string{`services.api.predictive.driver: metric "cpu" is of type utilization; the driver must be a load`,
				`services.api.predictive.forecasters[1]: "magic" is not trend or seasonal`,
				"services.api.predictive.lead: 5s is shorter than the sync period (15s)"}},
		{"seasonal too short", strings.Replace(base, `{name: cpu, query: "up", target: 0.6}`, `{name: rps, type: load, query: "up", target: 0.6, capacity_per_replica: 10}`, 1) +
			"    predictive: {driver: rps, seasonal: {min_history: 2d, step: 11m}}\n",
			[]string{"services.api.predictive.seasonal.step: 11m does not divide a week", "services.api.predictive.seasonal.min_history: at least 7d"}},
		{"schedule with an invalid cron", base + "    schedules: [{name: peak, cron: '0 25 * * *', duration: 1h, min_replicas: 3}]\n",
			[]string{`services.api.schedules[0].cron: "0 25 * * *" is not a valid cron expression`}},
		{"schedule with min > max", base + "    schedules: [{name: peak, start: 2027-04-01, end: 2027-05-01, min_replicas: 4, max_replicas: 3}]\n",
			[]string{"services.api.schedules[0].max_replicas: 3 is below"}},
		{"ceiling without bounds does not panic", `
services:
  api:
    actuator: {type: http, http: {url: "http://127.0.0.1:1/admin/replicas"}}
    monthly_cost_ceiling: 100
    metrics: [{name: cpu, query: "up", target: 0.6}]
`, []string{"services.api.min_replicas: required"}},
		{"several problems at once", strings.Replace(strings.Replace(base, "min_replicas: 1", "min_replicas: 9", 1), "target: 0.6", "target: 0", 1),
			[]string{"min_replicas (9) is greater than max_replicas (5)", "metrics[0].target: must be a positive number"}},
		{"bad service name", strings.Replace(base, "  api:", "  API Server:", 1), []string{"services.API Server: service name must match"}},
		{"vertical without tiers", `
services:
  db:
    mode: vertical
    actuator: {type: exec, exec: {current_command: [x], apply_command: [y]}}
    min_replicas: 1
    metrics: [{name: cpu, query: up, target: 0.5}]
`, []string{"services.db: min_replicas, max_replicas and price_per_replica_monthly belong to horizontal policies", "services.db.tiers: a vertical policy needs at least two tiers"}},
		{"tiers out of order and unknown bound", `
services:
  db:
    mode: vertical
    actuator: {type: exec, exec: {current_command: [x], apply_command: [y]}}
    tiers: [{name: big, capacity: 8, price_monthly: 100}, {name: small, capacity: 2, price_monthly: 10}]
    max_tier: huge
    metrics: [{name: cpu, query: up, target: 0.5}]
`, []string{"services.db.tiers[1].capacity: tiers must be ordered by strictly increasing capacity", `services.db.max_tier: "huge" is not one of the tiers`}},
		{"tier price not a number", `
services:
  db:
    mode: vertical
    actuator: {type: exec, exec: {current_command: [x], apply_command: [y]}}
    tiers: [{name: a, capacity: 1, price_monthly: cheap}, {name: b, capacity: 2, price_monthly: 10}]
    metrics: [{name: cpu, query: up, target: 0.5}]
`, []string{"can't convert cheap to decimal"}},
		{"exec without commands", strings.Replace(base, `type: http, http: {url: "http://127.0.0.1:1/admin/replicas"}`, "type: exec, exec: {}", 1),
			[]string{"services.api.actuator.exec.current_command: required", "services.api.actuator.exec.apply_command: required"}},
		{"authorization header inline", strings.Replace(base, `url: "http://127.0.0.1:1/admin/replicas"`, `url: "http://127.0.0.1:1/x", headers: {Authorization: "Bearer abc"}`, 1),
			[]string{"services.api.actuator.http.headers.Authorization: put credentials in bearer_token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yml"))
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("err = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// FuzzParse: any input gives a valid policy or an error, never a panic,
// and an accepted policy has sane bounds.
func FuzzParse(f *testing.F) {
	seeds := []string{base, "", "services: {}", "services: {api: null}", "sync_period: 1s\nservices: {api: {mode: vertical}}",
		strings.Replace(base, "max_replicas: 5", "max_replicas: -5", 1)}
	if b, err := os.ReadFile(filepath.Join("..", "policy.example.yml")); err == nil {
		seeds = append(seeds, string(b))
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		for name, s := range p.Services {
			lo, hi := s.Bounds()
			if lo > hi || lo < 0 {
				t.Fatalf("accepted service %s with bounds [%d, %d]", name, lo, hi)
			}
			if len(s.Metrics) == 0 {
				t.Fatalf("accepted service %s without metrics", name)
			}
		}
	})
}
