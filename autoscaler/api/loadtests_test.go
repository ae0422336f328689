package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/store"
)

func TestLoadTestsThroughAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer target.Close()
	base := "/api/admin/scaling/load-tests"

	start := f.do(store.RoleOperator, "POST", base, `{"scenario": "baseline", "target": "`+target.URL+`", "vus": 2, "duration": "2s", "ramp_up": "1s", "think_time": "10ms"}`)
	if start.status != 202 || start.body["status"] != "running" {
		t.Fatalf("start: %d %s", start.status, start.raw)
	}
	id := start.body["id"].(string)
	var got response
	deadline := time.Now().Add(30 * time.Second)
	for {
		got = f.do(store.RoleViewer, "GET", base+"/"+id, "")
		if got.body["status"] != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got.body["status"] != "completed" || got.body["results"] == nil || got.body["passed_criteria"] != true {
		t.Fatalf("finished: %s", got.raw)
	}
	if r := f.do(store.RoleOperator, "DELETE", base+"/"+id, ""); r.status != 409 || r.errField("state") != "completed" {
		t.Fatalf("cancel a finished test: %d %s", r.status, r.raw)
	}

	// A long one, cancelled: partial results kept.
	long := f.do(store.RoleOperator, "POST", base, `{"scenario": "stress", "target": "`+target.URL+`", "vus": 2, "duration": "60s", "ramp_up": "1s", "think_time": "50ms"}`)
	if long.status != 202 {
		t.Fatalf("start long: %d %s", long.status, long.raw)
	}
	lid := long.body["id"].(string)
	time.Sleep(1500 * time.Millisecond)
	if p := f.do(store.RoleViewer, "GET", base+"/"+lid, ""); p.body["progress"] == nil {
		t.Fatalf("no live progress: %s", p.raw)
	}
	if r := f.do(store.RoleViewer, "DELETE", base+"/"+lid, ""); r.status != 403 {
		t.Fatalf("viewer cancels: %d", r.status)
	}
	if r := f.do(store.RoleOperator, "DELETE", base+"/"+lid, ""); r.status != 202 {
		t.Fatalf("cancel: %d %s", r.status, r.raw)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		got = f.do(store.RoleViewer, "GET", base+"/"+lid, "")
		if got.body["status"] != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.body["status"] != "cancelled" || got.body["results"] == nil {
		t.Fatalf("cancelled: %s", got.raw)
	}
	list := f.do(store.RoleViewer, "GET", base+"?status=cancelled", "")
	if len(list.body["items"].([]any)) != 1 {
		t.Fatalf("list cancelled: %s", list.raw)
	}

	bad := []struct {
		body, field, msg string
	}{
		{`{"scenario": "marathon", "target": "http://x"}`, "scenario", `unknown scenario "marathon"`},
		{`{"scenario": "baseline"}`, "target", "target: required"},
		{`{"scenario": "baseline", "target": "http://x", "duration": "soon"}`, "duration", `"soon" is not a positive duration`},
		{`{"scenario": "baseline", "target": "http://x", "vus": 5000}`, "scenarios.baseline.stages", "5000 VUs exceed the limit of 2000"},
		{`{"scenario": "baseline", "target": "http://x", "duration": "2h"}`, "duration", "pass --confirm-long"},
		{`{"scenario": "baseline", "definition": {}}`, "", "not both"},
		{`{}`, "", "give scenario"},
		{`{"definition": {"target": "http://x", "scenarios": {"a": {"executor": "sprint-vus"}}}}`, "scenarios.a.executor", "sprint-vus"},
		{`{"definition": {"target": "http://x", "vus": 1, "duration": "1s", "requests": [{"url": "/", "headers": {"Authorization": "Bearer ${WEDSYNC_DATABASE_URL}"}}]}}`,
			"requests[0].headers.Authorization", "environment variable"},
		{`{"definition": {"target": "http://x", "vus": 1, "duration": "1s", "thresholds": {"http_req_duration": ["p95<2000"]}}}`, "thresholds.http_req_duration[0]", ""},
	}
	for _, tc := range bad {
		r := f.do(store.RoleOperator, "POST", base, tc.body)
		if r.status != 400 || r.errField("field") != tc.field || !strings.Contains(r.errField("message"), tc.msg) {
			t.Errorf("%s: %d %s; want 400 field %q containing %q", tc.body, r.status, r.raw, tc.field, tc.msg)
		}
	}
	if n, _ := f.st.ListLoadTests(t.Context(), store.LoadTestFilter{}); len(n) != 2 {
		t.Fatalf("%d load tests recorded, want 2 (bad input records nothing)", len(n))
	}
}
