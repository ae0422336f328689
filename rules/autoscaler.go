package rules

import "strings"

// This file owns the alerts about the autoscaler itself, which go to
// people rather than back to the autoscaler: the ones it and the load
// engine post directly on Alertmanager, and the rule on the metrics the
// autoscaler exports about its own actuators.

// ActuatorStateUnknownAlert fires while the reads of a service's actuator
// keep failing (autoscaler.rules.yml).
const ActuatorStateUnknownAlert = "WedsyncActuatorStateUnknown"

// AutoscalerAlerts are the autoscaler's own alerts, routed to people by
// name (alertmanager.yml). The posted ones are named by their posters —
// autoscaler/alerting (AlertName, OverCeilingAlertName) and loadtest/record
// (AlertName) — whose tests hold this list equal to their names plus the
// alerts of autoscaler.rules.yml.
var AutoscalerAlerts = []string{
	"WedsyncScalingActionFailed",
	"WedsyncScaleUpOverCostCeiling",
	"WedsyncLoadTestRegression",
	ActuatorStateUnknownAlert,
}

// AutoscalerAlertTimings are how the autoscaler's own alerts reach people.
type AutoscalerAlertTimings struct {
	// ActuatorStateUnknownFor is how long every read of a service's
	// actuator must have failed before people are told: the autoscaler
	// holds the service meanwhile, so a blip costs nothing, a lasting
	// failure leaves the service unscaled.
	ActuatorStateUnknownFor Duration `yaml:"actuator_state_unknown_for"`
	// Alertmanager timings of their route.
	Alertmanager AlertmanagerTimings `yaml:"alertmanager"`
}

// Defaults of the autoscaler's own alerts.
const (
	defaultActuatorStateUnknownFor  = Duration(300e9)
	defaultAutoscalerGroupWait      = Duration(10e9)
	defaultAutoscalerGroupInterval  = Duration(60e9)
	defaultAutoscalerRepeatInterval = Duration(4 * 3600e9)
)

func (a *AutoscalerAlertTimings) applyDefaults() {
	if a.ActuatorStateUnknownFor == 0 {
		a.ActuatorStateUnknownFor = defaultActuatorStateUnknownFor
	}
	a.Alertmanager.applyDefaults(defaultAutoscalerGroupWait, defaultAutoscalerGroupInterval, defaultAutoscalerRepeatInterval)
}

func (a AutoscalerAlertTimings) validate(path string, p *Profile, ps *problems) {
	if positive(ps, path+".actuator_state_unknown_for", a.ActuatorStateUnknownFor) && a.ActuatorStateUnknownFor < p.EvaluationInterval {
		ps.add(path+".actuator_state_unknown_for", "must not be shorter than evaluation_interval %s, got %s", p.EvaluationInterval, a.ActuatorStateUnknownFor)
	}
	a.Alertmanager.validate(path+".alertmanager", ps)
}

// AutoscalerAlertsMatcher is the alertname matcher of their route (the
// names are identifiers: nothing to escape).
func (view) AutoscalerAlertsMatcher() string {
	return `alertname=~"` + strings.Join(AutoscalerAlerts, "|") + `"`
}

// ActuatorStateUnknownAlert is the alert's name, for the templates.
func (view) ActuatorStateUnknownAlert() string { return ActuatorStateUnknownAlert }
