package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/wedsync/scaling/autoscaler/webhook"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// costPayload turns the recorded Alertmanager payload into a cost alert of
// the contract (docs/contracts.md).
func costPayload(t *testing.T, edit func(labels, annotations map[string]any)) string {
	t.Helper()
	var m map[string]any
	json.Unmarshal(fixture(t, "am-0.25-firing.json"), &m)
	a := m["alerts"].([]any)[0].(map[string]any)
	labels := map[string]any{"alertname": "BudgetThresholdCrossed", "cost_alert_type": "budget_threshold", "severity": "warning",
		"budget": "platform-monthly", "service": "openai", "threshold_percent": "75"}
	annotations := map[string]any{"summary": "Budget platform-monthly passed 75%", "description": "spend 771.20 of 1000.00", "value": "0.7712", "threshold": "0.75"}
	if edit != nil {
		edit(labels, annotations)
	}
	a["labels"], a["annotations"] = labels, annotations
	b, _ := json.Marshal(m)
	return string(b)
}

func TestDecodeCost(t *testing.T) {
	t.Parallel()
	alerts, err := webhook.DecodeCost([]byte(costPayload(t, nil)))
	if err != nil || len(alerts) != 1 {
		t.Fatalf("%v %v", alerts, err)
	}
	a := alerts[0]
	if a.Type != "budget_threshold" || a.Budget != "platform-monthly" || a.ThresholdPercent.Decimal.String() != "75" ||
		a.CurrentValue.Decimal.String() != "0.7712" || a.Message != "Budget platform-monthly passed 75%: spend 771.20 of 1000.00" {
		t.Fatalf("alert = %+v", a)
	}
	bad := []struct {
		edit   func(l, an map[string]any)
		status int
		msg    string
	}{
		{func(l, an map[string]any) { delete(l, "cost_alert_type") }, 422, `labels.cost_alert_type: "" is not a cost alert type`},
		{func(l, an map[string]any) { l["cost_alert_type"] = "weather" }, 422, `"weather" is not a cost alert type`},
		{func(l, an map[string]any) { l["severity"] = "page" }, 422, `labels.severity: "page" is not info, warning or critical`},
		{func(l, an map[string]any) { l["threshold_percent"] = "most" }, 422, `labels.threshold_percent: "most" is not a number`},
	}
	for _, tc := range bad {
		_, err := webhook.DecodeCost([]byte(costPayload(t, tc.edit)))
		var we *webhook.Error
		if !errors.As(err, &we) || we.Status != tc.status || !strings.Contains(we.Msg, tc.msg) {
			t.Errorf("err = %v, want %d %q", err, tc.status, tc.msg)
		}
	}
	// A value Prometheus printed as +Inf is kept out of current_value, not refused.
	alerts, err = webhook.DecodeCost([]byte(costPayload(t, func(l, an map[string]any) { an["value"] = "+Inf" })))
	if err != nil || alerts[0].CurrentValue.Valid {
		t.Fatalf("+Inf: %+v %v", alerts, err)
	}
}

func TestCostEndpointRecordsOnce(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	var seen [][]store.CostAlert
	h, err := webhook.New(webhook.Config{Recorder: st, Costs: st, Known: known, Token: "s3cret", Logger: discardLogger(),
		OnCost: func(a []store.CostAlert) { seen = append(seen, a) }})
	if err != nil {
		t.Fatal(err)
	}
	body := costPayload(t, nil)
	for i, want := range []string{`"status":"accepted"`, `"status":"duplicate"`} {
		w := post(h.Costs(), "s3cret", body)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
			t.Fatalf("delivery %d: %d %s", i+1, w.Code, w.Body)
		}
	}
	if w := post(h.Costs(), "", body); w.Code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", w.Code)
	}
	if w := post(h.Costs(), "s3cret", string(fixture(t, "am-0.25-firing.json"))); w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("a scaling alert on the cost endpoint: %d %s", w.Code, w.Body)
	}
	got, err := st.ListCostAlerts(context.Background(), store.CostAlertFilter{})
	if err != nil || len(got) != 1 || len(seen) != 2 {
		t.Fatalf("cost alerts %d (%v), callbacks %d", len(got), err, len(seen))
	}
}

// BillingSourceDown (rules/dist/*/cost.rules.yml) is recorded like any
// other cost alert, under its billing source's name.
func TestCostEndpointRecordsBillingSourceDown(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	h, err := webhook.New(webhook.Config{Recorder: st, Costs: st, Known: known, Token: "s3cret", Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	body := costPayload(t, func(l, an map[string]any) {
		for k := range l {
			delete(l, k)
		}
		l["alertname"], l["cost_alert_type"], l["severity"], l["source"] = "BillingSourceDown", "billing_source_down", "warning", "twilio"
		an["summary"], an["description"], an["value"], an["threshold"] = "Billing source twilio has been failing for 3h", "stale", "0", "3h of failed refreshes"
	})
	if w := post(h.Costs(), "s3cret", body); w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	got, err := st.ListCostAlerts(context.Background(), store.CostAlertFilter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("cost alerts %v (%v)", got, err)
	}
	if a := got[0]; a.Type != "billing_source_down" || a.Service != "twilio" || a.Budget != "" || a.Status != "firing" {
		t.Fatalf("recorded %+v", a)
	}
}
