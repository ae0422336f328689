package wedsync

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/gauge"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Overview answers the spec's questions at a glance: is the platform
// healthy, fast (p95 under 2 s), within its database and memory, how many
// users and requests, where it is in its growth phase, what this month
// costs against its budget, and whether metric collection is reliable.
func Overview() *dashboard.DashboardBuilder {
	b := base("wedsync-overview", "WedSync — Overview", "now-6h", "now", "30s").
		Description("Health, performance, SLOs, growth, cost, collection reliability and learned bands of the WedSync platform.").
		WithVariable(serviceVariable()).
		WithPanel(stat.NewPanelBuilder().Title("Health score (live)").
			Description("The control plane's health score (0–100: every signal under half its threshold is 100), streamed over Grafana Live every 2 s.").
			Datasource(pluginDS).WithTarget(ws("A", "health", nil)).
			ReduceOptions(lastNotNull("/^health_score$/")).Min(0).Max(100).
			Thresholds(steps("red", 50.0, "orange", 80.0, "green")).
			ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeArea).Height(6).Span(4)).
		WithPanel(stat.NewPanelBuilder().Title("API p95 (worst service)").
			Description("95th percentile latency of the slowest service against the spec's 2 s.").
			Datasource(promDS).WithTarget(promInstant("A", `max(service:http_request_duration_seconds:p95)`, "")).
			Unit("s").Decimals(2).Thresholds(steps("green", 1.0, "orange", 2.0, "red")).
			ColorMode(common.BigValueColorModeBackground).Height(6).Span(4)).
		WithPanel(stat.NewPanelBuilder().Title("Growth phase").
			Description("The active growth phase, users counted and how far they are through it.").
			Datasource(pluginDS).WithTarget(ws("A", "growth_progress", nil)).
			ReduceOptions(lastNotNull("/^(phase|users|progress)$/")).TextMode(common.BigValueTextModeValueAndName).Height(6).Span(8)).
		WithPanel(stat.NewPanelBuilder().Title("Metric collection reliability (30 days)").
			Description("Share of successful scrapes over 30 days (from the hourly job:up:avg_1h series) against the spec's 99.9 %.").
			Datasource(promDS).WithTarget(promInstant("A", `avg(avg_over_time(job:up:avg_1h[30d]))`, "")).
			Unit("percentunit").Decimals(3).Thresholds(steps("red", 0.999, "green")).
			ColorMode(common.BigValueColorModeBackground).Height(6).Span(8)).
		WithRow(row("Performance")).
		WithPanel(timeseries.NewPanelBuilder().Title("API p95 latency against 2 s").
			Description("p95 (solid) and p50 (dashed) response time of each service against the spec's 2 s.").
			Datasource(promDS).
			WithTarget(prom("A", `max by (service) (service:http_request_duration_seconds:p95)`, "{{service}} p95")).
			WithTarget(prom("B", `max by (service) (service:http_request_duration_seconds:p50)`, "{{service}} p50")).
			OverrideByRegexp(p50Series, []dashboard.DynamicConfigValue{lineWidth(1), dashed(10, 10)}).
			Unit("s").Thresholds(steps("transparent", 2.0, "red")).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine)).Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Requests per minute").
			Datasource(promDS).WithTarget(prom("A", `sum by (service) (service:http_requests:rate) * 60`, "{{service}}")).
			Unit("reqpm").Height(8).Span(12)).
		WithPanel(gauge.NewPanelBuilder().Title("Database CPU").
			Datasource(promDS).WithTarget(promInstant("A", `max by (service) (db:cpu_utilization:ratio)`, "{{service}}")).
			Unit("percentunit").Min(0).Max(1).Thresholds(steps("green", 0.6, "orange", 0.7, "red")).Height(6).Span(6)).
		WithPanel(gauge.NewPanelBuilder().Title("Database connections").
			Datasource(promDS).WithTarget(promInstant("A", `max by (service) (db:connections:ratio)`, "{{service}}")).
			Unit("percentunit").Min(0).Max(1).Thresholds(steps("green", 0.7, "orange", 0.8, "red")).Height(6).Span(6)).
		WithPanel(gauge.NewPanelBuilder().Title("Memory").
			Datasource(promDS).WithTarget(promInstant("A", `max by (service) (service:memory_utilization:ratio)`, "{{service}}")).
			Unit("percentunit").Min(0).Max(1).Thresholds(steps("green", 0.8, "orange", 0.9, "red")).Height(6).Span(6)).
		WithPanel(stat.NewPanelBuilder().Title("Active users").
			Datasource(promDS).WithTarget(promInstant("A", `max(wedsync_users{state="active"})`, "")).
			Unit("short").GraphMode(common.BigValueGraphModeArea).Height(6).Span(6)).
		WithRow(row("Service level objectives")).
		WithPanel(stat.NewPanelBuilder().Title("Error budget remaining").
			Description("Share of each SLO's error budget left over its 30-day period (availability: 5xx answers; latency: slower than 2 s). " +
				"Below 0 the budget is overspent.").
			Datasource(promDS).WithTarget(promInstant("A", `min by (service, slo) (slo:period_error_budget_remaining:ratio)`, "{{service}} {{slo}}")).
			ReduceOptions(lastNotNull("")).Unit("percentunit").Decimals(1).Thresholds(steps("red", 0.0, "orange", 0.25, "green")).
			ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeNone).
			TextMode(common.BigValueTextModeValueAndName).Height(8).Span(10)).
		WithPanel(timeseries.NewPanelBuilder().Title("Error budget burn rate").
			Description("How fast each SLO spends its budget now (error ratio over 5 minutes ÷ budget): 1 spends it exactly over the period; " +
				"the fast-burn page starts at 14.4 (sustained over 1 h).").
			Datasource(promDS).WithTarget(prom("A", `max by (service, slo) (slo:current_burn_rate:ratio)`, "{{service}} {{slo}}")).
			Unit("short").Min(0).Thresholds(steps("transparent", 1.0, "orange", 14.4, "red")).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine)).Height(8).Span(14)).
		WithRow(row("Growth and cost")).
		WithPanel(gauge.NewPanelBuilder().Title("Progress through the growth phase").
			Datasource(promDS).WithTarget(promInstant("A", `max by (phase) (wedsync_growth_phase_progress_ratio)`, "{{phase}}")).
			Unit("percentunit").Min(0).Max(1).Thresholds(steps("green", 0.8, "orange", 1.0, "red")).Height(6).Span(8)).
		WithPanel(stat.NewPanelBuilder().Title("This month: cost, budget, projection").
			Description("Month to date, the monthly budget and the projection to the month's end (core/projection: the figure the Cost dashboard, the exporter and the admin API show), through the plugin.").
			Datasource(pluginDS).WithTarget(ws("A", "cost_current", nil)).
			WithTransformation(moneyAsNumbers("cost_current")).
			ReduceOptions(lastNotNull("/^(month_to_date|budget|month_projection|budget_utilization)$/")).
			TextMode(common.BigValueTextModeValueAndName).Unit("currencyUSD").
			Overrides([]cog.Builder[dashboard.DashboardFieldConfigSourceOverrides]{unitFor("budget_utilization", "percentunit")}).Height(6).Span(16))
	return withBands(b, serviceSel)
}
