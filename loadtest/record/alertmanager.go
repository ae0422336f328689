package record

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"
)

// AlertName is the alert raised when a run regressed against its baseline.
const AlertName = "WedsyncLoadTestRegression"

// Regression is what the alert tells.
type Regression struct {
	Benchmark  string
	TestType   string
	LoadTestID string
	Target     string
	Comparison Comparison
}

// Alerter raises the regression alert.
type Alerter interface {
	Regression(ctx context.Context, r Regression) error
}

// Alertmanager posts the alert to every Alertmanager given (an HA pair
// deduplicates; an unpeered pair must each know).
type Alertmanager struct {
	clients      []*amclient.AlertmanagerAPI
	urls         []string
	duration     time.Duration
	generatorURL string
}

var _ Alerter = (*Alertmanager)(nil)

// NewAlertmanager builds a poster for the given base URLs.
func NewAlertmanager(urls []string, generatorURL string) (*Alertmanager, error) {
	a := &Alertmanager{urls: urls, duration: time.Hour, generatorURL: generatorURL}
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

// Regression raises WedsyncLoadTestRegression. It ends by itself after an
// hour; it carries no scaling_action label, so it goes to people and never
// to the autoscaler.
func (a *Alertmanager) Regression(ctx context.Context, r Regression) error {
	now := time.Now()
	pa := &models.PostableAlert{
		StartsAt: strfmt.DateTime(now),
		EndsAt:   strfmt.DateTime(now.Add(a.duration)),
		Annotations: models.LabelSet{
			"summary":               fmt.Sprintf("Load test %s regressed against its baseline", r.Benchmark),
			"description":           fmt.Sprintf("%s (%s) against %s: %s", r.Benchmark, r.TestType, r.Target, strings.Join(r.Comparison.Regressions(), "; ")),
			"load_test_id":          r.LoadTestID,
			"baseline_benchmark_id": r.Comparison.BaselineBenchmarkID,
		},
		Alert: models.Alert{
			Labels: models.LabelSet{
				"alertname": AlertName,
				"severity":  "warning",
				"benchmark": r.Benchmark,
				"test_type": r.TestType,
			},
			GeneratorURL: strfmt.URI(a.generatorURL),
		},
	}
	var errs []error
	for i, c := range a.clients {
		params := alert.NewPostAlertsParamsWithContext(ctx).WithAlerts(models.PostableAlerts{pa})
		if _, err := c.Alert.PostAlerts(params); err != nil {
			errs = append(errs, fmt.Errorf("post alert to %s: %w", a.urls[i], err))
		}
	}
	if len(errs) == len(a.clients) && len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}
