package observe

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/config"
	"github.com/wedsync/scaling/core/devstack"
)

// Against a real Prometheus scraping a target whose values we set: each way
// data can be unusable is named, and a good value comes back with its
// sample time.
func TestObserveRealPrometheus(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "test_utilization_ratio", Help: "x"}, []string{"service"})
	g.WithLabelValues("api").Set(0.42)
	g.WithLabelValues("worker").Set(0.1)
	nan := prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_nan_ratio", Help: "x"})
	nan.Set(math.NaN())
	reg.MustRegister(g, nan)
	target := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer target.Close()

	prom, err := devstack.StartPrometheus(ctx, devstack.ServerOptions{Config: []byte(fmt.Sprintf(`
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: test
    static_configs: [{targets: ['%s']}]
`, strings.TrimPrefix(target.URL, "http://")))})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	p, err := NewPrometheus(prom.URL(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	svc := func(maxAge time.Duration, queries ...string) *policy.Service {
		s := &policy.Service{MaxDataAge: config.Duration(maxAge)}
		for i, q := range queries {
			s.Metrics = append(s.Metrics, policy.Metric{Name: fmt.Sprint("m", i), Query: q, Target: 0.5})
		}
		return s
	}
	// Wait for the first scrape.
	for {
		o := p.Observe(ctx, svc(time.Minute, `test_utilization_ratio{service="api"}`))
		if o[0].Valid() {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no scrape: %+v\n%s", o, prom.LogTail(2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	tests := []struct {
		query   string
		maxAge  time.Duration
		problem string
		value   float64
	}{
		{`test_utilization_ratio{service="api"}`, time.Minute, "", 0.42},
		{`max(test_utilization_ratio)`, time.Minute, "", 0.42},
		{`test_utilization_ratio`, time.Minute, ProblemAmbiguous, 0},
		{`test_utilization_ratio{service="billing"}`, time.Minute, ProblemNoData, 0},
		{`test_nan_ratio`, time.Minute, ProblemNaN, 0},
		{`sum(rate(test_utilization_ratio[`, time.Minute, ProblemQueryError, 0},
		{`test_utilization_ratio{service="api"}`, time.Millisecond, ProblemStale, 0.42},
	}
	for _, tc := range tests {
		o := p.Observe(ctx, svc(tc.maxAge, tc.query))[0]
		if o.Problem != tc.problem {
			t.Errorf("%s (max age %s): problem %q (%s), want %q", tc.query, tc.maxAge, o.Problem, o.Detail, tc.problem)
			continue
		}
		if tc.problem == "" || tc.problem == ProblemStale {
			if o.Value != tc.value || time.Since(o.At) > 10*time.Second {
				t.Errorf("%s: value %v at %v", tc.query, o.Value, o.At)
			}
		}
	}
	// Prometheus gone: every metric says query_error, nothing is guessed.
	prom.Stop()
	o := p.Observe(ctx, svc(time.Minute, `test_utilization_ratio{service="api"}`, `max(test_utilization_ratio)`))
	for _, x := range o {
		if x.Problem != ProblemQueryError {
			t.Errorf("with Prometheus down: %+v", x)
		}
	}
}
