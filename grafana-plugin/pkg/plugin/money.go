package plugin

import "github.com/wedsync/scaling/grafana-plugin/pkg/models"

// MoneyField is a frame field that carries money as a decimal string.
type MoneyField struct {
	Name string
	// Nullable fields hold null for an unknown amount. The dashboards leave
	// them as text: Grafana 12.3's convertFieldType turns a null into 0
	// (grafana/grafana#120862, fixed after 12.3), and unknown is not $0.
	Nullable bool
}

// MoneyFields are, by query type, the fields of its frames that carry
// money. The dashboards convert the non-nullable ones to numbers for their
// panels (dashboards/wedsync); TestMoneyFields checks the list against the
// frames the queries return.
var MoneyFields = map[string][]MoneyField{
	models.QueryCostCurrent:     {{Name: "day"}, {Name: "month_to_date"}, {Name: "previous_month_to_date"}, {Name: "month_projection"}, {Name: "budget"}},
	models.QueryCostTrend:       {{Name: "cost"}},
	models.QueryCostBreakdown:   {{Name: "cost"}},
	models.QueryCostProjection:  {{Name: "actual"}, {Name: "projected"}, {Name: "month_to_date"}, {Name: "month_projection"}, {Name: "next_month_projection"}},
	models.QueryBudgets:         {{Name: "limit"}, {Name: "spend"}, {Name: "projected_spend", Nullable: true}},
	models.QueryRecommendations: {{Name: "estimated_monthly_impact", Nullable: true}, {Name: "actual_impact", Nullable: true}},
	models.QueryScalingEvents:   {{Name: "cost_impact_monthly", Nullable: true}},
}
