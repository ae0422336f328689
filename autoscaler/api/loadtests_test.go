package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/loadrun"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/loadtest/record"
	"github.com/wedsync/scaling/loadtest/scenario"
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
	if r := f.do(store.RoleOperator, "DELETE", base+"/"+lid, ""); r.status != 202 || r.body["id"] != lid || r.body["owner"] != fixtureHolder ||
		r.body["cancel_requested_by"] != "operator-user" || r.body["cancel_requested_at"] == nil {
		t.Fatalf("cancel: %d %s; want 202 with the test, its cancel recorded", r.status, r.raw)
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

// Cancel works from any replica: the fixture's API (replica-a) records the
// cancel of a test replica-b runs, and replica-b stops it; a test whose
// owner has stopped is cancelled at once; one no replica owns is a 409.
func TestCancelLoadTestOnAnotherReplica(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer target.Close()
	base := "/api/admin/scaling/load-tests/"

	bctx, stopB := context.WithCancel(context.Background())
	if _, err := f.st.Heartbeat(ctx, "replica-b", time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	b, err := loadrun.New(bctx, loadrun.Config{Recorder: &record.Recorder{Store: f.st}, Limits: scenario.DefaultLimits, Holder: "replica-b",
		PollInterval: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopB(); b.Wait() })
	think := 50 * time.Millisecond
	sc, _ := scenario.FromBuiltin("stress", target.URL, scenario.Override{VUs: 2, Duration: time.Minute, RampUp: time.Second, ThinkTime: &think})
	lt, err := b.Start(ctx, sc, "test", false)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	for range 2 { // sent twice: one request
		r := f.do(store.RoleOperator, "DELETE", base+lt.ID, "")
		if r.status != 202 || r.body["status"] != "running" || r.body["owner"] != "replica-b" || r.body["cancel_requested_by"] != "operator-user" {
			t.Fatalf("cancel on another replica: %d %s; want 202 with the test, its cancel recorded", r.status, r.raw)
		}
	}
	// Each call is audited (the request is written in the audit row's
	// transaction); the second changed nothing but is a call all the same.
	audit, err := f.st.ListAudit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range audit {
		if e.Method == "DELETE" && e.Path == base+lt.ID && e.Status == 202 && e.ResourceID == lt.ID && e.Actor == "operator-user" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d audit rows of the two cancels, want 2: %+v", n, audit)
	}
	var got response
	deadline := time.Now().Add(5 * time.Second)
	for {
		got = f.do(store.RoleViewer, "GET", base+lt.ID, "")
		if got.body["status"] != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.body["status"] != "cancelled" || got.body["results"] == nil {
		t.Fatalf("within 5s of the cancel: %s; want cancelled with partial results", got.raw)
	}
	if r := f.do(store.RoleOperator, "DELETE", base+lt.ID, ""); r.status != 409 || r.errField("state") != "cancelled" {
		t.Fatalf("cancel after it ended: %d %s", r.status, r.raw)
	}

	// Its owner stopped: cancelled at once, the reason naming the owner.
	if _, err := f.st.Heartbeat(ctx, "replica-c", 200*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	orphan, err := f.st.StartLoadTest(ctx, store.NewLoadTest{Name: "orphan", Type: "stress", TargetURL: target.URL, Owner: "replica-c"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if r := f.do(store.RoleOperator, "DELETE", base+orphan.ID, ""); r.status != 202 || r.body["status"] != "cancelled" ||
		!strings.Contains(r.body["failure_reason"].(string), "replica-c that ran it stopped (lease expired at ") {
		t.Fatalf("cancel of a dead replica's test: %d %s", r.status, r.raw)
	}

	// No replica owns it (wedsync-load runs it): nobody here can stop it.
	cli, err := f.st.StartLoadTest(ctx, store.NewLoadTest{Name: "cli", Type: "stress", TargetURL: target.URL, MaxDuration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do(store.RoleOperator, "DELETE", base+cli.ID, ""); r.status != 409 || r.errField("state") != "running" ||
		!strings.Contains(r.errField("message"), "no autoscaler replica's lease") {
		t.Fatalf("cancel of an ownerless test: %d %s", r.status, r.raw)
	}
	if r := f.do(store.RoleOperator, "DELETE", base+"00000000-0000-0000-0000-000000000000", ""); r.status != 404 {
		t.Fatalf("cancel of an unknown test: %d %s", r.status, r.raw)
	}
}
