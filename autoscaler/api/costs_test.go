package api_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
)

func TestCostRoutes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if err := f.st.SeedSyntheticCosts(ctx, []string{"openai", "vercel"}, []string{"api"}, today.AddDate(0, 0, -200), today); err != nil {
		t.Fatal(err)
	}
	// Budgets: bad input, then one that exists, then edits.
	bad := []struct {
		method, path, body string
		status             int
		field, msg         string
	}{
		{"POST", "/api/admin/costs/budgets", `{"budget_name": "x"}`, 400, "budget_limit", "required"},
		{"POST", "/api/admin/costs/budgets", `{"budget_name": "x", "budget_limit": "-5"}`, 400, "budget_limit", "not a positive decimal"},
		{"POST", "/api/admin/costs/budgets", `{"budget_name": "x", "budget_limit": 1500}`, 400, "budget_limit", "got a JSON number"},
		{"POST", "/api/admin/costs/budgets", `{"budget_name": "x", "budget_limit": "10", "period": "daily"}`, 400, "period", "not monthly, quarterly or yearly"},
		{"POST", "/api/admin/costs/budgets", `{"budget_name": "x", "budget_limit": "10", "alert_thresholds": [0]}`, 400, "alert_thresholds", "not a percentage"},
		{"POST", "/api/admin/costs/budgets", `{"budget_limit": "10"}`, 400, "budget_name", "required"},
		{"PUT", "/api/admin/costs/budgets/00000000-0000-0000-0000-000000000000", `{"budget_limit": "10"}`, 404, "", "not found"},
		{"GET", "/api/admin/costs/trends?granularity=hour", ``, 400, "granularity", "not one of"},
		{"GET", "/api/admin/costs/alerts?alert_type=weather", ``, 400, "alert_type", "not one of"},
	}
	for _, tc := range bad {
		r := f.do(store.RoleAdmin, tc.method, tc.path, tc.body)
		if r.status != tc.status || r.errField("field") != tc.field || !strings.Contains(r.errField("message"), tc.msg) {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, r.status, r.raw)
		}
	}
	if r := f.do(store.RoleOperator, "POST", "/api/admin/costs/budgets", `{"budget_name": "o", "budget_limit": "10"}`); r.status != 403 {
		t.Fatalf("operator creates a budget: %d", r.status)
	}
	b := f.do(store.RoleAdmin, "POST", "/api/admin/costs/budgets", `{"budget_name": "openai-monthly", "service_name": "openai", "budget_limit": "1500.00"}`)
	if b.status != 201 || b.body["budget_limit"] != "1500.00" {
		t.Fatalf("create: %d %s", b.status, b.raw)
	}
	if r := f.do(store.RoleAdmin, "POST", "/api/admin/costs/budgets", `{"budget_name": "openai-monthly", "budget_limit": "9"}`); r.status != 409 || r.errField("state") != "exists" {
		t.Fatalf("create twice: %d %s", r.status, r.raw)
	}
	if r := f.do(store.RoleAdmin, "PUT", "/api/admin/costs/budgets/"+b.body["id"].(string), `{"budget_limit": "1800.00", "alert_thresholds": [80, 100]}`); r.status != 200 || r.body["budget_limit"] != "1800.00" {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
	if r := f.do(store.RoleAdmin, "PUT", "/api/admin/costs/budgets/"+b.body["id"].(string), `{"service_name": "x"}`); r.status != 400 {
		t.Fatalf("changing what defines a budget: %d %s", r.status, r.raw)
	}

	cur := f.do(store.RoleViewer, "GET", "/api/admin/costs/current", "")
	if cur.status != 200 || len(cur.body["services"].([]any)) != 2 || len(cur.body["budgets"].([]any)) != 1 {
		t.Fatalf("current: %d %s", cur.status, cur.raw)
	}
	bv := cur.body["budgets"].([]any)[0].(map[string]any)
	if bv["projected_spend"] == nil || !strings.Contains(bv["projected_spend"].(string), ".") {
		t.Fatalf("budget without projection: %v", bv)
	}
	// The projection's back-test score is a decimal string in [0,1] too.
	if c, ok := bv["projection_confidence"].(string); !ok || !regexp.MustCompile(`^(0\.\d{3}|1\.000)$`).MatchString(c) {
		t.Fatalf("budget projection_confidence = %#v", bv["projection_confidence"])
	}
	tr := f.do(store.RoleViewer, "GET", "/api/admin/costs/trends?granularity=month&service=openai&from="+today.AddDate(0, -2, 0).Format(time.RFC3339), "")
	if tr.status != 200 || len(tr.body["points"].([]any)) < 2 || len(tr.body["points"].([]any)) > 3 {
		t.Fatalf("trends: %d %s", tr.status, tr.raw)
	}
	pj := f.do(store.RoleViewer, "GET", "/api/admin/costs/projections", "")
	svcs := pj.body["services"].([]any)
	if pj.status != 200 || len(svcs) != 2 || svcs[0].(map[string]any)["projected"].(map[string]any)["year"] == nil {
		t.Fatalf("projections: %d %s", pj.status, pj.raw)
	}
	if c, ok := svcs[0].(map[string]any)["confidence"].(string); !ok || !regexp.MustCompile(`^(0\.\d{3}|1\.000)$`).MatchString(c) {
		t.Fatalf("projection confidence = %#v", svcs[0].(map[string]any)["confidence"])
	}
	// The spec's shape per service and overall: growth over the complete
	// months, the last complete month, and the overall month-end is the
	// sum of the services' (every figure a decimal string).
	monthSum := decimal.Zero
	for _, sv := range svcs {
		m := sv.(map[string]any)
		if g, ok := m["growth_rate"].(string); !ok || !regexp.MustCompile(`^-?\d+\.\d{4}$`).MatchString(g) || m["current_monthly"] == nil || m["growth_confidence"] == nil {
			t.Fatalf("service projection without growth or current month: %v", m)
		}
		monthSum = monthSum.Add(decimal.RequireFromString(m["projected"].(map[string]any)["month"].(string)))
	}
	ov := pj.body["overall"].(map[string]any)
	if got := ov["projected"].(map[string]any)["month"]; got != monthSum.StringFixed(2) || ov["growth_rate"] == nil || ov["confidence"] == nil || len(ov["excluded"].([]any)) != 0 {
		t.Fatalf("overall %v: want month %s", ov, monthSum.StringFixed(2))
	}
	if r := f.do(store.RoleViewer, "GET", "/api/admin/costs/alerts", ""); r.status != 200 {
		t.Fatalf("alerts: %d %s", r.status, r.raw)
	}
}

// TestCostBreakdown: exact decimal sums per dimension, credits subtracting,
// shares of the total, per-month buckets, and bad parameters named.
func TestCostBreakdown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	dec := decimal.RequireFromString
	rows := []store.CostRecord{
		{Date: day(30), Service: "api", ResourceType: "compute", Team: "core", Amount: dec("10.10")},
		{Date: day(31), Service: "api", ResourceType: "compute", Team: "core", Amount: dec("10.20")},
		{Date: day(31), Service: "db", ResourceType: "storage", Team: "data", Amount: dec("0.30")},
		{Date: day(31), Service: "db", ResourceType: "storage", Team: "data", ChargeCategory: "Credit", Amount: dec("-0.10")},
		{Date: day(32), Service: "db", ResourceType: "storage", Team: "data", Amount: dec("9.40")}, // 1 February
		{Date: day(32), Service: "api", ResourceType: "compute-eu", Team: "core", Amount: dec("99"), Currency: "EUR"},
	}
	if _, err := f.st.ReplaceCosts(ctx, "recorded", store.CostScope{All: true}, rows); err != nil {
		t.Fatal(err)
	}
	rng := "&from=2026-01-30T00:00:00Z&to=2026-02-01T00:00:00Z"
	tests := []struct {
		name, query string
		want        []string // bucket key amount share
		total       string
	}{
		{"total by service", "?group_by=service" + rng, []string{" api 20.30 67.89", " db 9.60 32.11"}, "29.90"},
		{"total by team, one service", "?group_by=team&service=db" + rng, []string{" data 9.60 100.00"}, "9.60"},
		{"monthly by service", "?interval=month" + rng, []string{"2026-01-01 api 20.30 ", "2026-01-01 db 0.20 ", "2026-02-01 db 9.40 "}, "29.90"},
		{"euros", "?currency=EUR" + rng, []string{" api 99.00 100.00"}, "99.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(store.RoleViewer, "GET", "/api/admin/costs/breakdown"+tt.query, "")
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			var got []string
			for _, it := range r.body["items"].([]any) {
				m := it.(map[string]any)
				bucket, _ := m["bucket"].(string)
				share, _ := m["share_percent"].(string)
				got = append(got, fmt.Sprintf("%s %s %s %s", bucket, m["key"], m["amount"], share))
			}
			if !slices.Equal(got, tt.want) || r.body["total"] != tt.total {
				t.Errorf("got %q total %v\nwant %q total %s", got, r.body["total"], tt.want, tt.total)
			}
		})
	}
	for q, field := range map[string]string{"?group_by=colour": "group_by", "?interval=week": "interval", "?from=yesterday": "from"} {
		if r := f.do(store.RoleViewer, "GET", "/api/admin/costs/breakdown"+q, ""); r.status != 400 || r.errField("field") != field {
			t.Errorf("%s: %d %s", q, r.status, r.raw)
		}
	}
}

// A service seen only yesterday cannot be projected: it is answered with
// its reason and nulls (unknown, never 0), left out of the overall figures
// and named there; the service beside it is projected as usual.
func TestCostProjectionsUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	yesterday := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	if err := f.st.SeedSyntheticCosts(ctx, []string{"openai"}, []string{"api"}, yesterday.AddDate(0, 0, -60), yesterday); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.ReplaceCosts(ctx, "manual", store.CostScope{All: true},
		[]store.CostRecord{{Date: yesterday, Service: "brand-new", ResourceType: "compute", Amount: decimal.RequireFromString("3.50")}}); err != nil {
		t.Fatal(err)
	}
	pj := f.do(store.RoleViewer, "GET", "/api/admin/costs/projections", "")
	if pj.status != 200 {
		t.Fatalf("projections: %d %s", pj.status, pj.raw)
	}
	var fresh, seeded map[string]any
	for _, s := range pj.body["services"].([]any) {
		m := s.(map[string]any)
		if m["service"] == "brand-new" {
			fresh = m
		} else {
			seeded = m
		}
	}
	if fresh == nil || fresh["error"] == nil || len(fresh["projected"].(map[string]any)) != 0 ||
		fresh["confidence"] != nil || fresh["growth_rate"] != nil || fresh["current_monthly"] != nil {
		t.Fatalf("unprojectable service: %v", fresh)
	}
	ov := pj.body["overall"].(map[string]any)
	if ex := ov["excluded"].([]any); len(ex) != 1 || ex[0] != "brand-new" {
		t.Fatalf("overall excluded %v", ov["excluded"])
	}
	if got, want := ov["projected"].(map[string]any)["month"], seeded["projected"].(map[string]any)["month"]; got != want {
		t.Fatalf("overall month %v, want the projected service's %v", got, want)
	}
}
