package wedsync

import (
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Capacity looks ahead: each resource's utilization with its 3-month
// forecast, when each runs out, and the year behind (hourly series).
func Capacity() *dashboard.DashboardBuilder {
	forecast := func(resource string) *timeseries.PanelBuilder {
		return timeseries.NewPanelBuilder().Title("Forecast: " + resource).
			Datasource(pluginDS).WithTarget(ws("A", "capacity_forecast", map[string]any{"resource": resource, "horizonDays": 90})).
			Unit("percentunit").Min(0).Thresholds(steps("transparent", 1.0, "red")).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine)).Height(8).Span(12)
	}
	return base("wedsync-capacity", "WedSync — Capacity", "now-90d", "now+90d", "15m").
		Description("3-month capacity forecasts, exhaustion dates and the year at hourly resolution.").
		WithPanel(table.NewPanelBuilder().Title("When each resource runs out").
			Datasource(pluginDS).WithTarget(ws("A", "capacity_exhaustion", nil)).Height(7).Span(16)).
		WithPanel(bargauge.NewPanelBuilder().Title("Days left (exporter)").
			Datasource(promDS).WithTarget(promInstant("A", `min by (resource, service) (wedsync_capacity_exhaustion_eta_seconds) / 86400`, "{{resource}} {{service}}")).
			Unit("d").Min(0).Max(365).Thresholds(steps("red", 30.0, "orange", 90.0, "green")).Height(7).Span(8)).
		WithPanel(forecast("database_connections")).
		WithPanel(forecast("database_storage")).
		WithPanel(forecast("bandwidth")).
		WithPanel(timeseries.NewPanelBuilder().Title("Utilization now (exporter)").
			Datasource(promDS).WithTarget(prom("A", `max by (resource, service) (wedsync_capacity_utilization_ratio)`, "{{resource}} {{service}}")).
			Unit("percentunit").Height(8).Span(12)).
		WithRow(row("The year behind (hourly series)")).
		WithPanel(timeseries.NewPanelBuilder().Title("Users").
			Datasource(promDS).WithTarget(prom("A", `max by (state) (max_over_time(wedsync:users:max_1h[$__interval]))`, "{{state}}")).
			TimeFrom("1y").Interval("1h").Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Worst p95 per hour").
			Datasource(promDS).WithTarget(prom("A", `max by (service) (max_over_time(service:http_request_duration_seconds_p95:max_1h[$__interval]))`, "{{service}}")).
			TimeFrom("1y").Interval("1h").Unit("s").Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Requests per second (hourly mean)").
			Datasource(promDS).WithTarget(prom("A", `sum by (service) (avg_over_time(service:http_requests:avg_rate_1h[$__interval]))`, "{{service}}")).
			TimeFrom("1y").Interval("1h").Unit("reqps").Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Database: CPU and connections, with 3-month trend").
			Datasource(promDS).
			WithTarget(prom("A", `max by (service) (avg_over_time(db:cpu_utilization:avg_1h[$__interval]))`, "{{service}} CPU")).
			WithTarget(prom("B", `max by (service) (max_over_time(db:connections:max_1h[$__interval]))`, "{{service}} connections")).
			WithTarget(prom("C", `max by (service) (predict_linear(db:connections:max_1h[30d], 90 * 86400))`, "{{service}} connections in 90 days")).
			TimeFrom("1y").Interval("1h").Unit("percentunit").Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Replicas and CPU (hourly mean)").
			Datasource(promDS).
			WithTarget(prom("A", `max by (service) (avg_over_time(service:replicas:avg_1h[$__interval]))`, "{{service}} replicas")).
			WithTarget(prom("B", `max by (service) (avg_over_time(service:cpu_utilization:avg_1h[$__interval]))`, "{{service}} CPU")).
			TimeFrom("1y").Interval("1h").Height(8).Span(24))
}
