package wedsync

import (
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// serviceSel selects the services of the $service variable; "All" is .+.
const serviceSel = `{service=~"$service"}`

// serviceVariable is the dashboards' $service: one or more services, or
// all of them.
func serviceVariable() *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder("service").Label("Service").
		Datasource(promDS).Query(dashboard.StringOrMap{String: cog.ToPtr("label_values(service:replicas:count, service)")}).
		Multi(true).IncludeAll(true).AllValue(".+").Refresh(dashboard.VariableRefreshOnTimeRangeChanged)
}

// Signal is one series the recording rules (rules/, baseline.rules.yml)
// learn a band for: label signal of baseline:level, baseline:expected,
// baseline:upper_band and baseline:lower_band.
type Signal struct {
	Name  string // the signal label
	Title string // what the series is, for the panel title and legend
	Unit  string
}

// Signals are the series drawn against their learned bands.
var Signals = []Signal{
	{"request_rate", "Request rate", "reqps"},
	{"latency_p95", "p95 latency", "s"},
	{"error_ratio", "Error ratio", "percentunit"},
	{"cpu", "CPU utilization", "percentunit"},
}

// The display names of a band panel's series (one service per panel: the
// row repeats per service), which the fill between the band's edges refers to.
const (
	BandUpper    = "upper band"
	BandLower    = "lower band"
	BandExpected = "expected"
)

// withLabel adds a matcher to a selector: {a="b"} + c="d" is {a="b", c="d"}.
func withLabel(sel, matcher string) string {
	inner := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(sel, "{"), "}"))
	if inner == "" {
		return "{" + matcher + "}"
	}
	return "{" + inner + ", " + matcher + "}"
}

var (
	bandColor  = "rgba(138, 184, 255, 0.6)" // light blue, see-through
	levelColor = "blue"
)

// bandPanel draws a signal of the services sel selects against its learned
// band the Grafana way: the band's edges as thin dashed lines in a
// see-through colour with the area between them filled (fillBelowTo from
// the upper edge to the lower), the midline dashed, the series itself solid
// and drawn last, on top.
func bandPanel(s Signal, sel string) *timeseries.PanelBuilder {
	m := withLabel(sel, `signal="`+s.Name+`"`)
	return timeseries.NewPanelBuilder().Title(s.Title+" against its learned band").
		Description("The series (solid) inside the band learned from its own history (baseline:* recording rules): "+
			"the recent hour and the same hour a day and a week ago, ± twice the deviation or a floor. "+
			"Outside the band for a while is an early warning.").
		Datasource(promDS).
		WithTarget(prom("A", `max by (service) (baseline:upper_band`+m+`)`, BandUpper)).
		WithTarget(prom("B", `min by (service) (baseline:lower_band`+m+`)`, BandLower)).
		WithTarget(prom("C", `max by (service) (baseline:expected`+m+`)`, BandExpected)).
		WithTarget(prom("D", `max by (service) (baseline:level`+m+`)`, s.Title)).
		Unit(s.Unit).Min(0).LineWidth(2).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderNone)).
		OverrideByName(BandUpper, []dashboard.DynamicConfigValue{
			fixedColor(bandColor), lineWidth(1), dashed(10, 10),
			{Id: "custom.fillBelowTo", Value: BandLower}, {Id: "custom.fillOpacity", Value: 20},
		}).
		OverrideByName(BandLower, []dashboard.DynamicConfigValue{fixedColor(bandColor), lineWidth(1), dashed(10, 10)}).
		OverrideByName(BandExpected, []dashboard.DynamicConfigValue{fixedColor(bandColor), lineWidth(1), dashed(2, 4)}).
		OverrideByName(s.Title, []dashboard.DynamicConfigValue{fixedColor(levelColor)}).
		Height(8).Span(6)
}

// withBands adds a row per service of $service (a repeated row) holding
// each signal against its learned band.
func withBands(b *dashboard.DashboardBuilder, sel string) *dashboard.DashboardBuilder {
	b = b.WithRow(row("Learned bands: $service").Repeat("service"))
	for _, s := range Signals {
		b = b.WithPanel(bandPanel(s, sel))
	}
	return b
}
