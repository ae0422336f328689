// Package alerting tells people, through Alertmanager, when the autoscaler
// itself has a problem — an action that failed — so that nobody learns of a
// failed scale-up from the latency graph.
package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"

	"github.com/wedsync/scaling/core/store"
)

// AlertName is the alert raised for a failed scaling action.
const AlertName = "WedsyncScalingActionFailed"

// Alertmanager posts alerts to one or more Alertmanagers (all of them: an
// HA pair deduplicates, and an unpeered pair must each know).
type Alertmanager struct {
	clients  []*amclient.AlertmanagerAPI
	urls     []string
	duration time.Duration
	// generatorURL is the autoscaler's own address, so the alert links back.
	generatorURL string
	logger       *slog.Logger
}

// NewAlertmanager builds a poster for the given base URLs.
func NewAlertmanager(urls []string, generatorURL string, logger *slog.Logger) (*Alertmanager, error) {
	a := &Alertmanager{urls: urls, duration: time.Hour, generatorURL: generatorURL, logger: logger}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("alertmanager URL %q: want http(s)://host:port", raw)
		}
		cfg := amclient.DefaultTransportConfig().
			WithHost(u.Host).
			WithBasePath(strings.TrimSuffix(u.Path, "/") + "/api/v2").
			WithSchemes([]string{u.Scheme})
		a.clients = append(a.clients, amclient.NewHTTPClientWithConfig(strfmt.Default, cfg))
	}
	return a, nil
}

// OverCeilingAlertName is the alert raised when an SLO breach took a
// service past its monthly cost ceiling.
const OverCeilingAlertName = "WedsyncScaleUpOverCostCeiling"

// OverCostCeiling raises WedsyncScaleUpOverCostCeiling. It carries the
// cost-alert labels, so Alertmanager routes it to people and to the
// autoscaler's cost endpoint, which records it in cost_alerts.
func (a *Alertmanager) OverCostCeiling(ctx context.Context, e store.Event, ceiling string) error {
	now := time.Now()
	cost := ""
	if e.CostImpactMonthly.Valid {
		cost = e.CostImpactMonthly.Decimal.StringFixed(2)
	}
	return a.post(ctx, &models.PostableAlert{
		StartsAt: strfmt.DateTime(now),
		EndsAt:   strfmt.DateTime(now.Add(a.duration)),
		Annotations: models.LabelSet{
			"summary":     fmt.Sprintf("%s scaled past its monthly cost ceiling", e.Service),
			"description": fmt.Sprintf("%s (%s → %s) goes over the ceiling of %s a month because a latency or error SLO is breached; change in monthly cost %s.", e.Type, e.Before, e.After, ceiling, cost),
			"value":       cost,
			"threshold":   ceiling,
		},
		Alert: models.Alert{
			Labels: models.LabelSet{
				"alertname":       OverCeilingAlertName,
				"severity":        "warning",
				"service":         e.Service,
				"event_id":        e.ID,
				"cost_alert_type": "slo_over_budget",
			},
			GeneratorURL: strfmt.URI(a.generatorURL),
		},
	})
}

// ActionFailed raises WedsyncScalingActionFailed for a failed event. The
// alert ends by itself after an hour; it deliberately carries no
// scaling_action label, so it goes to people and not back to us.
func (a *Alertmanager) ActionFailed(ctx context.Context, e store.Event) error {
	now := time.Now()
	pa := &models.PostableAlert{
		StartsAt: strfmt.DateTime(now),
		EndsAt:   strfmt.DateTime(now.Add(a.duration)),
		Annotations: models.LabelSet{
			"summary":     fmt.Sprintf("Scaling action on %s failed", e.Service),
			"description": fmt.Sprintf("%s of %s (%s → %s) failed: %s", e.Type, e.Service, e.Before, e.After, e.ErrorMessage),
			"event_id":    e.ID,
		},
		Alert: models.Alert{
			Labels: models.LabelSet{
				"alertname":  AlertName,
				"severity":   "critical",
				"service":    e.Service,
				"event_type": string(e.Type),
				"event_id":   e.ID,
			},
			GeneratorURL: strfmt.URI(a.generatorURL),
		},
	}
	return a.post(ctx, pa)
}

// post sends an alert to every Alertmanager; one reached is enough.
func (a *Alertmanager) post(ctx context.Context, pa *models.PostableAlert) error {
	var errs []error
	for i, c := range a.clients {
		params := alert.NewPostAlertsParamsWithContext(ctx).WithAlerts(models.PostableAlerts{pa})
		if _, err := c.Alert.PostAlerts(params); err != nil {
			errs = append(errs, fmt.Errorf("post alert to %s: %w", a.urls[i], err))
		}
	}
	// One Alertmanager reached is enough for people to hear of it.
	if len(errs) == len(a.clients) {
		return errors.Join(errs...)
	}
	for _, err := range errs {
		a.logger.Warn("alertmanager unreachable", "err", err)
	}
	return nil
}
