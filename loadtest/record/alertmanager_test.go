package record

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"

	"github.com/wedsync/scaling/core/devstack"
)

// In a real Alertmanager the regression alert of a benchmark lasts
// RegressionLifetime, is one alert however many regressed runs post it
// (the newest run in its annotations), and is resolved by Recovered.
func TestRegressionAlertLifetime(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	am, err := devstack.StartAlertmanager(ctx, devstack.ServerOptions{Config: []byte("route: {receiver: people}\nreceivers: [{name: people}]\n")})
	if err != nil {
		t.Fatal(err)
	}
	defer am.Close()
	a, err := NewAlertmanager([]string{am.URL()}, "")
	if err != nil {
		t.Fatal(err)
	}
	c := amclient.NewHTTPClientWithConfig(strfmt.Default, amclient.DefaultTransportConfig().
		WithHost(strings.TrimPrefix(am.URL(), "http://")).WithBasePath("/api/v2").WithSchemes([]string{"http"}))
	firing := func() map[string]string {
		t.Helper()
		resp, err := c.Alert.GetAlerts(alert.NewGetAlertsParamsWithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, al := range resp.Payload {
			if life := time.Until(time.Time(*al.EndsAt)); life < RegressionLifetime-time.Minute || life > RegressionLifetime {
				t.Errorf("%s ends in %s, want %s", al.Labels["benchmark"], life, RegressionLifetime)
			}
			out[al.Labels["benchmark"]] = al.Annotations["load_test_id"]
		}
		return out
	}
	reg := func(bench, id string) Regression {
		return Regression{Benchmark: bench, TestType: "baseline", LoadTestID: id, Target: "http://api",
			Comparison: Comparison{Regressed: true, BaselineBenchmarkID: "b0"}}
	}
	for _, r := range []Regression{reg("api", "run-1"), reg("search", "run-2"), reg("api", "run-3")} {
		if err := a.Regression(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if got := firing(); len(got) != 2 || got["api"] != "run-3" || got["search"] != "run-2" {
		t.Fatalf("firing after three regressed runs of two benchmarks: %v", got)
	}
	if err := a.Recovered(ctx, "api", "baseline", "run-4"); err != nil {
		t.Fatal(err)
	}
	if got := firing(); len(got) != 1 || got["search"] != "run-2" {
		t.Fatalf("firing after api passed: %v", got)
	}
}
