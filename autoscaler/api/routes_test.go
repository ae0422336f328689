package api_test

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/wedsync/scaling/core/store"
)

// Every documented route answers, as an admin, with one of the statuses
// the document lists for it.
func TestEveryDocumentedRouteAnswers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	eventID := f.completedEvent(3)
	doc := f.do(store.RoleViewer, "GET", "/api/admin/openapi.json", "")
	if doc.status != 200 {
		t.Fatalf("openapi.json: %d %s", doc.status, doc.raw)
	}
	paths := doc.body["paths"].(map[string]any)
	var keys []string
	for p := range paths {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		for method, op := range paths[p].(map[string]any) {
			op := op.(map[string]any)
			path := strings.NewReplacer("{id}", eventID, "{service}", "api").Replace(p)
			q := url.Values{}
			body := ""
			for _, prm := range params(doc.body, op) {
				if prm["in"] == "query" && prm["required"] == true {
					schema := prm["schema"].(map[string]any)
					q.Set(prm["name"].(string), fmt.Sprint(schema["enum"].([]any)[0]))
				}
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				body = "{}"
				if ex := example(rb); ex != "" {
					body = ex
				}
			}
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			r := f.do(store.RoleAdmin, strings.ToUpper(method), path, body)
			f.sc.Wait()
			documented := op["responses"].(map[string]any)
			if _, ok := documented[strconv.Itoa(r.status)]; !ok {
				t.Errorf("%s %s answered %d (not documented): %s", strings.ToUpper(method), path, r.status, r.raw)
			}
		}
	}
}

func params(doc map[string]any, op map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := op["parameters"].([]any)
	for _, p := range list {
		m := p.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/components/parameters/")
			m = doc["components"].(map[string]any)["parameters"].(map[string]any)[name].(map[string]any)
		}
		out = append(out, m)
	}
	return out
}

func example(rb map[string]any) string {
	c, _ := rb["content"].(map[string]any)
	j, _ := c["application/json"].(map[string]any)
	if ex, ok := j["example"]; ok {
		b, _ := jsonMarshal(ex)
		return string(b)
	}
	return ""
}

func TestAuthAndRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		role, method, path, body string
		status                   int
		code                     string
	}{
		{"", "GET", "/api/admin/scaling/events", "", 401, "unauthorized"},
		{"", "GET", "/api/admin/openapi.json", "", 401, "unauthorized"},
		{"viewer", "GET", "/api/admin/scaling/events", "", 200, ""},
		{"viewer", "POST", "/api/admin/scaling/trigger/api", `{"replicas": 3}`, 403, "forbidden"},
		{"viewer", "POST", "/api/admin/scaling/events/00000000-0000-0000-0000-000000000000/rollback", `{}`, 403, "forbidden"},
		{"operator", "POST", "/api/admin/scaling/trigger/api", `{"replicas": 3, "dry_run": true}`, 200, ""},
		{"viewer", "GET", "/api/admin/nowhere", "", 404, "not_found"},
	}
	for _, tc := range tests {
		r := f.do(tc.role, tc.method, tc.path, tc.body)
		if r.status != tc.status || r.errField("code") != tc.code {
			t.Errorf("%s %s %s as %q: %d %s", tc.method, tc.path, tc.body, tc.role, r.status, r.raw)
		}
	}
	if r := f.do("", "GET", "/api/admin/scaling/events", "", "Authorization", "Bearer wsk_not-a-real-token"); r.status != 401 {
		t.Errorf("unknown token: %d", r.status)
	}
	// A revoked token stops working at once.
	if err := f.st.RevokeToken(context.Background(), "viewer-user"); err != nil {
		t.Fatal(err)
	}
	if r := f.do("viewer", "GET", "/api/admin/scaling/events", ""); r.status != 401 {
		t.Errorf("revoked token: %d", r.status)
	}
}

// Bad input: the right status, a message naming the field, and nothing
// changed.
func TestBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.completedEvent(3)
	tests := []struct {
		method, path, body string
		status             int
		field              string
		msg                string
	}{
		{"POST", "/api/admin/scaling/trigger/api", `{"replicas": 3, "color": "red"}`, 400, "color", "unknown field"},
		{"POST", "/api/admin/scaling/trigger/api", `{"replicas": "three"}`, 400, "replicas", "got a JSON string"},
		{"POST", "/api/admin/scaling/trigger/api", `{"replicas": -1}`, 400, "replicas", "must not be negative"},
		{"POST", "/api/admin/scaling/trigger/api", `{"replicas": 3, "action": "scale_up"}`, 400, "", "exactly one of replicas, tier or action"},
		{"POST", "/api/admin/scaling/trigger/api", `{"action": "sideways"}`, 400, "action", `"sideways" is not scale_up or scale_down`},
		{"POST", "/api/admin/scaling/trigger/api", `{"tier": "ci_small"}`, 400, "tier", "for a horizontal policy"},
		{"POST", "/api/admin/scaling/trigger/api", `{"replicas": 3`, 400, "", "malformed JSON"},
		{"POST", "/api/admin/scaling/trigger/api", ``, 400, "", "request body required"},
		{"POST", "/api/admin/scaling/trigger/api", `{"replicas": 3}`, 409, "", "already at 3"},
		{"POST", "/api/admin/scaling/trigger/billing", `{"replicas": 3}`, 404, "", "not in the policy file"},
		{"POST", "/api/admin/scaling/events/" + id + "/rollback", `{"dry_run": "yes"}`, 400, "dry_run", "got a JSON string"},
		{"POST", "/api/admin/scaling/events/not-an-id/rollback", `{}`, 404, "", "not found"},
		{"POST", "/api/admin/scaling/events/00000000-0000-0000-0000-000000000000/rollback", `{}`, 404, "", "not found"},
		{"GET", "/api/admin/scaling/events/00000000-0000-0000-0000-000000000000", ``, 404, "", "not found"},
		{"GET", "/api/admin/scaling/events?from=2026-11-28T00:00:00Z&to=2026-11-27T00:00:00Z", ``, 400, "from", "must be before to"},
		{"GET", "/api/admin/scaling/events?from=yesterday", ``, 400, "from", "not an RFC 3339 time"},
		{"GET", "/api/admin/scaling/events?limit=0", ``, 400, "limit", "not a whole number from 1 to 1000"},
		{"GET", "/api/admin/scaling/events?status=done", ``, 400, "status", `"done" is not one of`},
		{"GET", "/api/admin/scaling/events?cursor=garbage", ``, 400, "cursor", "not a cursor this API returned"},
		{"GET", "/api/admin/scaling/metrics/history?metric=cpu", ``, 400, "metric", `"cpu" is not one of`},
		{"GET", "/api/admin/scaling/metrics/history?metric=replicas&step=fast", ``, 400, "step", "not a positive duration"},
		{"GET", "/api/admin/scaling/metrics/history?metric=replicas&service=a%22b", ``, 400, "service", "not a service name"},
	}
	for _, tc := range tests {
		r := f.do(store.RoleAdmin, tc.method, tc.path, tc.body)
		if r.status != tc.status || r.errField("field") != tc.field || !strings.Contains(r.errField("message"), tc.msg) {
			t.Errorf("%s %s %s: %d %s; want %d field %q containing %q", tc.method, tc.path, tc.body, r.status, r.raw, tc.status, tc.field, tc.msg)
		}
	}
	// Nothing changed: still one event, the fleet still at 3.
	if evs, _ := f.st.ListEvents(context.Background(), store.EventFilter{}); len(evs) != 1 {
		t.Fatalf("%d events after bad input", len(evs))
	}
	if cur, _ := f.act.Current(context.Background()); cur.Replicas != 3 {
		t.Fatalf("replicas %d after bad input", cur.Replicas)
	}
}

func TestRollbackTwiceIs409WithState(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.completedEvent(4)
	if r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/events/"+id+"/rollback", ``); r.status != 202 {
		t.Fatalf("rollback: %d %s", r.status, r.raw)
	}
	f.sc.Wait()
	r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/events/"+id+"/rollback", ``)
	if r.status != 409 || r.errField("state") != "rolled_back" {
		t.Fatalf("second rollback: %d %s", r.status, r.raw)
	}
	e := f.do(store.RoleViewer, "GET", "/api/admin/scaling/events/"+id, "")
	if e.body["status"] != "rolled_back" || e.body["rolled_back_by"] == "" {
		t.Fatalf("event: %s", e.raw)
	}
	if cur, _ := f.act.Current(context.Background()); cur.Replicas != 2 {
		t.Fatalf("replicas %d after rollback, want 2", cur.Replicas)
	}
}

// The same Idempotency-Key and body replays the first answer and acts once;
// the same key with another body is refused.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := `{"replicas": 5, "reason": "launch"}`
	a := f.do(store.RoleOperator, "POST", "/api/admin/scaling/trigger/api", body, "Idempotency-Key", "launch-1")
	f.sc.Wait()
	b := f.do(store.RoleOperator, "POST", "/api/admin/scaling/trigger/api", body, "Idempotency-Key", "launch-1")
	if a.status != 202 || b.status != 202 || a.body["id"] != b.body["id"] {
		t.Fatalf("first %d %s, replay %d %s", a.status, a.raw, b.status, b.raw)
	}
	c := f.do(store.RoleOperator, "POST", "/api/admin/scaling/trigger/api", `{"replicas": 6}`, "Idempotency-Key", "launch-1")
	if c.status != 422 || c.errField("code") != "idempotency_key_reused" {
		t.Fatalf("reused key: %d %s", c.status, c.raw)
	}
	if evs, _ := f.st.ListEvents(context.Background(), store.EventFilter{}); len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	// Every acting call is in the audit trail with who made it.
	audit, _ := f.st.ListAudit(context.Background(), 10) // newest first
	if len(audit) != 3 || audit[2].Actor != "operator-user" || audit[2].Status != 202 || audit[2].ResourceID != "api" ||
		audit[2].Error != "" || !strings.Contains(audit[1].Error, "replayed") || audit[0].Status != 422 {
		t.Fatalf("audit = %+v", audit)
	}
	ev, _ := f.st.GetEvent(context.Background(), a.body["id"].(string))
	if ev.InitiatedBy != "manual" || ev.InitiatedUserID != "operator-user" || ev.TriggerReason != "manual: launch" {
		t.Fatalf("event = %+v", ev)
	}
}

func TestEventsPagination(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, n := range []int{3, 4, 5, 6, 7} {
		f.completedEvent(n)
	}
	var ids []string
	path := "/api/admin/scaling/events?limit=2"
	for i := 0; i < 5; i++ {
		r := f.do(store.RoleViewer, "GET", path, "")
		for _, it := range r.body["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			break
		}
		path = "/api/admin/scaling/events?limit=2&cursor=" + url.QueryEscape(next)
	}
	if len(ids) != 5 {
		t.Fatalf("paged through %d events, want 5: %v", len(ids), ids)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("event %s twice", id)
		}
		seen[id] = true
	}
}

func TestMetricsFromPrometheus(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.do(store.RoleViewer, "GET", "/api/admin/scaling/metrics", "")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	svc := r.body["services"].(map[string]any)
	api := svc["api"].(map[string]any)
	db := svc["database"].(map[string]any)
	if api["api_p95_ms"] != 800.0 || api["requests_per_minute"] != 7200.0 || api["replicas"] != 3.0 || db["db_cpu_utilization"] != 0.63 {
		t.Fatalf("metrics: %s", r.raw)
	}
	// database CPU 0.63 of 0.7: score 100 × (1 − (0.9 − 0.5)/0.5) = 20, the worst.
	if r.body["health_score"] != 20.0 || api["health_score"] != 87.5 { // cpu 0.45 of 0.8
		t.Fatalf("health scores: %s", r.raw)
	}
	h := f.do(store.RoleViewer, "GET", "/api/admin/scaling/metrics/history?metric=api_p95_ms&service=api", "")
	series := h.body["series"].([]any)
	if h.status != 200 || len(series) != 1 || series[0].(map[string]any)["service"] != "api" {
		t.Fatalf("history: %d %s", h.status, h.raw)
	}
	pts := series[0].(map[string]any)["points"].([]any)
	if len(pts) == 0 || pts[len(pts)-1].([]any)[1] != 800.0 {
		t.Fatalf("history points: %v", pts)
	}
}
