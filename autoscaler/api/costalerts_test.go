package api_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
)

func strp(s string) *string { return &s }

// The list and get routes show what a cost alert received and its flags,
// and ?flagged= selects the alerts someone must look at.
func TestCostAlertRoutesShowWhatWasReceived(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	if _, err := f.st.RecordCostAlerts(ctx, []store.CostAlert{
		{Fingerprint: "big", StartsAt: start, Type: "cost_spike", TypeText: strp("cost_spike"), Severity: "warning", SeverityText: strp("warning"),
			CurrentValue: decimal.NewNullDecimal(decimal.RequireFromString("2400000000000")), CurrentValueText: strp("2.4e+12"), Message: "big", Status: "firing"},
		{Fingerprint: "odd", StartsAt: start.Add(-time.Minute), Type: store.CostAlertUnknown, TypeText: strp("weather"), Severity: "warning", SeverityText: strp("warning"),
			CurrentValueText: strp("1e400"), ThresholdPercentText: strp("NaN"), Message: "odd", Status: "firing",
			Flags: []string{"alert_type:unknown", "current_value:out_of_range", "threshold_percent:not_finite"}},
	}); err != nil {
		t.Fatal(err)
	}
	list := f.do(store.RoleViewer, "GET", "/api/admin/costs/alerts", "")
	items, _ := list.body["items"].([]any)
	if list.status != 200 || len(items) != 2 {
		t.Fatalf("list: %d %s", list.status, list.raw)
	}
	big, odd := items[0].(map[string]any), items[1].(map[string]any)
	if big["current_value"] != "2400000000000" || big["current_value_text"] != "2.4e+12" || len(big["flags"].([]any)) != 0 {
		t.Fatalf("big: %v", big)
	}
	if odd["alert_type"] != "unknown" || odd["alert_type_text"] != "weather" || odd["current_value"] != nil || odd["current_value_text"] != "1e400" ||
		odd["threshold_percent"] != nil || odd["threshold_percent_text"] != "NaN" || fmt.Sprint(odd["flags"]) != "[alert_type:unknown current_value:out_of_range threshold_percent:not_finite]" {
		t.Fatalf("odd: %v", odd)
	}
	for q, want := range map[string][]string{"flagged=true": {"odd"}, "flagged=false": {"big"}, "alert_type=unknown": {"odd"}, "alert_type=cost_spike": {"big"}} {
		r := f.do(store.RoleViewer, "GET", "/api/admin/costs/alerts?"+q, "")
		var got []string
		for _, it := range r.body["items"].([]any) {
			got = append(got, it.(map[string]any)["fingerprint"].(string))
		}
		if r.status != 200 || !slices.Equal(got, want) {
			t.Errorf("%s: %d %v, want %v", q, r.status, got, want)
		}
	}
	one := f.do(store.RoleViewer, "GET", "/api/admin/costs/alerts/"+odd["id"].(string), "")
	if one.status != 200 || one.body["current_value_text"] != "1e400" || one.body["alert_type_text"] != "weather" {
		t.Fatalf("get: %d %s", one.status, one.raw)
	}
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", "not-a-uuid"} {
		if r := f.do(store.RoleViewer, "GET", "/api/admin/costs/alerts/"+id, ""); r.status != 404 {
			t.Errorf("get %s: %d %s", id, r.status, r.raw)
		}
	}
	if r := f.do(store.RoleViewer, "GET", "/api/admin/costs/alerts?flagged=yes", ""); r.status != 400 || r.errField("field") != "flagged" {
		t.Errorf("flagged=yes: %d %s", r.status, r.raw)
	}
}

// The API's alert_type values are the store's list (which the schema's
// CHECK is tested against) plus unknown, in the route and in the document.
func TestCostAlertTypesOneOwner(t *testing.T) {
	t.Parallel()
	doc, _ := openAPISpec(t)
	want := append(slices.Clone(store.CostAlertTypes), store.CostAlertUnknown)
	slices.Sort(want)
	enum := func(vs []any) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.(string))
		}
		slices.Sort(out)
		return out
	}
	for _, p := range doc.Paths.Find("/api/admin/costs/alerts").Get.Parameters {
		if p.Value.Name == "alert_type" && !slices.Equal(enum(p.Value.Schema.Value.Enum), want) {
			t.Errorf("alert_type parameter enum %v, want %v", enum(p.Value.Schema.Value.Enum), want)
		}
	}
	ca := doc.Components.Schemas["CostAlert"].Value
	if got := enum(ca.Properties["alert_type"].Value.Enum); !slices.Equal(got, want) {
		t.Errorf("CostAlert.alert_type enum %v, want %v", got, want)
	}
	sev := append(slices.Clone(store.Severities), store.CostAlertUnknown)
	slices.Sort(sev)
	if got := enum(ca.Properties["severity"].Value.Enum); !slices.Equal(got, sev) {
		t.Errorf("CostAlert.severity enum %v, want %v", got, sev)
	}
	flags := slices.Sorted(slices.Values(store.CostAlertFlags))
	if got := enum(ca.Properties["flags"].Value.Items.Value.Enum); !slices.Equal(got, flags) {
		t.Errorf("CostAlert.flags enum %v, want %v", got, flags)
	}
}

// Budget money: exact to the currency's minor unit, refused (400 naming
// the field, no database text) rather than rounded or overflowed.
func TestBudgetMoneyInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	n := 0
	body := func(limit, currency string) string {
		n++
		s := fmt.Sprintf(`{"budget_name": "b%d", "budget_limit": %q`, n, limit)
		if currency != "" {
			s += fmt.Sprintf(`, "currency": %q`, currency)
		}
		return s + "}"
	}
	tests := []struct {
		name, limit, currency string
		status                int
		field, msg, stored    string
	}{
		{"cents", "1500.25", "", 201, "", "", "1500.25"},
		{"whole", "1500", "USD", 201, "", "", "1500.00"},
		{"exponent form", "1.5e3", "USD", 201, "", "", "1500.00"},
		{"three decimals in KWD", "0.001", "KWD", 201, "", "", "0.001"},
		{"no decimals in JPY", "1500", "JPY", 201, "", "", "1500"},
		{"largest", "999999999999.99", "USD", 201, "", "", "999999999999.99"},
		{"a tenth of a cent", "0.001", "USD", 400, "budget_limit", "more decimal places than USD's 2", ""},
		{"yen has no decimals", "1500.5", "JPY", 400, "budget_limit", "more decimal places than JPY's 0", ""},
		{"1e400", "1e400", "", 400, "budget_limit", "is not below 1000000000000", ""},
		{"10^12", "1000000000000", "", 400, "budget_limit", "is not below", ""},
		{"huge exponent", "1e99999999999", "", 400, "budget_limit", "not a positive decimal", ""},
		{"tiny", "1e-400", "", 400, "budget_limit", "more decimal places", ""},
		{"not a number", "lots", "", 400, "budget_limit", "not a positive decimal", ""},
		{"NaN", "NaN", "", 400, "budget_limit", "not a positive decimal", ""},
		{"Infinity", "Infinity", "", 400, "budget_limit", "not a positive decimal", ""},
		{"empty", "", "", 400, "budget_limit", "not a positive decimal", ""},
		{"negative", "-5", "", 400, "budget_limit", "not a positive decimal", ""},
		{"zero", "0", "", 400, "budget_limit", "not a positive decimal", ""},
		{"zero with decimals", "0.00", "", 400, "budget_limit", "not a positive decimal", ""},
		{"unknown currency", "10", "ABC", 400, "currency", "not a currency of ISO 4217", ""},
		{"lower case currency", "10", "usd", 400, "currency", "three upper-case letters", ""},
		{"not a code", "10", "DOLLARS", 400, "currency", "three upper-case letters", ""},
	}
	for _, tc := range tests {
		r := f.do(store.RoleAdmin, "POST", "/api/admin/costs/budgets", body(tc.limit, tc.currency))
		if r.status != tc.status || r.errField("field") != tc.field || !strings.Contains(r.errField("message"), tc.msg) ||
			tc.stored != "" && r.body["budget_limit"] != tc.stored || leaksDB(r.raw) {
			t.Errorf("%s: %d %s", tc.name, r.status, r.raw)
		}
	}
	// An update is held to the stored budget's currency.
	usd := f.do(store.RoleAdmin, "POST", "/api/admin/costs/budgets", body("10", "USD"))
	kwd := f.do(store.RoleAdmin, "POST", "/api/admin/costs/budgets", body("10", "KWD"))
	for _, tc := range []struct {
		id, limit string
		status    int
		stored    string
	}{
		{usd.body["id"].(string), "0.001", 400, ""},
		{usd.body["id"].(string), "1e400", 400, ""},
		{usd.body["id"].(string), "0", 400, ""},
		{usd.body["id"].(string), "12.34", 200, "12.34"},
		{kwd.body["id"].(string), "0.001", 200, "0.001"},
		{kwd.body["id"].(string), "0.0001", 400, ""},
	} {
		r := f.do(store.RoleAdmin, "PUT", "/api/admin/costs/budgets/"+tc.id, fmt.Sprintf(`{"budget_limit": %q}`, tc.limit))
		if r.status != tc.status || tc.status == 400 && r.errField("field") != "budget_limit" || tc.stored != "" && r.body["budget_limit"] != tc.stored || leaksDB(r.raw) {
			t.Errorf("update to %s: %d %s", tc.limit, r.status, r.raw)
		}
	}
	// Nothing refused was written.
	budgets, err := f.st.ListBudgets(context.Background(), false)
	if err != nil || len(budgets) != 8 {
		t.Fatalf("%d budgets, %v; want the 6 accepted and 2 for updates", len(budgets), err)
	}
}

func leaksDB(s string) bool {
	for _, w := range []string{"SQLSTATE", "constraint", "violates", "numeric field overflow", "ERROR:"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// ?currency= on every route that takes it: an unknown code is a 400 naming
// it, not an empty answer that reads as no cost.
func TestCurrencyParameter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	doc, _ := openAPISpec(t)
	seen := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.Value.Name != "currency" || p.Value.In != "query" {
					continue
				}
				seen++
				for code, want := range map[string]int{"ABC": 400, "usd": 400, "EUR": 200} {
					r := f.do(store.RoleViewer, method, path+"?currency="+url.QueryEscape(code), "")
					if r.status != want || want == 400 && r.errField("field") != "currency" {
						t.Errorf("%s %s?currency=%s: %d %s", method, path, code, r.status, r.raw)
					}
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no route documents ?currency=")
	}
}

// Every route that takes from/to refuses a range that ends before it
// starts (and an empty one), naming from: found from the document, so a
// new route is covered.
func TestRangesEndAfterTheyStart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	doc, _ := openAPISpec(t)
	seen := 0
	for path, item := range doc.Paths.Map() {
		op := item.Get
		if op == nil {
			continue
		}
		takes := map[string]bool{}
		for _, p := range op.Parameters {
			takes[p.Value.Name] = true
		}
		if !takes["from"] || !takes["to"] {
			continue
		}
		seen++
		q := url.Values{}
		if path == "/api/admin/scaling/metrics/history" {
			q.Set("metric", "cpu_utilization")
			q.Set("service", "api")
		}
		for _, r := range [][2]string{{"2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z"}, {"2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z"}} {
			q.Set("from", r[0])
			q.Set("to", r[1])
			resp := f.do(store.RoleViewer, "GET", path+"?"+q.Encode(), "")
			if resp.status != 400 || resp.errField("field") != "from" || !strings.Contains(resp.errField("message"), "must be before to") {
				t.Errorf("GET %s from %s to %s: %d %s", path, r[0], r[1], resp.status, resp.raw)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("only %d routes take from and to", seen)
	}
}
