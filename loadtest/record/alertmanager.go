package record

import (
	"context"
	"fmt"
	"strings"
	"time"

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

// Recoverer is an Alerter that also resolves a benchmark's regression
// alert when a later run compares clean.
type Recoverer interface {
	Recovered(ctx context.Context, benchmark, testType, loadTestID string) error
}

// Alertmanager raises the regression alert on every Alertmanager given.
type Alertmanager struct{ p *alertpost.Poster }

var _ Alerter = (*Alertmanager)(nil)

// RegressionLifetime is how long a regression alert fires unless a later
// run of its benchmark renews or resolves it. A regression stands for the
// benchmark until a run of it passes, but no process stays to renew it
// (wedsync-load exits when the run is recorded), so each regressed run
// posts it for a lifetime longer than the interval of any scheduled run of
// a benchmark (nightly, weekly): a regression still there is renewed by
// the next regressed run before it lapses, and a passing run resolves it
// (Recovered). An hour, as before, told people it was resolved while
// nothing had changed.
const RegressionLifetime = 7 * 24 * time.Hour

// NewAlertmanager builds a poster for the given base URLs.
func NewAlertmanager(urls []string, generatorURL string) (*Alertmanager, error) {
	p, err := alertpost.New(urls, generatorURL)
	if err != nil {
		return nil, err
	}
	p.TTL = RegressionLifetime
	return &Alertmanager{p: p}, nil
}

// regressionLabels identify the alert of one benchmark: every regressed run
// of it renews the same alert, and a passing run resolves it.
func regressionLabels(benchmark, testType string) map[string]string {
	return map[string]string{
		"alertname": AlertName,
		"severity":  "warning",
		"benchmark": benchmark,
		"test_type": testType,
	}
}

// Regression raises WedsyncLoadTestRegression for RegressionLifetime; it
// carries no scaling_action label, so it goes to people and never to the
// autoscaler.
func (a *Alertmanager) Regression(ctx context.Context, r Regression) error {
	return a.p.Post(ctx, regressionLabels(r.Benchmark, r.TestType), map[string]string{
		"summary":               fmt.Sprintf("Load test %s regressed against its baseline", r.Benchmark),
		"description":           fmt.Sprintf("%s (%s) against %s: %s", r.Benchmark, r.TestType, r.Target, strings.Join(r.Comparison.Regressions(), "; ")),
		"load_test_id":          r.LoadTestID,
		"baseline_benchmark_id": r.Comparison.BaselineBenchmarkID,
	})
}

// Recovered resolves the regression alert of a benchmark whose latest run
// compared without regression (endsAt = now). Resolving a benchmark that
// had no alert is harmless: Alertmanager sends nothing for it.
func (a *Alertmanager) Recovered(ctx context.Context, benchmark, testType, loadTestID string) error {
	p := *a.p // the clients are shared; only this post's lifetime differs
	p.TTL = 0
	return p.Post(ctx, regressionLabels(benchmark, testType), map[string]string{
		"summary":      fmt.Sprintf("Load test %s no longer regresses against its baseline", benchmark),
		"description":  fmt.Sprintf("%s (%s): run %s compared without regression.", benchmark, testType, loadTestID),
		"load_test_id": loadTestID,
	})
}
