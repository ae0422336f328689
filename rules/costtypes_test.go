package rules

import (
	"slices"
	"testing"

	"github.com/wedsync/scaling/core/store"
)

// The cost alerts' cost_alert_type values are the store's list (the one the
// webhook, the admin API and the schema's CHECK use): a rule with a type
// the store does not know would be recorded as "unknown", flagged.
func TestCostAlertTypesAreTheStores(t *testing.T) {
	t.Parallel()
	for alert, typ := range costAlerts {
		if !slices.Contains(store.CostAlertTypes, typ) {
			t.Errorf("%s: cost_alert_type %q is not in store.CostAlertTypes %v", alert, typ, store.CostAlertTypes)
		}
	}
	for _, s := range []string{"info", "warning", "critical"} { // TestCostRulesContract's severities
		if !slices.Contains(store.Severities, s) {
			t.Errorf("severity %q is not in store.Severities", s)
		}
	}
}
