package record

import (
	"context"
	"fmt"
	"strings"

	"github.com/wedsync/scaling/core/alertpost"
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

// Alertmanager raises the regression alert on every Alertmanager given.
type Alertmanager struct{ p *alertpost.Poster }

var _ Alerter = (*Alertmanager)(nil)

// NewAlertmanager builds a poster for the given base URLs.
func NewAlertmanager(urls []string, generatorURL string) (*Alertmanager, error) {
	p, err := alertpost.New(urls, generatorURL)
	if err != nil {
		return nil, err
	}
	return &Alertmanager{p: p}, nil
}

// Regression raises WedsyncLoadTestRegression. It ends by itself after an
// hour; it carries no scaling_action label, so it goes to people and never
// to the autoscaler.
func (a *Alertmanager) Regression(ctx context.Context, r Regression) error {
	return a.p.Post(ctx, map[string]string{
		"alertname": AlertName,
		"severity":  "warning",
		"benchmark": r.Benchmark,
		"test_type": r.TestType,
	}, map[string]string{
		"summary":               fmt.Sprintf("Load test %s regressed against its baseline", r.Benchmark),
		"description":           fmt.Sprintf("%s (%s) against %s: %s", r.Benchmark, r.TestType, r.Target, strings.Join(r.Comparison.Regressions(), "; ")),
		"load_test_id":          r.LoadTestID,
		"baseline_benchmark_id": r.Comparison.BaselineBenchmarkID,
	})
}
