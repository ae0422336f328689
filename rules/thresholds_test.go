package rules

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// validThresholds is a small, valid thresholds file the error cases edit.
const validThresholds = `profiles:
  production:
    evaluation_interval: 15s
    rate_window: 1m
    long_window: 1h
    cpu_high: {threshold: 0.8, for: 5m}
    cpu_sustained_high: {threshold: 0.7}
    db_cpu_high: {threshold: 0.7, for: 5m}
    db_connections_high: {threshold: 0.8, for: 5m}
    latency_p95_high: {threshold_seconds: 2, for: 15s}
    latency_p99_high: {threshold_seconds: 5, for: 15s}
    underutilized: {threshold: 0.3, for: 1h}
  demo:
    evaluation_interval: 1s
    rate_window: 10s
    long_window: 2m
    cpu_high: {threshold: 0.8, for: 10s}
    cpu_sustained_high: {threshold: 0.7}
    db_cpu_high: {threshold: 0.7, for: 10s}
    db_connections_high: {threshold: 0.8, for: 10s}
    latency_p95_high: {threshold_seconds: 2, for: 5s, fire_within: 30s}
    latency_p99_high: {threshold_seconds: 5, for: 5s, fire_within: 30s}
    underutilized: {threshold: 0.3, for: 30s}
    alertmanager: {group_wait: 1s, group_interval: 5s, repeat_interval: 1m}
`

// edit replaces exactly one occurrence of old in validThresholds, so a test
// case cannot silently edit nothing.
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := validThresholds
	for i := 0; i+1 < len(pairs); i += 2 {
		if n := strings.Count(s, pairs[i]); n != 1 {
			t.Fatalf("edit: %q occurs %d times in validThresholds, want 1", pairs[i], n)
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func TestLoadThresholdsRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml func(t *testing.T) string
		want string
	}{
		{
			name: "unknown field",
			yaml: func(t *testing.T) string {
				return edit(t, "    cpu_high: {threshold: 0.8, for: 10s}", "    cpu_hihg: {threshold: 0.8, for: 10s}")
			},
			want: "decode thresholds: yaml: unmarshal errors:\n" +
				"  line 17: field cpu_hihg not found in type rules.Profile",
		},
		{
			name: "unknown field in a nested block",
			yaml: func(t *testing.T) string {
				return edit(t, "{group_wait: 1s,", "{group_wiat: 1s,")
			},
			want: "decode thresholds: yaml: unmarshal errors:\n" +
				"  line 24: field group_wiat not found in type rules.AlertmanagerTimings",
		},
		{
			name: "threshold above 1",
			yaml: func(t *testing.T) string {
				return edit(t, "cpu_high: {threshold: 0.8, for: 10s}", "cpu_high: {threshold: 1.5, for: 10s}")
			},
			want: "invalid thresholds:\n" +
				"  profiles.demo.cpu_high.threshold: must be in (0,1], got 1.5",
		},
		{
			name: "negative duration",
			yaml: func(t *testing.T) string {
				return edit(t, "cpu_high: {threshold: 0.8, for: 5m}", "cpu_high: {threshold: 0.8, for: -5m}")
			},
			want: "invalid thresholds:\n" +
				"  profiles.production.cpu_high.for: must not be negative, got -5m",
		},
		{
			name: "malformed duration",
			yaml: func(t *testing.T) string {
				return edit(t, "underutilized: {threshold: 0.3, for: 1h}", "underutilized: {threshold: 0.3, for: 1 hour}")
			},
			want: "decode thresholds: yaml: unmarshal errors:\n" +
				`  line 12: not a Prometheus duration "1 hour": unit " hour" unknown or out of order (y, w, d, h, m, s, ms)`,
		},
		{
			name: "alert threshold inside the decision's tolerance band",
			yaml: func(t *testing.T) string {
				return edit(t, "cpu_high: {threshold: 0.8, for: 10s}", "cpu_high: {threshold: 0.65, for: 10s}")
			},
			want: "invalid thresholds:\n" +
				"  profiles.demo.cpu_high.threshold: must be above the autoscaler's tolerance band [0.54, 0.66] (scaling_target), got 0.65: the alert would fire where the decision holds",
		},
		{
			name: "scale-down threshold inside the scale-up band",
			yaml: func(t *testing.T) string {
				return edit(t, "underutilized: {threshold: 0.3, for: 30s}", "underutilized: {threshold: 0.75, for: 30s}")
			},
			want: "invalid thresholds:\n" +
				"  profiles.demo.underutilized.threshold: must be below cpu_sustained_high.threshold (0.7) to leave a hysteresis band, got 0.75",
		},
		{
			name: "scale-down threshold equal to scale-up",
			yaml: func(t *testing.T) string {
				return edit(t, "underutilized: {threshold: 0.3, for: 1h}", "underutilized: {threshold: 0.8, for: 1h}")
			},
			want: "invalid thresholds:\n" +
				"  profiles.production.underutilized.threshold: must be below cpu_high.threshold (0.8) to leave a hysteresis band, got 0.8\n" +
				"  profiles.production.underutilized.threshold: must be below cpu_sustained_high.threshold (0.7) to leave a hysteresis band, got 0.8",
		},
		{
			name: "missing profile",
			yaml: func(t *testing.T) string {
				s := validThresholds
				return s[:strings.Index(s, "  demo:")]
			},
			want: "invalid thresholds:\n" +
				"  profiles.demo: missing (required profiles: production, demo)",
		},
		{
			name: "empty profile",
			yaml: func(t *testing.T) string {
				s := validThresholds
				return s[:strings.Index(s, "  demo:")] + "  demo:\n"
			},
			want: "invalid thresholds:\n" +
				"  profiles.demo: missing (required profiles: production, demo)",
		},
		{
			name: "no profiles at all",
			yaml: func(t *testing.T) string { return "profiles: {}\n" },
			want: "invalid thresholds:\n" +
				"  profiles.production: missing (required profiles: production, demo)\n" +
				"  profiles.demo: missing (required profiles: production, demo)",
		},
		{
			name: "latency alert cannot fire in time",
			yaml: func(t *testing.T) string {
				return edit(t, "latency_p95_high: {threshold_seconds: 2, for: 15s}", "latency_p95_high: {threshold_seconds: 2, for: 1m}")
			},
			want: "invalid thresholds:\n" +
				"  profiles.production.latency_p95_high: cannot fire within 2m: rate_window 1m + for 1m + 3 × evaluation_interval 15s = 2m45s",
		},
		{
			name: "p99 below p95",
			yaml: func(t *testing.T) string {
				return edit(t, "latency_p99_high: {threshold_seconds: 5, for: 5s,", "latency_p99_high: {threshold_seconds: 1, for: 5s,")
			},
			want: "invalid thresholds:\n" +
				"  profiles.demo.latency_p99_high.threshold_seconds: must not be below latency_p95_high.threshold_seconds (2), got 1",
		},
		{
			name: "rate window shorter than two evaluations",
			yaml: func(t *testing.T) string {
				return edit(t, "rate_window: 1m", "rate_window: 20s")
			},
			want: "invalid thresholds:\n" +
				"  profiles.production.rate_window: must be at least 2 × evaluation_interval (30s) so rate() sees two samples, got 20s",
		},
		{
			name: "every problem at once, with its field path",
			yaml: func(t *testing.T) string {
				return edit(t,
					"long_window: 2m", "long_window: 5s\n    long_window_coverage: 1.5",
					"db_cpu_high: {threshold: 0.7, for: 5m}", "db_cpu_high: {threshold: 0, for: 5m}",
					"db_connections_high: {threshold: 0.8, for: 10s}", "db_connections_high: {threshold: -0.8, for: -10s}",
					"latency_p99_high: {threshold_seconds: 5, for: 15s}", "latency_p99_high: {threshold_seconds: -5, for: 15s}",
					"repeat_interval: 1m}", "repeat_interval: 1s}",
				)
			},
			want: "invalid thresholds:\n" +
				"  profiles.demo.long_window: must be longer than rate_window (10s), got 5s\n" +
				"  profiles.demo.long_window_coverage: must be in (0,1], got 1.5\n" +
				"  profiles.demo.db_connections_high.for: must not be negative, got -10s\n" +
				"  profiles.demo.db_connections_high.threshold: must be in (0,1], got -0.8\n" +
				"  profiles.demo.alertmanager.repeat_interval: must not be shorter than group_interval (5s), got 1s\n" +
				"  profiles.production.db_cpu_high.threshold: must be in (0,1], got 0\n" +
				"  profiles.production.latency_p99_high.threshold_seconds: must be positive, got -5",
		},
		{
			name: "empty document",
			yaml: func(t *testing.T) string { return "# nothing here\n" },
			want: "decode thresholds: empty document",
		},
		{
			name: "two documents",
			yaml: func(t *testing.T) string { return validThresholds + "---\nprofiles: {}\n" },
			want: "decode thresholds: more than one YAML document",
		},
		{
			name: "wrong type",
			yaml: func(t *testing.T) string {
				return edit(t, "evaluation_interval: 15s", "evaluation_interval: [15s]")
			},
			want: "decode thresholds: yaml: unmarshal errors:\n" +
				"  line 3: cannot read a duration from a sequence",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseThresholds([]byte(tt.yaml(t)))
			if err == nil {
				t.Fatalf("ParseThresholds: no error (got %+v), want:\n%s", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseThresholds error:\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

func TestValidationErrorListsProblems(t *testing.T) {
	t.Parallel()
	_, err := ParseThresholds([]byte("profiles: {}\n"))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	if len(verr.Problems) != 2 {
		t.Errorf("Problems = %q, want 2", verr.Problems)
	}
}

func TestLoadThresholdsDefaults(t *testing.T) {
	t.Parallel()
	// production leaves out everything that has a default.
	th, err := ParseThresholds([]byte(validThresholds))
	if err != nil {
		t.Fatal(err)
	}
	p := th.Profiles["production"]
	checks := []struct {
		field string
		got   Duration
		want  time.Duration
	}{
		{"long_window", p.LongWindow, time.Hour},
		{"latency_p95_high.fire_within", p.LatencyP95High.FireWithin, 2 * time.Minute},
		{"latency_p99_high.fire_within", p.LatencyP99High.FireWithin, 2 * time.Minute},
		{"alertmanager.group_wait", p.Alertmanager.GroupWait, 30 * time.Second},
		{"alertmanager.group_interval", p.Alertmanager.GroupInterval, 5 * time.Minute},
		{"alertmanager.repeat_interval", p.Alertmanager.RepeatInterval, 4 * time.Hour},
		{"cpu_sustained_high.for", p.CPUSustainedHigh.For, 0},
	}
	for _, c := range checks {
		if time.Duration(c.got) != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, Duration(c.want))
		}
	}
	if p.LongWindowCoverage != 0.9 {
		t.Errorf("long_window_coverage = %v, want 0.9", p.LongWindowCoverage)
	}

	// An interval alone implies a rate window of four scrapes.
	th, err = ParseThresholds([]byte(edit(t, "    rate_window: 10s\n", "")))
	if err != nil {
		t.Fatal(err)
	}
	if got := th.Profiles["demo"].RateWindow; got != Duration(4*time.Second) {
		t.Errorf("demo rate_window = %v, want 4s", got)
	}
}

func TestEmbeddedThresholds(t *testing.T) {
	t.Parallel()
	th, err := EmbeddedThresholds()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(Profiles(), ","), "demo,production"; got != want {
		t.Errorf("Profiles() = %s, want %s", got, want)
	}
	// The spec's numbers, so that an edit of thresholds.yml that changes
	// behaviour shows up here and not only in the promtool tests.
	for _, name := range []string{"production", "demo"} {
		p := th.Profiles[name]
		ratios := map[string][2]float64{
			"cpu_high":            {p.CPUHigh.Threshold, 0.8},
			"cpu_sustained_high":  {p.CPUSustainedHigh.Threshold, 0.7},
			"db_cpu_high":         {p.DBCPUHigh.Threshold, 0.7},
			"db_connections_high": {p.DBConnectionsHigh.Threshold, 0.8},
			"latency_p95_high":    {p.LatencyP95High.ThresholdSeconds, 2},
			"latency_p99_high":    {p.LatencyP99High.ThresholdSeconds, 5},
			"underutilized":       {p.Underutilized.Threshold, 0.3},
		}
		for field, v := range ratios {
			if v[0] != v[1] {
				t.Errorf("%s.%s threshold = %v, want %v", name, field, v[0], v[1])
			}
		}
	}
	prod := th.Profiles["production"]
	durations := map[string][2]Duration{
		"cpu_high.for":                 {prod.CPUHigh.For, Duration(5 * time.Minute)},
		"db_cpu_high.for":              {prod.DBCPUHigh.For, Duration(5 * time.Minute)},
		"db_connections_high.for":      {prod.DBConnectionsHigh.For, Duration(5 * time.Minute)},
		"long_window":                  {prod.LongWindow, Duration(time.Hour)},
		"underutilized.for":            {prod.Underutilized.For, Duration(time.Hour)},
		"latency_p95_high.fire_within": {prod.LatencyP95High.FireWithin, Duration(2 * time.Minute)},
		"latency_p99_high.fire_within": {prod.LatencyP99High.FireWithin, Duration(2 * time.Minute)},
	}
	for field, v := range durations {
		if v[0] != v[1] {
			t.Errorf("production.%s = %v, want %v", field, v[0], v[1])
		}
	}
}

func TestLongWindowMinSamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		interval, window Duration
		coverage         float64
		want             int
	}{
		{Duration(15 * time.Second), Duration(time.Hour), 0.9, 216},
		{Duration(time.Second), Duration(2 * time.Minute), 0.9, 108},
		{Duration(time.Minute), Duration(time.Hour), 1, 60},
		{Duration(time.Hour), Duration(time.Minute), 0.5, 1},
	}
	for _, tt := range tests {
		p := Profile{EvaluationInterval: tt.interval, LongWindow: tt.window, LongWindowCoverage: tt.coverage}
		if got := p.LongWindowMinSamples(); got != tt.want {
			t.Errorf("LongWindowMinSamples(%v, %v, %v) = %d, want %d", tt.interval, tt.window, tt.coverage, got, tt.want)
		}
	}
}

func TestCostThresholdsRejects(t *testing.T) {
	t.Parallel()
	y := edit(t, "    underutilized: {threshold: 0.3, for: 1h}\n",
		"    underutilized: {threshold: 0.3, for: 1h}\n    cost: {budget_warning_percent: 90, budget_critical_percent: 80, spike_ratio: 0.5, usage_spike_ratio: 1,"+
			" projection_min_confidence: 1.5, exhaustion_within: -1d, spike_min_increase: -1, alertmanager: {group_interval: 1h, repeat_interval: 1m}}\n")
	_, err := ParseThresholds([]byte(y))
	want := "invalid thresholds:\n" +
		"  profiles.production.cost.budget_critical_percent: must be budget_warning_percent (90)…1000, got 80\n" +
		"  profiles.production.cost.spike_ratio: must be a finite number above 1, got 0.5\n" +
		"  profiles.production.cost.spike_min_increase: must be a finite number ≥ 0, got -1\n" +
		"  profiles.production.cost.usage_spike_ratio: must be a finite number above 1, got 1\n" +
		"  profiles.production.cost.projection_min_confidence: must be in [0,1], got 1.5\n" +
		"  profiles.production.cost.exhaustion_within: must be positive, got -1d\n" +
		"  profiles.production.cost.alertmanager.repeat_interval: must not be shorter than group_interval (1h), got 1m"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	// Left out, the cost block takes the spec's thresholds.
	th, err := ParseThresholds([]byte(validThresholds))
	if err != nil {
		t.Fatal(err)
	}
	c := th.Profiles["demo"].Cost
	if c.SpikeRatio != 1.5 || c.UsageSpikeRatio != 2 || c.ExhaustionWithin.String() != "1w" || c.BudgetWarningPercent != 75 ||
		c.BudgetCriticalPercent != 100 || c.Alertmanager.RepeatInterval.String() != "12h" {
		t.Errorf("cost defaults: %+v", c)
	}
}
