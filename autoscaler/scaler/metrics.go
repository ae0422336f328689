package scaler

import (
	"errors"
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wedsync/scaling/autoscaler/control"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/predict"
)

// Metrics are the scaler's own series.
type Metrics struct {
	decisions         *prometheus.CounterVec
	evaluationErrors  *prometheus.CounterVec
	events            *prometheus.CounterVec
	actuatorDuration  *prometheus.HistogramVec
	decisionLatency   prometheus.Histogram
	replicas          *prometheus.GaugeVec
	desiredReplicas   *prometheus.GaugeVec
	tier              *prometheus.GaugeVec
	desiredTier       *prometheus.GaugeVec
	reactiveReplicas  *prometheus.GaugeVec
	predictedReplicas *prometheus.GaugeVec
	scheduledMin      *prometheus.GaugeVec
	forecast          *prometheus.GaugeVec
	forecastError     *prometheus.GaugeVec
	forecastLead      *prometheus.GaugeVec
	forecasterReady   *prometheus.GaugeVec
	seasonalHistory   *prometheus.GaugeVec
	capacity          *prometheus.GaugeVec
	controlInfo       *prometheus.GaugeVec
	stateUnknown      *prometheus.GaugeVec
	readErrors        *prometheus.CounterVec
	closeRetries      *prometheus.CounterVec
	adopted           *prometheus.CounterVec
	overridesDropped  *prometheus.CounterVec
	loop              *loopMetrics
}

// NewMetrics creates the metrics and registers them on reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	// Each name is written out whole: the dashboards' test finds every
	// metric we produce by reading these declarations.
	gauge := func(o prometheus.GaugeOpts, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(o, labels)
	}
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "decisions_total",
			Help: "Evaluations of a service, by service and outcome (scale, within_tolerance, no_data, …).",
		}, []string{"service", "outcome"}),
		evaluationErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "evaluation_errors_total",
			Help: "Evaluations that could not decide because the service's state or alerts could not be read.",
		}, []string{"service"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "events_total",
			Help: "Scaling events finished, by service, type and final status.",
		}, []string{"service", "event_type", "status"}),
		actuatorDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "actuator_duration_seconds",
			Help:    "Time taken by actuator calls, by service and operation (current, apply).",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"service", "operation"}),
		decisionLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "decision_latency_seconds",
			Help:    "Time from receiving a notification to calling the actuator.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		replicas:          gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "replicas", Help: "Current replicas of a horizontally scaled service, as its actuator reads them."}, "service"),
		desiredReplicas:   gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "desired_replicas", Help: "Replicas the metrics and forecasts call for now, before stabilization, rate policies and bounds."}, "service"),
		tier:              gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "tier_level", Help: "Position of a vertically scaled service's current tier in its ladder (0 = smallest)."}, "service"),
		desiredTier:       gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "desired_tier_level", Help: "Tier position the metrics call for now, before stabilization, rate limits and bounds."}, "service"),
		reactiveReplicas:  gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "reactive_desired_replicas", Help: "Replicas the current metrics alone call for."}, "service"),
		predictedReplicas: gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "predicted_desired_replicas", Help: "Replicas the forecast load at now + lead calls for (absent without a forecast)."}, "service"),
		scheduledMin:      gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "scheduled_min_replicas", Help: "Minimum replicas raised by the scheduled windows active now (0: none)."}, "service"),
		forecast: gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "forecast_value", Help: "Highest load a forecaster expects between now and now + lead, in the driver metric's unit."},
			"service", "forecaster", "metric"),
		forecastError: gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "forecast_error_ratio", Help: "Absolute percentage error of the forecaster's latest forecast whose window has passed, against the load seen (0.1 = 10 %)."},
			"service", "forecaster"),
		forecastLead:    gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "forecast_lead_seconds", Help: "How far ahead forecasts look: measured time to become ready + one sync period (or the policy's lead)."}, "service"),
		forecasterReady: gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "forecaster_ready", Help: "1 when the forecaster can forecast (enough history, a significant trend), else 0."}, "service", "forecaster"),
		seasonalHistory: gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "seasonal_history_seconds", Help: "History the seasonal model was last fitted on (0: too little or none)."}, "service"),
		capacity:        gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "capacity_per_replica", Help: "Capacity per replica a load metric is sized with (learned, from a load test, or configured)."}, "service", "metric"),
		controlInfo: gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "control_info", Help: "How a service is controlled: control (level, alerts_only) and predictive (active, forecast_only, off)."},
			"service", "control", "predictive"),
		stateUnknown: gauge(prometheus.GaugeOpts{Namespace: "wedsync", Subsystem: "autoscaler", Name: "actuator_state_unknown", Help: "1 while the latest read of the service's actuator failed (nothing is decided on an unknown state), else 0."}, "service"),
		readErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "actuator_read_errors_total",
			Help: "Reads of a service's actuator that failed.",
		}, []string{"service"}),
		closeRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "event_close_retries_total",
			Help: "Attempts to record an action's outcome that failed and were retried (the database was unreachable).",
		}, []string{"service"}),
		adopted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "events_adopted_total",
			Help: "Unfinished events of a replica whose lease expired, taken over by this one, by how they were settled (completed, reapplied, failed).",
		}, []string{"service", "result"}),
		overridesDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "policy_overrides_dropped_total",
			Help: "Policy overrides (bounds an implemented rightsizing set) dropped because the policy file no longer admits them.",
		}, []string{"service"}),
	}
	m.loop = newLoopMetrics(reg)
	if reg != nil {
		reg.MustRegister(m.decisions, m.evaluationErrors, m.events, m.actuatorDuration, m.decisionLatency, m.replicas, m.desiredReplicas,
			m.tier, m.desiredTier, m.reactiveReplicas, m.predictedReplicas, m.scheduledMin, m.forecast, m.forecastError, m.forecastLead,
			m.forecasterReady, m.seasonalHistory, m.capacity, m.controlInfo, m.stateUnknown, m.readErrors, m.closeRetries, m.adopted,
			m.overridesDropped)
	}
	return m
}

func (m *Metrics) setLevel(p *policy.Service, service string, level int) {
	if p.Mode == policy.Vertical {
		m.tier.WithLabelValues(service).Set(float64(level))
		return
	}
	m.replicas.WithLabelValues(service).Set(float64(level))
}

func (m *Metrics) setControl(service string, p *policy.Service) {
	mode := "off"
	if pr := p.Predictive; pr != nil {
		mode = "active"
		if pr.ForecastOnly {
			mode = "forecast_only"
		}
	}
	m.controlInfo.WithLabelValues(service, string(p.Control), mode).Set(1)
}

// observe publishes one evaluation.
func (m *Metrics) observe(service string, p *policy.Service, level int, out decision.Output, notes control.Notes, tr *predict.Tracker) {
	if !out.Recorded {
		return
	}
	if p.Mode == policy.Vertical {
		m.desiredTier.WithLabelValues(service).Set(float64(out.Raw))
		return
	}
	m.desiredReplicas.WithLabelValues(service).Set(float64(out.Raw))
	m.reactiveReplicas.WithLabelValues(service).Set(float64(out.Reactive))
	sched := 0
	if len(out.Scheduled) > 0 {
		sched = out.Min
	}
	m.scheduledMin.WithLabelValues(service).Set(float64(sched))
	for _, mt := range p.Metrics {
		if mt.Type == policy.MetricLoad {
			m.capacity.WithLabelValues(service, mt.Name).Set(decision.CapacityOf(&mt, notes.Capacity))
		}
	}
	pr := p.Predictive
	if pr == nil {
		return
	}
	m.forecastLead.WithLabelValues(service).Set(notes.Lead.Seconds())
	if out.Predicted != nil {
		m.predictedReplicas.WithLabelValues(service).Set(float64(*out.Predicted))
	} else {
		m.predictedReplicas.DeleteLabelValues(service)
	}
	for _, f := range pr.Forecasters {
		ready := 0.0
		for _, fc := range notes.Forecasts {
			if fc.Forecaster == f {
				ready = 1
				m.forecast.WithLabelValues(service, f, pr.Driver).Set(fc.Value)
			}
		}
		if ready == 0 {
			m.forecast.DeleteLabelValues(service, f, pr.Driver)
		}
		m.forecasterReady.WithLabelValues(service, f).Set(ready)
	}
	for _, f := range append([]string{control.Combined}, pr.Forecasters...) {
		if e, ok := tr.Last(f); ok && !math.IsNaN(e) {
			m.forecastError.WithLabelValues(service, f).Set(e)
		}
	}
}

func (m *Metrics) setSeasonal(service string, s *predict.Seasonal, err error) {
	var h *predict.HistoryError
	switch {
	case err == nil:
		m.seasonalHistory.WithLabelValues(service).Set(s.History.Seconds())
	case errors.As(err, &h):
		m.seasonalHistory.WithLabelValues(service).Set(h.Have.Seconds())
	default:
		m.seasonalHistory.WithLabelValues(service).Set(0)
	}
}
