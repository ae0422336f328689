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
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
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
