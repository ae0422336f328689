package wedsync_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/wedsync/scaling/dashboards/wedsync"
	"github.com/wedsync/scaling/grafana-plugin/pkg/plugin"
)

type moneyPanel struct {
	Title   string           `json:"title"`
	Targets []map[string]any `json:"targets"`
	Options struct {
		ReduceOptions struct {
			Fields string `json:"fields"`
		} `json:"reduceOptions"`
	} `json:"options"`
	Transformations []struct {
		ID      string `json:"id"`
		Options struct {
			Conversions []struct {
				TargetField     string `json:"targetField"`
				DestinationType string `json:"destinationType"`
			} `json:"conversions"`
		} `json:"options"`
	} `json:"transformations"`
}

func moneyPanels(t *testing.T) map[string][]moneyPanel {
	t.Helper()
	files, err := wedsync.Render()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]moneyPanel{}
	for name, b := range files {
		var d struct {
			Panels []moneyPanel `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = d.Panels
	}
	return out
}

// The plugin's money arrives as decimal strings: every panel reading a
// query with money converts each of its non-nullable money fields to a
// number (or a stat, a chart and a pie would draw nothing), and never a
// nullable one (Grafana 12.3 would show its nulls as 0).
func TestMoneyFieldsConverted(t *testing.T) {
	t.Parallel()
	for file, panels := range moneyPanels(t) {
		for _, p := range panels {
			converted := map[string]bool{}
			for _, tr := range p.Transformations {
				if tr.ID != "convertFieldType" {
					continue
				}
				for _, c := range tr.Options.Conversions {
					converted[c.TargetField] = c.DestinationType == "number"
				}
			}
			for _, tg := range p.Targets {
				qt, _ := tg["queryType"].(string)
				for _, m := range plugin.MoneyFields[qt] {
					if got := converted[m.Name]; got == m.Nullable {
						t.Errorf("%s %q (%s): money field %s converted to number = %v, nullable = %v", file, p.Title, qt, m.Name, got, m.Nullable)
					}
				}
			}
		}
	}
}

// One month-end on every screen: every panel that shows a month's projected
// total reads month_projection of cost_current or cost_projection for the
// whole platform (no filter), both of which the plugin takes from
// core/projection's overall figure (the agreement of the two, the API and
// the exporter is tested in compose). The Overview and the Cost dashboard
// both have one.
func TestOneMonthEnd(t *testing.T) {
	t.Parallel()
	where := map[string]int{}
	for file, panels := range moneyPanels(t) {
		for _, p := range panels {
			if !regexp.MustCompile(`month_projection`).MatchString(p.Options.ReduceOptions.Fields) {
				continue
			}
			where[file]++
			for _, tg := range p.Targets {
				qt, _ := tg["queryType"].(string)
				filtered := false
				for _, k := range []string{"service", "team", "feature", "currency"} {
					filtered = filtered || tg[k] != nil && tg[k] != ""
				}
				if qt != "cost_current" && qt != "cost_projection" || filtered {
					t.Errorf("%s %q: month-end from %s %v, not the platform's cost_current/cost_projection", file, p.Title, qt, tg)
				}
			}
		}
	}
	if where["overview.json"] == 0 || where["cost.json"] == 0 {
		t.Errorf("month-end panels per dashboard: %v, want the Overview and the Cost dashboard", where)
	}
}
