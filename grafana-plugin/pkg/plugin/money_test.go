package plugin_test

import (
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/grafana-plugin/pkg/plugin"
)

// checkMoney holds a query's frames to plugin.MoneyFields: every field in a
// currency unit is listed for its query type, carries decimal strings
// (never a float), and is nullable exactly when the list says so; so the
// dashboards, which convert from that list, convert every money field and
// never a null.
func checkMoney(t *testing.T, queryType string, frames data.Frames) {
	t.Helper()
	listed := map[string]plugin.MoneyField{}
	for _, m := range plugin.MoneyFields[queryType] {
		listed[m.Name] = m
	}
	for _, f := range frames {
		for _, fl := range f.Fields {
			m, ok := listed[fl.Name]
			isCurrency := fl.Config != nil && strings.HasPrefix(fl.Config.Unit, "currency")
			if !ok {
				if isCurrency {
					t.Errorf("%s: %s.%s is in %s but not in plugin.MoneyFields", queryType, f.Name, fl.Name, fl.Config.Unit)
				}
				continue
			}
			if !isCurrency {
				t.Errorf("%s: money field %s.%s has no currency unit", queryType, f.Name, fl.Name)
			}
			switch fl.Type() {
			case data.FieldTypeString:
				if m.Nullable {
					t.Errorf("%s: %s.%s listed nullable, frame says not", queryType, f.Name, fl.Name)
				}
			case data.FieldTypeNullableString:
				if !m.Nullable {
					t.Errorf("%s: %s.%s is nullable: the dashboards would convert its nulls to 0", queryType, f.Name, fl.Name)
				}
			default:
				t.Errorf("%s: money field %s.%s is %s, not a decimal string", queryType, f.Name, fl.Name, fl.Type())
				continue
			}
			for i := range fl.Len() {
				v, ok := fl.ConcreteAt(i)
				if !ok {
					continue
				}
				if _, err := decimal.NewFromString(v.(string)); err != nil {
					t.Errorf("%s: %s.%s[%d] = %q is not a decimal", queryType, f.Name, fl.Name, i, v)
				}
			}
		}
	}
}
