// Package wedsync defines the five WedSync Scaling dashboards as code
// (grafana-foundation-sdk): Overview, Scaling, Cost, Load testing and
// Capacity. cmd/dashgen writes them to dist/; nothing there is edited by hand.
package wedsync

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"

	"github.com/wedsync/scaling/grafana-plugin/pkg/plugin"
)

// Datasource uids, as compose/grafana/provisioning names them.
const (
	PrometheusUID = "prometheus"
	PluginUID     = "wedsync-scaling"
	PluginType    = "wedsync-scaling-datasource"
)

var (
	promDS   = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr(PrometheusUID)}
	pluginDS = common.DataSourceRef{Type: cog.ToPtr(PluginType), Uid: cog.ToPtr(PluginUID)}
)

// PluginQuery is a query of the wedsync-scaling-datasource: its query type
// and the model fields of that type (grafana-plugin/pkg/models), flat in
// the JSON as Grafana stores them.
type PluginQuery struct {
	RefID     string
	QueryType string
	Model     map[string]any
}

var _ variants.Dataquery = PluginQuery{}

func (PluginQuery) ImplementsDataqueryVariant() {}

func (PluginQuery) DataqueryType() string { return PluginType }

func (q PluginQuery) Validate() error {
	if q.RefID == "" || q.QueryType == "" {
		return errors.New("plugin query: refId and queryType are required")
	}
	return nil
}

func (q PluginQuery) Equals(other variants.Dataquery) bool {
	o, ok := other.(PluginQuery)
	return ok && q.RefID == o.RefID && q.QueryType == o.QueryType && reflect.DeepEqual(q.Model, o.Model)
}

func (q PluginQuery) MarshalJSON() ([]byte, error) {
	m := maps.Clone(q.Model)
	if m == nil {
		m = map[string]any{}
	}
	m["refId"], m["queryType"], m["datasource"] = q.RefID, q.QueryType, pluginDS
	return json.Marshal(m)
}

type pluginQueryBuilder struct{ q PluginQuery }

func (b pluginQueryBuilder) Build() (variants.Dataquery, error) { return b.q, b.q.Validate() }

// ws is a plugin query.
func ws(refID, queryType string, model map[string]any) cog.Builder[variants.Dataquery] {
	return pluginQueryBuilder{PluginQuery{RefID: refID, QueryType: queryType, Model: model}}
}

// prom is a Prometheus range query.
func prom(refID, expr, legend string) *prometheus.DataqueryBuilder {
	b := prometheus.NewDataqueryBuilder().RefId(refID).Expr(expr).Datasource(promDS).Range()
	if legend != "" {
		b = b.LegendFormat(legend)
	}
	return b
}

// promInstant is a Prometheus instant query (stats, gauges, tables).
func promInstant(refID, expr, legend string) *prometheus.DataqueryBuilder {
	b := prometheus.NewDataqueryBuilder().RefId(refID).Expr(expr).Datasource(promDS).Instant()
	if legend != "" {
		b = b.LegendFormat(legend)
	}
	return b
}

// moneyAsNumbers is the convertFieldType transformation that turns the
// plugin's decimal-string money fields of these query types into numbers
// for a panel to draw (the frames stay exact; the number is for display).
// Nullable money fields are left as text: Grafana 12.3 converts a null to 0
// (grafana/grafana#120862), and an unknown amount must not read as $0.
func moneyAsNumbers(queryTypes ...string) dashboard.DataTransformerConfig {
	var conv []map[string]any
	seen := map[string]bool{}
	for _, qt := range queryTypes {
		for _, m := range plugin.MoneyFields[qt] {
			if m.Nullable || seen[m.Name] {
				continue
			}
			seen[m.Name] = true
			conv = append(conv, map[string]any{"targetField": m.Name, "destinationType": "number"})
		}
	}
	return dashboard.DataTransformerConfig{Id: "convertFieldType", Options: map[string]any{"fields": map[string]any{}, "conversions": conv}}
}
