// Package alerting tells people, through Alertmanager, what the autoscaler
// cannot settle alone — an action that failed, a scale-up past a cost
// ceiling — so that nobody learns of a failed scale-up from the latency
// graph.
package alerting

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/wedsync/scaling/core/alertpost"
	"github.com/wedsync/scaling/core/store"
)

// Alert names.
const (
	AlertName            = "WedsyncScalingActionFailed"
	OverCeilingAlertName = "WedsyncScaleUpOverCostCeiling"
)

// Alertmanager raises the autoscaler's alerts.
type Alertmanager struct{ p *alertpost.Poster }

// NewAlertmanager builds the alerter for the given Alertmanager base URLs;
// generatorURL (the autoscaler's own address) is where the alerts link.
func NewAlertmanager(urls []string, generatorURL string, logger *slog.Logger) (*Alertmanager, error) {
	p, err := alertpost.New(urls, generatorURL)
	if err != nil {
		return nil, err
	}
	p.Logger = logger
	return &Alertmanager{p: p}, nil
}

// ActionFailed raises WedsyncScalingActionFailed for a failed event. It
// deliberately carries no scaling_action label, so it goes to people and
// not back to us.
func (a *Alertmanager) ActionFailed(ctx context.Context, e store.Event) error {
	return a.p.Post(ctx, map[string]string{
		"alertname":  AlertName,
		"severity":   "critical",
		"service":    e.Service,
		"event_type": string(e.Type),
		"event_id":   e.ID,
	}, map[string]string{
		"summary":     fmt.Sprintf("Scaling action on %s failed", e.Service),
		"description": fmt.Sprintf("%s of %s (%s → %s) failed: %s", e.Type, e.Service, e.Before, e.After, e.ErrorMessage),
		"event_id":    e.ID,
	})
}

// OverCostCeiling raises WedsyncScaleUpOverCostCeiling. It carries the
// cost-alert labels, so Alertmanager routes it to people and to the
// autoscaler's cost endpoint, which records it in cost_alerts.
func (a *Alertmanager) OverCostCeiling(ctx context.Context, e store.Event, ceiling string) error {
	cost := ""
	if e.CostImpactMonthly.Valid {
		cost = e.CostImpactMonthly.Decimal.StringFixed(2)
	}
	return a.p.Post(ctx, map[string]string{
		"alertname":       OverCeilingAlertName,
		"severity":        "warning",
		"service":         e.Service,
		"event_id":        e.ID,
		"cost_alert_type": "slo_over_budget",
	}, map[string]string{
		"summary": fmt.Sprintf("%s scaled past its monthly cost ceiling", e.Service),
		"description": fmt.Sprintf("%s (%s → %s) goes over the ceiling of %s a month because a latency or error SLO is breached; change in monthly cost %s.",
			e.Type, e.Before, e.After, ceiling, cost),
		"value":     cost,
		"threshold": ceiling,
	})
}
