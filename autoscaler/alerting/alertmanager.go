// Package alerting tells people, through Alertmanager, what the autoscaler
// cannot settle alone — an action that failed, a scale-up past a cost
// ceiling — so that nobody learns of a failed scale-up from the latency
// graph.
package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wedsync/scaling/core/alertpost"
	"github.com/wedsync/scaling/core/store"
)

// Alert names.
const (
	AlertName            = "WedsyncScalingActionFailed"
	OverCeilingAlertName = "WedsyncScaleUpOverCostCeiling"
)

// Alertmanager raises the autoscaler's alerts. It remembers the failures
// it posted, so that RenewFailures can keep them firing while they stand
// and resolve them when they end.
type Alertmanager struct {
	p      *alertpost.Poster
	logger *slog.Logger

	mu       sync.Mutex
	lifetime time.Duration
	renewals int                // RenewFailures calls so far
	posted   map[string]*posted // failures posted and not resolved since, by event ID
}

type posted struct {
	event store.Event
	// confirmed: a RenewFailures call listed it as active, so its absence
	// from a later call's list means it ended.
	confirmed bool
	// renewal is a.renewals when ActionFailed posted it.
	renewal int
}

// DefaultFailureLifetime is how long a failure alert fires when nothing
// renews it (RenewEvery not called).
const DefaultFailureLifetime = time.Hour

// FailureLifetime is how long each post of a failure alert lasts when it
// is renewed every interval: four intervals, Prometheus's own margin for
// the alerts it resends (rules/alerting.go: ValidUntil = 4 × max(evaluation
// interval, resend delay)), so that up to three missed renewals — an
// Alertmanager restart, a slow pass, a database blip — do not resolve a
// failure that still stands.
func FailureLifetime(interval time.Duration) time.Duration { return 4 * interval }

// NewAlertmanager builds the alerter for the given Alertmanager base URLs;
// generatorURL (the autoscaler's own address) is where the alerts link.
func NewAlertmanager(urls []string, generatorURL string, logger *slog.Logger) (*Alertmanager, error) {
	p, err := alertpost.New(urls, generatorURL)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p.Logger = logger
	return &Alertmanager{p: p, logger: logger, lifetime: DefaultFailureLifetime, posted: map[string]*posted{}}, nil
}

// RenewEvery says RenewFailures is called every interval: failure alerts
// are then posted with FailureLifetime(interval).
func (a *Alertmanager) RenewEvery(interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("failure alert renewal interval: must be positive, got %s", interval)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lifetime = FailureLifetime(interval)
	return nil
}

// ActionFailed raises WedsyncScalingActionFailed for a failed event. It
// deliberately carries no scaling_action label, so it goes to people and
// not back to us. The failure is remembered even when no Alertmanager was
// reached: the next RenewFailures posts it again if it still stands.
func (a *Alertmanager) ActionFailed(ctx context.Context, e store.Event) error {
	a.mu.Lock()
	lifetime := a.lifetime
	if _, ok := a.posted[e.ID]; !ok {
		a.posted[e.ID] = &posted{event: e, renewal: a.renewals}
	}
	a.mu.Unlock()
	return a.postFailure(ctx, e, lifetime)
}

// RenewFailures keeps people's view of failures true to the event log.
// active is the list of failures that stand now (store.ActiveFailures, read
// after the previous call returned): each is posted again with the
// renewal lifetime (RenewEvery), and each failure posted before that is no
// longer active is resolved (posted with endsAt = now), so that people hear
// the failure is over — a retry, a rollback or a new action of the service
// finished. A failure that ActionFailed posted after the previous call
// began is resolved one call later at the soonest: the list may have been
// read before it was written.
//
// Every post is tried; the error joins those that reached no
// Alertmanager, whose failures are tried again at the next call.
func (a *Alertmanager) RenewFailures(ctx context.Context, active []store.Event) error {
	a.mu.Lock()
	a.renewals++
	renewal, lifetime := a.renewals, a.lifetime
	isActive := make(map[string]bool, len(active))
	for _, e := range active {
		isActive[e.ID] = true
		p, ok := a.posted[e.ID]
		if !ok {
			p = &posted{}
			a.posted[e.ID] = p
		}
		p.event, p.confirmed = e, true
	}
	var ended []store.Event
	for id, p := range a.posted {
		// renewal-1 is the previous call: a failure posted since it began
		// may be missing from a list read before it was written.
		if !isActive[id] && (p.confirmed || p.renewal < renewal-1) {
			ended = append(ended, p.event)
		}
	}
	a.mu.Unlock()

	var errs []error
	for _, e := range active {
		if err := a.postFailure(ctx, e, lifetime); err != nil {
			errs = append(errs, fmt.Errorf("renew failure alert of event %s: %w", e.ID, err))
		}
	}
	for _, e := range ended {
		if err := a.postFailure(ctx, e, 0); err != nil {
			errs = append(errs, fmt.Errorf("resolve failure alert of event %s: %w", e.ID, err))
			continue
		}
		a.logger.Info("failure alert resolved", "alertname", AlertName, "event_id", e.ID, "service", e.Service)
		a.mu.Lock()
		delete(a.posted, e.ID)
		a.mu.Unlock()
	}
	if len(active) > 0 {
		a.logger.Debug("failure alerts renewed", "alertname", AlertName, "active", len(active), "lifetime", lifetime)
	}
	return errors.Join(errs...)
}

// postFailure posts the failure alert of e, firing for lifetime (0:
// resolved now). Its labels depend on the event only, so that every post
// of one failure is the same alert to Alertmanager.
func (a *Alertmanager) postFailure(ctx context.Context, e store.Event, lifetime time.Duration) error {
	p := *a.p // the clients are shared; only this post's lifetime differs
	p.TTL = lifetime
	return p.Post(ctx, map[string]string{
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
	// An unpriced change is unknown: said in words, and no value (the cost
	// webhook reads value as a number).
	cost, costText := "", "unknown (unpriced)"
	if e.CostImpactMonthly.Valid {
		cost = e.CostImpactMonthly.Decimal.StringFixed(2)
		costText = cost
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
			e.Type, e.Before, e.After, ceiling, costText),
		"value":     cost,
		"threshold": ceiling,
	})
}
