package rules

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestAutoscalerRules: every alert of autoscaler.rules.yml is one of
// AutoscalerAlerts (so it is routed to the autoscaler's people), carries
// neither scaling_action (it must not wake the autoscaler) nor notify (the
// platform routes are not its people), and aggregates replicas away.
func TestAutoscalerRules(t *testing.T) {
	t.Parallel()
	for _, profile := range Profiles() {
		var alerts []string
		for _, g := range renderedRules(t, profile, AutoscalerRulesFile).Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					t.Errorf("%s: %s records %s: it holds alerts only", profile, AutoscalerRulesFile, r.Record)
					continue
				}
				alerts = append(alerts, r.Alert)
				if !slices.Contains(AutoscalerAlerts, r.Alert) {
					t.Errorf("%s: %s is not in AutoscalerAlerts: it would fall through to operations", profile, r.Alert)
				}
				if _, ok := r.Labels["scaling_action"]; ok {
					t.Errorf("%s: %s carries scaling_action", profile, r.Alert)
				}
				if _, ok := r.Labels["notify"]; ok {
					t.Errorf("%s: %s carries notify", profile, r.Alert)
				}
				if !strings.HasPrefix(r.Expr, "max by (service) (") {
					t.Errorf("%s: %s does not aggregate the autoscaler replicas away: %s", profile, r.Alert, r.Expr)
				}
			}
		}
		if !slices.Equal(alerts, []string{ActuatorStateUnknownAlert}) {
			t.Errorf("%s: alerts of %s = %q", profile, AutoscalerRulesFile, alerts)
		}
	}
}

// TestAutoscalerAlertsConfigRejects: the autoscaler alerts' settings are
// validated with the field named.
func TestAutoscalerAlertsConfigRejects(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile("thresholds.yml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, old, new, want string }{
		{"for shorter than the evaluation interval", "      actuator_state_unknown_for: 10s\n", "      actuator_state_unknown_for: 500ms\n",
			"profiles.demo.autoscaler_alerts.actuator_state_unknown_for: must not be shorter than evaluation_interval 1s, got 500ms"},
		{"repeat shorter than group interval", "        group_interval: 1m\n        repeat_interval: 4h\n", "        group_interval: 1m\n        repeat_interval: 30s\n",
			"profiles.production.autoscaler_alerts.alertmanager.repeat_interval: must not be shorter than group_interval (1m), got 30s"},
		{"unknown field", "      actuator_state_unknown_for: 5m\n", "      actuator_state_unknown: 5m\n", "field actuator_state_unknown not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(base), tc.old) {
				t.Fatalf("thresholds.yml no longer contains %q", tc.old)
			}
			_, err := ParseThresholds([]byte(strings.Replace(string(base), tc.old, tc.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// Left out, the defaults: 5m, and Alertmanager's usual timings.
	th, err := ParseThresholds([]byte(strings.Replace(string(base), "    autoscaler_alerts:\n      actuator_state_unknown_for: 5m\n", "    autoscaler_alerts:\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := th.Profiles["production"].AutoscalerAlerts.ActuatorStateUnknownFor.String(); got != "5m" {
		t.Errorf("default actuator_state_unknown_for = %s, want 5m", got)
	}
}
