package wedsync

import (
	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/piechart"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Cost answers what the platform costs, who and what causes it, where it
// is heading, how it stands against its budgets, what looks abnormal, and
// what could be saved — with approve, implement and reject on each recommendation.
func Cost() *dashboard.DashboardBuilder {
	money := []cog.Builder[dashboard.DashboardFieldConfigSourceOverrides]{unitFor("change", "percentunit"),
		unitFor("budget_utilization", "percentunit"), unitFor("projected_budget_utilization", "percentunit")}
	breakdown := func(by string) *piechart.PanelBuilder {
		return piechart.NewPanelBuilder().Title("By " + by).
			Datasource(pluginDS).WithTarget(ws("A", "cost_breakdown", map[string]any{"groupBy": by, "interval": "total"})).
			WithTransformation(moneyAsNumbers("cost_breakdown")).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Values(true).Fields("/^cost$/").Calcs([]string{"lastNotNull"})).
			PieType(piechart.PieChartTypeDonut).Unit("currencyUSD").Height(8).Span(8)
	}
	return base("wedsync-cost", "WedSync — Cost", "now-30d", "now", "5m").
		Description("Cost by service, team and feature; trends, projections, budgets, anomalies and recommendations.").
		WithPanel(stat.NewPanelBuilder().Title("This month").
			Datasource(pluginDS).WithTarget(ws("A", "cost_current", nil)).
			WithTransformation(moneyAsNumbers("cost_current")).
			ReduceOptions(lastNotNull("/^(month_to_date|previous_month_to_date|change|month_projection|budget|budget_utilization)$/")).
			TextMode(common.BigValueTextModeValueAndName).Unit("currencyUSD").Overrides(money).Height(5).Span(16)).
		WithPanel(stat.NewPanelBuilder().Title("Projection (forecast)").
			Description("Month-end and next-month totals from core/projection (the month-end every screen shows; per-service methods chosen by back-testing).").
			Datasource(pluginDS).WithTarget(ws("A", "cost_projection", nil)).
			WithTransformation(moneyAsNumbers("cost_projection")).
			ReduceOptions(lastNotNull("/^(month_projection|next_month_projection|method)$/")).
			TextMode(common.BigValueTextModeValueAndName).Unit("currencyUSD").Height(5).Span(8)).
		WithRow(row("Trends")).
		WithPanel(timeseries.NewPanelBuilder().Title("Daily cost by service").
			Datasource(pluginDS).WithTarget(ws("A", "cost_trend", map[string]any{"groupBy": "service"})).
			WithTransformation(moneyAsNumbers("cost_trend")).
			Unit("currencyUSD").DrawStyle(common.GraphDrawStyleBars).Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).Height(8).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Daily cost and its forecast").
			Datasource(pluginDS).WithTarget(ws("A", "cost_projection", nil)).
			WithTransformation(moneyAsNumbers("cost_projection")).
			Unit("currencyUSD").Height(8).Span(12)).
		WithPanel(barchart.NewPanelBuilder().Title("Monthly cost by service, 12 months").
			Datasource(pluginDS).WithTarget(ws("A", "cost_breakdown", map[string]any{"groupBy": "service", "interval": "month"})).
			WithTransformation(moneyAsNumbers("cost_breakdown")).
			TimeFrom("12M").Stacking(common.StackingModeNormal).Unit("currencyUSD").Height(8).Span(24)).
		WithRow(row("Breakdown")).
		WithPanel(breakdown("service")).
		WithPanel(breakdown("team")).
		WithPanel(breakdown("feature")).
		WithRow(row("Budgets and anomalies")).
		WithPanel(table.NewPanelBuilder().Title("Budgets").
			Datasource(pluginDS).WithTarget(ws("A", "budgets", nil)).
			WithTransformation(moneyAsNumbers("budgets")).Height(7).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Budget utilization").
			Datasource(promDS).WithTarget(prom("A", `max by (budget) (wedsync_budget_utilization_ratio)`, "{{budget}}")).
			WithTarget(prom("B", `max by (budget) (wedsync_budget_projected_spend_usd / wedsync_budget_limit_usd)`, "{{budget}} projected")).
			Unit("percentunit").Thresholds(steps("transparent", 1.0, "red")).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine)).Height(7).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Daily cost against its baseline").
			Description("Yesterday's cost per service beside its mean over the baseline days: a spike shows as a gap.").
			Datasource(promDS).
			WithTarget(prom("A", `sum by (service) (wedsync_cost_daily_usd)`, "{{service}}")).
			WithTarget(prom("B", `sum by (service) (wedsync_cost_daily_baseline_usd)`, "{{service}} baseline")).
			Unit("currencyUSD").Height(7).Span(12)).
		WithPanel(table.NewPanelBuilder().Title("Cost alerts").
			Datasource(pluginDS).WithTarget(ws("A", "cost_alerts", map[string]any{"limit": 100})).
			Overrides(hide("id")).Height(7).Span(12)).
		WithRow(row("Recommendations")).
		WithPanel(table.NewPanelBuilder().Title("Optimization recommendations").
			Description("Negative impact is a saving; an unpriced service's is unknown. Approve, then implement, or reject with a reason (Editor role); each goes through the control-plane API. Implemented only once its action completed at the target: last_error says why an attempt did not.").
			Datasource(pluginDS).WithTarget(ws("A", "recommendations", map[string]any{"allTime": true, "limit": 200})).
			WithTransformation(moneyAsNumbers("recommendations")).
			Overrides(hide("description")).
			Actions([]cog.Builder[dashboard.Action]{
				action("Approve", "recommendations/${__data.fields.id}/approve", "Approve “${__data.fields.title}”?", "approve-${__data.fields.id}", ""),
				action("Implement", "recommendations/${__data.fields.id}/implement", "Implement “${__data.fields.title}” now?", "implement-${__data.fields.id}", ""),
				// The API requires a reason: Grafana asks for it (an action
				// variable) before the call.
				action("Reject", "recommendations/${__data.fields.id}/reject", "Reject “${__data.fields.title}”?", "reject-${__data.fields.id}",
					`{"reason": "${reason}"}`).
					Variables([]cog.Builder[dashboard.ActionVariable]{dashboard.NewActionVariableBuilder().Key("reason").Name("Why reject it")}),
			}).Height(9).Span(24))
}
