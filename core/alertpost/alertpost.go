// Package alertpost raises alerts directly on Alertmanager (API v2) for
// components that have something to tell people that no Prometheus rule
// can see: a failed scaling action, a load-test regression. Every
// Alertmanager given is posted to — an HA pair deduplicates, an unpeered
// pair must each know — and one reached is enough.
package alertpost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"
)

// Poster posts alerts.
type Poster struct {
	clients      []*amclient.AlertmanagerAPI
	urls         []string
	generatorURL string
	// TTL is how long a posted alert stays firing unless posted again.
	TTL    time.Duration
	Logger *slog.Logger
}

// New builds a poster for Alertmanager base URLs (http(s)://host:port[/prefix]).
func New(urls []string, generatorURL string) (*Poster, error) {
	p := &Poster{urls: urls, generatorURL: generatorURL, TTL: time.Hour, Logger: slog.New(slog.DiscardHandler)}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("alertmanager URL %q: want http(s)://host:port", raw)
		}
		cfg := amclient.DefaultTransportConfig().
			WithHost(u.Host).
			WithBasePath(strings.TrimSuffix(u.Path, "/") + "/api/v2").
			WithSchemes([]string{u.Scheme})
		p.clients = append(p.clients, amclient.NewHTTPClientWithConfig(strfmt.Default, cfg))
	}
	return p, nil
}

// RunbookURLTemplate is the runbook_url every posted alert carries, with
// {alertname} replaced. thresholds.yml's runbook_url owns it; a test in
// rules/ keeps this copy equal, so the autoscaler's and the load engine's
// own alerts link the same way the rules' alerts do.
var RunbookURLTemplate = "https://github.com/wedsync/scaling/blob/main/docs/runbooks/{alertname}.md"

// Post raises an alert starting now and ending after TTL. It fails only
// when no Alertmanager was reached; the others are logged.
func (p *Poster) Post(ctx context.Context, labels, annotations map[string]string) error {
	now := time.Now()
	if name := labels["alertname"]; name != "" && annotations["runbook_url"] == "" {
		annotations = maps.Clone(annotations)
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations["runbook_url"] = strings.ReplaceAll(RunbookURLTemplate, "{alertname}", name)
	}
	pa := &models.PostableAlert{
		StartsAt:    strfmt.DateTime(now),
		EndsAt:      strfmt.DateTime(now.Add(p.TTL)),
		Annotations: models.LabelSet(annotations),
		Alert:       models.Alert{Labels: models.LabelSet(labels), GeneratorURL: strfmt.URI(p.generatorURL)},
	}
	var errs []error
	for i, c := range p.clients {
		params := alert.NewPostAlertsParamsWithContext(ctx).WithAlerts(models.PostableAlerts{pa})
		if _, err := c.Alert.PostAlerts(params); err != nil {
			errs = append(errs, fmt.Errorf("post alert to %s: %w", p.urls[i], err))
		}
	}
	if len(errs) == len(p.clients) {
		return errors.Join(append(errs, errors.New("no Alertmanager reached"))...)
	}
	for _, err := range errs {
		p.Logger.Warn("alertmanager unreachable", "err", err)
	}
	return nil
}
