package wedsync

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// LoadTesting shows the runs, the latest against its baseline, the
// regressions, the benchmark history, and a run in progress live.
func LoadTesting() *dashboard.DashboardBuilder {
	return base("wedsync-load-testing", "WedSync — Load testing", "now-30d", "now", "30s").
		Description("Load test runs, results, baseline comparison, regressions and benchmark history.").
		WithPanel(table.NewPanelBuilder().Title("Runs").
			Description("Newest first. Run again starts the same built-in scenario against the same target; Cancel stops a running test (Editor role).").
			Datasource(pluginDS).WithTarget(ws("A", "load_tests", map[string]any{"limit": 100})).
			Overrides(hide("target_url", "initiated_by", "started_at")).
			Actions([]cog.Builder[dashboard.Action]{
				action("Cancel", "load-tests/${__data.fields.id}/cancel", "Cancel load test ${__data.fields.name}?", "cancel-${__data.fields.id}", ""),
				action("Run again", "load-tests", "Start a ${__data.fields.test_type} test against ${__data.fields.target_url}?", "rerun-${__data.fields.id}",
					`{"scenario": "${__data.fields.test_type}", "target": "${__data.fields.target_url}", "name": "${__data.fields.name}"}`),
			}).Height(10).Span(24)).
		WithPanel(table.NewPanelBuilder().Title("Latest run against its baseline").
			Description("Each figure of the newest completed run beside its baseline; regressed beyond the tolerance in red.").
			Datasource(pluginDS).WithTarget(ws("A", "load_test_results", nil)).Height(8).Span(12)).
		WithPanel(stat.NewPanelBuilder().Title("Regressions in range").
			Datasource(pluginDS).WithTarget(ws("A", "load_tests", map[string]any{"status": "completed", "limit": 1000})).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"sum"}).Fields("/^regressed$/")).
			Thresholds(steps("green", 1.0, "red")).ColorMode(common.BigValueColorModeBackground).Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Benchmark history").
			Datasource(pluginDS).WithTarget(ws("A", "benchmarks", map[string]any{"limit": 1000})).
			Unit("ms").ShowPoints(common.VisibilityModeAlways).Overrides([]cog.Builder[dashboard.DashboardFieldConfigSourceOverrides]{
			unitFor("throughput_rps", "reqps"), unitFor("error_rate", "percentunit")}).Height(8).Span(24)).
		WithRow(row("Run in progress (wedsync-load metrics)")).
		WithPanel(timeseries.NewPanelBuilder().Title("Requests and failures per second").
			Datasource(promDS).
			WithTarget(prom("A", `sum(rate(wedsync_load_requests_total[$__rate_interval]))`, "requests")).
			WithTarget(prom("B", `sum(rate(wedsync_load_request_failures_total[$__rate_interval]))`, "failures")).
			Unit("reqps").Height(8).Span(8)).
		WithPanel(timeseries.NewPanelBuilder().Title("Latency").
			Datasource(promDS).WithTarget(prom("A", `max by (quantile) (wedsync_load_request_duration_seconds)`, "p{{quantile}}")).
			Unit("s").Height(8).Span(8)).
		WithPanel(timeseries.NewPanelBuilder().Title("Virtual users and thresholds").
			Datasource(promDS).
			WithTarget(prom("A", `sum(wedsync_load_vus)`, "VUs")).
			WithTarget(prom("B", `min by (metric, threshold) (wedsync_load_threshold_passing)`, "{{metric}} {{threshold}}")).
			Height(8).Span(8))
}
