package api_test

import (
	"strings"
	"testing"

	"github.com/wedsync/scaling/core/store"
)

func TestCustomMetricAndCapacityRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bad := []struct {
		body, field, msg string
	}{
		{`{"metric_name": "bad name", "metric_value": 1, "service_name": "api"}`, "metric_name", "not a metric name"},
		{`{"metric_name": "x", "service_name": "api"}`, "metric_value", "required"},
		{`{"metric_name": "x", "metric_value": "1", "service_name": "api"}`, "metric_value", "got a JSON string"},
		{`{"metric_name": "x", "metric_value": 1, "service_name": "API!"}`, "service_name", "not a service name"},
	}
	for _, tc := range bad {
		r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/metrics/custom", tc.body)
		if r.status != 400 || r.errField("field") != tc.field || !strings.Contains(r.errField("message"), tc.msg) {
			t.Errorf("%s: %d %s", tc.body, r.status, r.raw)
		}
	}
	if r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/metrics/custom", `{"metric_name": "guest_import_seconds", "metric_value": 4.2, "service_name": "api", "labels": {"size": "large"}}`); r.status != 201 {
		t.Fatalf("record: %d %s", r.status, r.raw)
	}
	ms, err := f.st.LatestPerformanceMetrics(t.Context(), fixtureEpoch, 10)
	if err != nil || len(ms) != 1 || ms[0].Value != 4.2 || ms[0].Labels["size"] != "large" {
		t.Fatalf("stored = %+v, %v", ms, err)
	}
	// Capacity now: replicas come from the autoscaler's series, which this
	// Prometheus does not scrape; the exporter's neither: an empty list.
	if r := f.do(store.RoleViewer, "GET", "/api/admin/scaling/capacity", ""); r.status != 200 {
		t.Fatalf("capacity: %d %s", r.status, r.raw)
	}
	// Without history there is no forecast, said per resource, not a 500.
	fc := f.do(store.RoleViewer, "GET", "/api/admin/capacity/forecast", "")
	if fc.status != 200 {
		t.Fatalf("forecast: %d %s", fc.status, fc.raw)
	}
	if r := f.do(store.RoleViewer, "GET", "/api/admin/growth/projections", ""); r.status != 503 || !strings.Contains(r.errField("message"), "no user history") {
		t.Fatalf("projections without users: %d %s", r.status, r.raw)
	}
	if r := f.do(store.RoleOperator, "POST", "/api/admin/capacity/plan", `{}`); r.status != 400 || r.errField("field") != "name" {
		t.Fatalf("plan without name: %d %s", r.status, r.raw)
	}
	p := f.do(store.RoleOperator, "POST", "/api/admin/capacity/plan", `{"name": "Q1 2027"}`)
	if p.status != 201 || p.body["id"] == nil {
		t.Fatalf("plan: %d %s", p.status, p.raw)
	}
	if plans, _ := f.st.ListCapacityPlans(t.Context(), 10); len(plans) != 1 || plans[0].CreatedBy != "operator-user" {
		t.Fatalf("plans = %+v", plans)
	}
}
