package wedsync

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/wedsync/scaling/core/store"
)

// Scaling shows what the autoscaler did and why: replicas and utilization
// over time with every scaling event as an annotation, the decisions, the
// event log with retry and rollback, and the growth phases.
func Scaling() *dashboard.DashboardBuilder {
	sel := serviceSel
	b := base("wedsync-scaling", "WedSync — Scaling", "now-24h", "now", "30s").
		Description("Replicas, utilization, learned bands, scaling events (annotations and log, with retry and rollback) and growth phases.").
		WithVariable(serviceVariable()).
		Annotation(dashboard.NewAnnotationQueryBuilder().Name("Scaling events").Datasource(pluginDS).Enable(true).
			IconColor("orange").Target(ws("Anno", "scaling_annotations", map[string]any{"limit": 500}))).
		WithPanel(timeseries.NewPanelBuilder().Title("Replicas").
			Description("Ready replicas (normalized series) and what the autoscaler's metrics call for before stabilization and bounds.").
			Datasource(promDS).
			WithTarget(prom("A", `max by (service) (service:replicas:count`+sel+`)`, "{{service}} ready")).
			WithTarget(prom("B", `max by (service) (wedsync_autoscaler_desired_replicas`+sel+`)`, "{{service}} desired")).
			WithTarget(prom("C", `max by (service) (wedsync_autoscaler_predicted_desired_replicas`+sel+`)`, "{{service}} predicted")).
			WithTarget(prom("D", `max by (service) (wedsync_autoscaler_scheduled_min_replicas`+sel+` > 0)`, "{{service}} scheduled minimum")).
			Unit("short").Decimals(0).Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Load: forecast vs actual, and capacity").
			Description("The request rate, what each forecaster expected within the lead (shown when the forecast was made), " +
				"and the capacity of the ready replicas (replicas × capacity per replica). Predictive scaling keeps capacity above the forecast.").
			Datasource(promDS).
			WithTarget(prom("A", `max by (service) (service:http_requests:rate`+sel+`)`, "{{service}} actual")).
			WithTarget(prom("B", `max by (service, forecaster) (wedsync_autoscaler_forecast_value`+sel+`)`, "{{service}} forecast ({{forecaster}})")).
			WithTarget(prom("C", `max by (service) (wedsync_autoscaler_replicas`+sel+` * on (service) group_left max by (service) (wedsync_autoscaler_capacity_per_replica`+sel+`))`,
				"{{service}} capacity")).
			Unit("reqps").Min(0).Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Forecast error at the lead").
			Description("Absolute percentage error of each forecaster's latest forecast whose window has passed, and the lead it looks ahead.").
			Datasource(promDS).
			WithTarget(prom("A", `max by (service, forecaster) (wedsync_autoscaler_forecast_error_ratio`+sel+`)`, "{{service}} {{forecaster}}")).
			Unit("percentunit").Min(0).Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("CPU and memory utilization").
			Datasource(promDS).
			WithTarget(prom("A", `max by (service) (service:cpu_utilization:ratio`+sel+`)`, "{{service}} CPU")).
			WithTarget(prom("B", `max by (service) (service:memory_utilization:ratio`+sel+`)`, "{{service}} memory")).
			Unit("percentunit").Min(0).Thresholds(steps("transparent", 0.8, "red")).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine)).Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("p95 latency").
			Description("p95 (solid) and p50 (dashed) response time of each service against the spec's 2 s.").
			Datasource(promDS).
			WithTarget(prom("A", `max by (service) (service:http_request_duration_seconds:p95`+sel+`)`, "{{service}} p95")).
			WithTarget(prom("B", `max by (service) (service:http_request_duration_seconds:p50`+sel+`)`, "{{service}} p50")).
			OverrideByRegexp(p50Series, []dashboard.DynamicConfigValue{lineWidth(1), dashed(10, 10)}).
			Unit("s").Thresholds(steps("transparent", 2.0, "red")).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine)).Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Decisions by outcome").
			Description("Why the autoscaler acted or held: scale, cooldown, stabilizing, no_data, at_bound, cost_ceiling, …").
			Datasource(promDS).WithTarget(prom("A", `sum by (outcome) (increase(wedsync_autoscaler_decisions_total`+sel+`[$__rate_interval]))`, "{{outcome}}")).
			Unit("short").DrawStyle(common.GraphDrawStyleBars).Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Scaling events per interval").
			Datasource(pluginDS).WithTarget(ws("A", "scaling_event_summary", map[string]any{"groupBy": "event_type"})).
			DrawStyle(common.GraphDrawStyleBars).Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Alerts asking for action").
			Datasource(promDS).WithTarget(prom("A", `count by (alertname) (ALERTS{alertstate="firing", scaling_action!=""})`, "{{alertname}}")).
			Unit("short").Decimals(0).DrawStyle(common.GraphDrawStyleBars).Height(8).Span(12))
	b = withBands(b, sel)
	return b.
		WithRow(row("Event log")).
		WithPanel(table.NewPanelBuilder().Title("Scaling events").
			Description("Newest first, every status. Retry and rollback are offered in the two tables below, on the events that take them.").
			Datasource(pluginDS).WithTarget(ws("A", "scaling_events", map[string]any{"limit": 200})).
			Overrides(eventOverrides()).Height(12).Span(24)).
		WithPanel(eventTable("Failed events: retry or roll back",
			"Retry re-applies a failed event's after state, roll back its before state, both through the autoscaler's current limits, "+
				"as a new logged event (Editor role). A retry that fails is a new failed event here.",
			store.StatusFailed, retryAction(), rollbackAction())).
		WithPanel(eventTable("Completed events: roll back",
			"Roll back re-applies a completed event's before state through the autoscaler's current limits, as a new logged event (Editor role).",
			store.StatusCompleted, rollbackAction())).
		WithPanel(table.NewPanelBuilder().Title("Growth phases").
			Datasource(pluginDS).WithTarget(ws("A", "growth_phases", nil)).Height(7).Span(24))
}

func eventOverrides() []cog.Builder[dashboard.DashboardFieldConfigSourceOverrides] {
	return append(hide("before", "after", "rollback_of"), unitFor("cost_impact_monthly", "currencyUSD"))
}

// eventTable is the event log filtered to one status, with the actions an
// event in that status takes: Grafana's table actions apply to every row,
// so the filter is what keeps retry off events that cannot be retried.
func eventTable(title, desc string, status store.EventStatus, actions ...cog.Builder[dashboard.Action]) *table.PanelBuilder {
	return table.NewPanelBuilder().Title(title).Description(desc).
		Datasource(pluginDS).WithTarget(ws("A", "scaling_events", map[string]any{"status": string(status), "limit": 200})).
		Overrides(eventOverrides()).Actions(actions).Height(9).Span(12)
}

// The Idempotency-Key is the event's: a double click acts once. A retry
// that fails again is a new event with its own id, retried by its own key.
func retryAction() cog.Builder[dashboard.Action] {
	return action("Retry", "events/${__data.fields.id}/retry",
		"Retry event ${__data.fields.id} (${__data.fields.service} ${__data.fields.event_type}): re-apply its after state?",
		"retry-${__data.fields.id}", `{"dry_run": false}`)
}

func rollbackAction() cog.Builder[dashboard.Action] {
	return action("Roll back", "events/${__data.fields.id}/rollback",
		"Roll back event ${__data.fields.id} (${__data.fields.service} ${__data.fields.event_type})?",
		"rollback-${__data.fields.id}", `{"dry_run": false}`)
}
