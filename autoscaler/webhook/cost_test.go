package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/webhook"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// costPayload turns the recorded Alertmanager payload into a cost alert of
// the contract (docs/contracts.md).
func costPayload(t testing.TB, edit func(labels, annotations map[string]any)) string {
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
	alerts, rejected, err := webhook.DecodeCost([]byte(costPayload(t, nil)))
	if err != nil || len(alerts) != 1 || len(rejected) != 0 {
		t.Fatalf("%v %v %v", alerts, rejected, err)
	}
	a := alerts[0]
	if a.Type != "budget_threshold" || a.Budget != "platform-monthly" || a.ThresholdPercent.Decimal.String() != "75" ||
		a.CurrentValue.Decimal.String() != "0.7712" || a.Message != "Budget platform-monthly passed 75%: spend 771.20 of 1000.00" ||
		*a.CurrentValueText != "0.7712" || *a.ThresholdPercentText != "75" || len(a.Flags) != 0 {
		t.Fatalf("alert = %+v", a)
	}
	// Whatever a label or the value says, the alert is kept: as received,
	// with a null number and a flag where it cannot be stored exactly.
	kept := []struct {
		name                 string
		edit                 func(l, an map[string]any)
		typ, sev, value, thr string // "" is a null number
		valueText            string
		flags                []string
	}{
		{"a large value", func(l, an map[string]any) { an["value"] = "2.4e+12" }, "budget_threshold", "warning", "2400000000000", "75", "2.4e+12", nil},
		{"a value beyond float64", func(l, an map[string]any) { an["value"] = "1e400" }, "budget_threshold", "warning", "", "75", "1e400", []string{"current_value:out_of_range"}},
		{"a threshold beyond float64", func(l, an map[string]any) { l["threshold_percent"] = "1e400" }, "budget_threshold", "warning", "0.7712", "", "0.7712", []string{"threshold_percent:out_of_range"}},
		{"NaN", func(l, an map[string]any) { an["value"] = "NaN" }, "budget_threshold", "warning", "", "75", "NaN", []string{"current_value:not_finite"}},
		{"+Inf", func(l, an map[string]any) { an["value"] = "+Inf" }, "budget_threshold", "warning", "", "75", "+Inf", []string{"current_value:not_finite"}},
		{"humanized", func(l, an map[string]any) { an["value"] = "2.4T" }, "budget_threshold", "warning", "", "75", "2.4T", []string{"current_value:not_a_number"}},
		{"too many digits", func(l, an map[string]any) { an["value"] = "0." + strings.Repeat("3", 1001) }, "budget_threshold", "warning", "", "75", "0." + strings.Repeat("3", 1001), []string{"current_value:too_precise"}},
		{"threshold not a number", func(l, an map[string]any) { l["threshold_percent"] = "most" }, "budget_threshold", "warning", "0.7712", "", "0.7712", []string{"threshold_percent:not_a_number"}},
		{"no value, no threshold", func(l, an map[string]any) { delete(an, "value"); delete(l, "threshold_percent") }, "budget_threshold", "warning", "", "", "", nil},
		{"unknown type", func(l, an map[string]any) { l["cost_alert_type"] = "weather" }, "unknown", "warning", "0.7712", "75", "0.7712", []string{"alert_type:unknown"}},
		{"no type", func(l, an map[string]any) { delete(l, "cost_alert_type") }, "unknown", "warning", "0.7712", "75", "0.7712", []string{"alert_type:unknown"}},
		{"unknown severity", func(l, an map[string]any) { l["severity"] = "page"; an["value"] = "NaN" }, "budget_threshold", "unknown", "", "75", "NaN", []string{"current_value:not_finite", "severity:unknown"}},
	}
	for _, tc := range kept {
		alerts, rejected, err := webhook.DecodeCost([]byte(costPayload(t, tc.edit)))
		if err != nil || len(alerts) != 1 || len(rejected) != 0 {
			t.Errorf("%s: %v %v %v", tc.name, alerts, rejected, err)
			continue
		}
		a := alerts[0]
		str := func(d decimal.NullDecimal) string {
			if !d.Valid {
				return ""
			}
			return d.Decimal.String()
		}
		vt := ""
		if a.CurrentValueText != nil {
			vt = *a.CurrentValueText
		}
		if a.Type != tc.typ || a.Severity != tc.sev || str(a.CurrentValue) != tc.value || str(a.ThresholdPercent) != tc.thr || vt != tc.valueText || !slices.Equal(a.Flags, tc.flags) {
			t.Errorf("%s: type %s severity %s value %q threshold %q text %.20q flags %v", tc.name, a.Type, a.Severity, str(a.CurrentValue), str(a.ThresholdPercent), vt, a.Flags)
		}
	}
	// Only what is not an Alertmanager notification is refused (400), and
	// a notification with no alert that can be a row (422).
	good := costPayload(t, nil)
	refused := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"malformed", "{", 400, "malformed JSON"},
		{"not an object", "[]", 400, "malformed JSON"},
		{"trailing data", good + "{}", 400, "data after the top-level object"},
		{"version", strings.Replace(good, `"version":"4"`, `"version":"3"`, 1), 400, `version: "3" is not supported`},
		{"no alerts", `{"version":"4","status":"firing"}`, 400, "alerts: required"},
		{"empty alerts", `{"version":"4","status":"firing","alerts":[]}`, 400, "alerts: empty"},
		{"alerts not an array", `{"version":"4","status":"firing","alerts":{}}`, 400, "field alerts: got a JSON object"},
		{"no alert can be a row", strings.Replace(good, `"status":"firing"}`, `"status":"pending"}`, 1), 422, `alerts[0].status: "pending" is not firing or resolved`},
	}
	for _, tc := range refused {
		_, _, err := webhook.DecodeCost([]byte(tc.body))
		var we *webhook.Error
		if !errors.As(err, &we) || we.Status != tc.status || !strings.Contains(we.Msg, tc.msg) {
			t.Errorf("%s: err = %v, want %d %q", tc.name, err, tc.status, tc.msg)
		}
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
	got, err := st.ListCostAlerts(context.Background(), store.CostAlertFilter{})
	if err != nil || len(got) != 1 || len(seen) != 2 {
		t.Fatalf("cost alerts %d (%v), callbacks %d", len(got), err, len(seen))
	}
	// A scaling alert sent to the cost endpoint is an alert all the same:
	// kept, flagged as of no cost type, for someone to fix the route.
	// (Another fingerprint: costPayload reuses the fixture's.)
	scaling := strings.Replace(string(fixture(t, "am-0.25-firing.json")), `"fingerprint":"6edfc6f66b9dc150"`, `"fingerprint":"0000000000000001"`, 1)
	if w := post(h.Costs(), "s3cret", scaling); w.Code != http.StatusOK {
		t.Fatalf("a scaling alert on the cost endpoint: %d %s", w.Code, w.Body)
	}
	got, _ = st.ListCostAlerts(context.Background(), store.CostAlertFilter{Type: "unknown"})
	if len(got) != 1 || !slices.Equal(got[0].Flags, []string{"alert_type:unknown"}) || got[0].TypeText == nil || *got[0].TypeText != "" {
		t.Fatalf("scaling alert as a cost alert: %+v", got)
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

// mixedPayload is the recorded 0.25 payload with its alert replaced by
// five cost alerts: a large value, values beyond float64, NaN, an unknown
// type, a normal one; plus one that cannot be a row (no startsAt).
func mixedPayload(t testing.TB) string {
	t.Helper()
	var m map[string]any
	json.Unmarshal(fixture(t, "am-0.25-firing.json"), &m)
	tmpl := m["alerts"].([]any)[0].(map[string]any)
	var alerts []any
	for i, x := range []struct{ name, typ, threshold, value string }{
		{"CostSpike", "cost_spike", "", "2.4e+12"},
		{"CostBudgetThresholdCrossed", "budget_threshold", "1e400", "1e400"},
		{"UsageSpike", "usage_spike", "", "NaN"},
		{"WeatherCost", "weather", "", "3"},
		{"CostProjectedOverBudget", "projected_overrun", "100", "1.25"},
		{"NoStart", "cost_spike", "", "1"},
	} {
		a := maps.Clone(tmpl)
		labels := map[string]any{"alertname": x.name, "cost_alert_type": x.typ, "severity": "warning", "service": "openai"}
		if x.threshold != "" {
			labels["threshold_percent"] = x.threshold
		}
		a["labels"], a["annotations"] = labels, map[string]any{"summary": x.name, "value": x.value}
		a["fingerprint"] = fmt.Sprintf("%016x", i+1)
		if x.name == "NoStart" {
			a["startsAt"] = "0001-01-01T00:00:00Z"
		}
		alerts = append(alerts, a)
	}
	m["alerts"] = alerts
	b, _ := json.Marshal(m)
	return string(b)
}

// The five rows of a mixed notification are testdata/cost-mixed.golden.json
// (id and created_at left out); the alert that cannot be a row is listed,
// the answer is 200, and the second delivery adds nothing.
func TestCostEndpointMixedNotification(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	reg := prometheus.NewRegistry()
	h, err := webhook.New(webhook.Config{Recorder: st, Costs: st, Known: known, Token: "s3cret", Logger: discardLogger(), Reg: reg})
	if err != nil {
		t.Fatal(err)
	}
	body := mixedPayload(t)
	for i, want := range []string{"accepted", "duplicate"} {
		w := post(h.Costs(), "s3cret", body)
		var resp struct {
			Status        string
			Alerts        int
			Rejected      []webhook.Rejected
			RejectedCount int `json:"rejected_count"`
		}
		json.Unmarshal(w.Body.Bytes(), &resp)
		if w.Code != http.StatusOK || resp.Status != want || resp.Alerts != 5 || resp.RejectedCount != 1 ||
			resp.Rejected[0].Index != 5 || !strings.Contains(resp.Rejected[0].Error, "alerts[5].startsAt: required") {
			t.Fatalf("delivery %d: %d %s", i+1, w.Code, w.Body)
		}
	}
	got, err := st.ListCostAlerts(context.Background(), store.CostAlertFilter{})
	if err != nil || len(got) != 5 {
		t.Fatalf("%d rows, %v", len(got), err)
	}
	slices.SortFunc(got, func(a, b store.CostAlert) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	for i := range got {
		got[i].ID, got[i].CreatedAt = "", time.Time{}
	}
	b, _ := json.MarshalIndent(got, "", "  ")
	golden(t, "cost-mixed.golden.json", append(b, '\n'))
	// The refused alert is counted once, not again for the duplicate.
	if v := counterValue(t, reg, "wedsync_autoscaler_alerts_rejected_total"); v != 1 {
		t.Fatalf("alerts_rejected_total = %v", v)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n%s", name, got)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// poisoned refuses, as the database would, every batch holding the alert
// with its fingerprint: a refusal decoding did not foresee.
type poisoned struct {
	*store.Store
	fingerprint string
}

func (p poisoned) RecordCostAlerts(ctx context.Context, alerts []store.CostAlert) (int, error) {
	for _, a := range alerts {
		if a.Fingerprint == p.fingerprint {
			return 0, fmt.Errorf("record cost alerts: %w: new row violates check constraint", store.ErrInvalid)
		}
	}
	return p.Store.RecordCostAlerts(ctx, alerts)
}

// When the database refuses one alert of a notification, its neighbours
// are recorded all the same, the refused one is listed without the
// database's text, and a notification it refuses whole is a 500 (a bug of
// ours: Alertmanager retries) with no database text either.
func TestCostEndpointDatabaseRefusesOne(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	h, err := webhook.New(webhook.Config{Recorder: st, Costs: poisoned{st, fmt.Sprintf("%016x", 3)}, Known: known, Token: "s3cret", Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	w := post(h.Costs(), "s3cret", mixedPayload(t))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"rejected_count":2`) ||
		!strings.Contains(w.Body.String(), "alerts[2]: refused by the database") || strings.Contains(w.Body.String(), "constraint") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if got, _ := st.ListCostAlerts(context.Background(), store.CostAlertFilter{}); len(got) != 4 {
		t.Fatalf("%d rows, want the 4 neighbours", len(got))
	}
	only := costPayload(t, nil)
	h, _ = webhook.New(webhook.Config{Recorder: st, Costs: poisoned{st, "6edfc6f66b9dc150"}, Known: known, Token: "s3cret", Logger: discardLogger()})
	if w := post(h.Costs(), "s3cret", only); w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "constraint") {
		t.Fatalf("refused whole: %d %s", w.Code, w.Body)
	}
}

// FuzzDecodeCost: any body is decoded or refused with a 4xx, never a
// panic; a decoded alert's number is either the exact reading of its text
// or null with that field's flag, and its type and severity are the
// contract's or "unknown", flagged.
func FuzzDecodeCost(f *testing.F) {
	f.Add([]byte(costPayload(f, nil)))
	f.Add([]byte(mixedPayload(f)))
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{}]}`))
	f.Add([]byte(`{"version":"4","alerts":[{"status":"firing","startsAt":"2026-01-01T00:00:00Z","labels":{"threshold_percent":"1e99999999999"},"annotations":{"value":"-0e-5"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		alerts, _, err := webhook.DecodeCost(body)
		if err != nil {
			var we *webhook.Error
			if !errors.As(err, &we) || we.Status < 400 || we.Status > 499 {
				t.Fatalf("error %v is not a 4xx webhook.Error", err)
			}
			return
		}
		for _, a := range alerts {
			for _, n := range []struct {
				field string
				d     decimal.NullDecimal
				text  *string
			}{{store.FieldCurrentValue, a.CurrentValue, a.CurrentValueText}, {store.FieldThresholdPercent, a.ThresholdPercent, a.ThresholdPercentText}} {
				flagged := slices.ContainsFunc(a.Flags, func(f string) bool { return strings.HasPrefix(f, n.field+":") })
				switch {
				case n.text == nil && (n.d.Valid || flagged):
					t.Fatalf("%s without text: %v %v", n.field, n.d, a.Flags)
				case n.text != nil && n.d.Valid == flagged:
					t.Fatalf("%s %q: number %v and flags %v", n.field, *n.text, n.d, a.Flags)
				case n.d.Valid:
					if d, _ := store.ParseReceivedNumber(*n.text); !d.Decimal.Equal(n.d.Decimal) {
						t.Fatalf("%s %q read as %s", n.field, *n.text, n.d.Decimal)
					}
				}
			}
			if slices.Contains(store.CostAlertTypes, a.Type) == slices.Contains(a.Flags, store.FlagUnknownType) ||
				slices.Contains(store.Severities, a.Severity) == slices.Contains(a.Flags, store.FlagUnknownSeverity) {
				t.Fatalf("type %q severity %q flags %v", a.Type, a.Severity, a.Flags)
			}
			if a.Fingerprint == "" || a.StartsAt.IsZero() || !slices.IsSorted(a.Flags) {
				t.Fatalf("alert %+v", a)
			}
		}
	})
}
