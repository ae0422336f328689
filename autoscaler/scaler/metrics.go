package scaler

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wedsync/scaling/autoscaler/policy"
)

// Metrics are the scaler's own series.
type Metrics struct {
	decisions        *prometheus.CounterVec
	events           *prometheus.CounterVec
	actuatorDuration *prometheus.HistogramVec
	decisionLatency  prometheus.Histogram
	replicas         *prometheus.GaugeVec
	desiredReplicas  *prometheus.GaugeVec
	tier             *prometheus.GaugeVec
	desiredTier      *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them on reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "decisions_total",
			Help: "Decisions taken while an alert asked for action, by service and outcome.",
		}, []string{"service", "outcome"}),
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
		replicas: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "replicas",
			Help: "Current replicas of a horizontally scaled service, as its actuator reads them.",
		}, []string{"service"}),
		desiredReplicas: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "desired_replicas",
			Help: "Replicas the metrics call for now, before stabilization, rate limits and bounds.",
		}, []string{"service"}),
		tier: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "tier_level",
			Help: "Position of a vertically scaled service's current tier in its ladder (0 = smallest).",
		}, []string{"service"}),
		desiredTier: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "desired_tier_level",
			Help: "Tier position the metrics call for now, before stabilization, rate limits and bounds.",
		}, []string{"service"}),
	}
	if reg != nil {
		reg.MustRegister(m.decisions, m.events, m.actuatorDuration, m.decisionLatency, m.replicas, m.desiredReplicas, m.tier, m.desiredTier)
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

func (m *Metrics) setDesired(p *policy.Service, service string, level int) {
	if p.Mode == policy.Vertical {
		m.desiredTier.WithLabelValues(service).Set(float64(level))
		return
	}
	m.desiredReplicas.WithLabelValues(service).Set(float64(level))
}
