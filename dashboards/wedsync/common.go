package wedsync

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Dashboard is one generated dashboard and the file it is written to.
type Dashboard struct {
	File    string
	Builder *dashboard.DashboardBuilder
}

// All returns the five dashboards.
func All() []Dashboard {
	return []Dashboard{
		{"overview.json", Overview()},
		{"scaling.json", Scaling()},
		{"cost.json", Cost()},
		{"load-testing.json", LoadTesting()},
		{"capacity.json", Capacity()},
	}
}

func base(uid, title, from, to, refresh string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Tags([]string{"wedsync", "scaling"}).
		Editable().
		Time(from, to).
		Refresh(refresh).
		Timezone(common.TimeZoneBrowser).
		Links([]cog.Builder[dashboard.DashboardLink]{
			dashboard.NewDashboardLinkBuilder("WedSync Scaling").Type(dashboard.DashboardLinkTypeDashboards).
				Tags([]string{"wedsync"}).AsDropdown(true).IncludeVars(false).KeepTime(true),
		})
}

// steps are threshold steps: a base colour, then (value, colour) pairs.
func steps(baseColor string, pairs ...any) cog.Builder[dashboard.ThresholdsConfig] {
	s := []dashboard.Threshold{{Color: baseColor}}
	for i := 0; i+1 < len(pairs); i += 2 {
		v := pairs[i].(float64)
		s = append(s, dashboard.Threshold{Value: &v, Color: pairs[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(s)
}

// resource is the URL of one of the plugin's resource routes, as a table
// action calls it through Grafana (which checks the user's session and
// passes the user's role to the plugin).
func resource(path string) string {
	return "/api/datasources/uid/" + PluginUID + "/resources/" + path
}

// action is a table action that POSTs to a plugin resource; the row's id
// makes the Idempotency-Key, so a double click acts once.
func action(title, path, confirm, key, body string) *dashboard.ActionBuilder {
	fetch := dashboard.NewFetchOptionsBuilder().
		Method(dashboard.HttpRequestMethodPOST).
		Url(resource(path)).
		Headers([][]string{{"Content-Type", "application/json"}, {"Idempotency-Key", key}})
	if body != "" {
		fetch = fetch.Body(body)
	}
	return dashboard.NewActionBuilder().Type(dashboard.ActionTypeFetch).Title(title).Confirmation(confirm).Fetch(fetch)
}

func lastNotNull(fields string) cog.Builder[common.ReduceDataOptions] {
	b := common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})
	if fields != "" {
		b = b.Fields(fields)
	}
	return b
}

func row(title string) *dashboard.RowBuilder { return dashboard.NewRowBuilder(title) }

func hide(names ...string) []cog.Builder[dashboard.DashboardFieldConfigSourceOverrides] {
	var out []cog.Builder[dashboard.DashboardFieldConfigSourceOverrides]
	for _, n := range names {
		out = append(out, dashboard.NewDashboardFieldConfigSourceOverridesBuilder().
			Matcher(dashboard.MatcherConfig{Id: "byName", Options: n}).
			Properties([]dashboard.DynamicConfigValue{{Id: "custom.hidden", Value: true}}))
	}
	return out
}

// unitFor overrides the unit of one field.
func unitFor(name, unit string) cog.Builder[dashboard.DashboardFieldConfigSourceOverrides] {
	return dashboard.NewDashboardFieldConfigSourceOverridesBuilder().
		Matcher(dashboard.MatcherConfig{Id: "byName", Options: name}).
		Properties([]dashboard.DynamicConfigValue{{Id: "unit", Value: unit}})
}

// p50Series matches the p50 series of a latency panel (legend "… p50"),
// drawn thin and dashed beside the solid p95.
const p50Series = "/ p50$/"

func fixedColor(c string) dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": c}}
}

// dashed is a dashed line: dash and gap lengths.
func dashed(dash ...float64) dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": dash}}
}

func lineWidth(w float64) dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: "custom.lineWidth", Value: w}
}
