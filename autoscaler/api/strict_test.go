package api_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wedsync/scaling/core/store"
)

// dbText is what a database error looks like; no answer may carry it.
var dbText = regexp.MustCompile(`SQLSTATE|constraint|violates|pq:|ERROR:`)

// Text no field may hold — invalid UTF-8, NUL raw or escaped — is refused
// with a 400 naming the field, on every kind of input, before anything
// acts; the refusal is audited. An escaped backslash before "u0000" is
// text and goes through.
func TestInvalidTextIsRefusedBeforeAnythingActs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name, method, path, body string
		headers                  []string
		field, msg               string
	}{
		{"raw 0xff in a body string", "POST", "/api/admin/scaling/trigger/api", "{\"replicas\": 4, \"reason\": \"a\xffb\"}", nil, "reason", "not valid UTF-8"},
		{"escaped NUL in a body string", "POST", "/api/admin/scaling/trigger/api", `{"replicas": 4, "reason": "a\u0000b"}`, nil, "reason", "NUL"},
		{"raw NUL in a body string", "POST", "/api/admin/scaling/trigger/api", "{\"replicas\": 4, \"reason\": \"a\x00b\"}", nil, "reason", "NUL"},
		{"NUL in a budget name", "POST", "/api/admin/costs/budgets", `{"budget_name": "x\u0000", "budget_limit": "10"}`, nil, "budget_name", "NUL"},
		{"0xff in a budget name", "POST", "/api/admin/costs/budgets", "{\"budget_name\": \"x\xff\", \"budget_limit\": \"10\"}", nil, "budget_name", "UTF-8"},
		{"NUL deep in a phase configuration", "PUT", "/api/admin/growth/configuration",
			`{"phase": "growth", "scaling_config": {"services": {"api": {"tier": "\u0000"}}}}`, nil, "scaling_config.services.api.tier", "NUL"},
		{"NUL in a key", "PUT", "/api/admin/growth/configuration",
			`{"phase": "growth", "scaling_config": {"services": {"a\u0000": {}}}}`, nil, "scaling_config.services", "NUL"},
		{"0xff in a label value", "POST", "/api/admin/scaling/metrics/custom",
			"{\"metric_name\": \"m\", \"metric_value\": 1, \"service_name\": \"api\", \"labels\": {\"k\": \"\xfe\"}}", nil, "labels.k", "UTF-8"},
		{"NUL in a path value", "POST", "/api/admin/scaling/trigger/a%00pi", `{"replicas": 4}`, nil, "service", "NUL"},
		{"0xff in a path value", "PUT", "/api/admin/costs/budgets/%ff", `{"budget_limit": "10"}`, nil, "id", "UTF-8"},
		{"NUL in a query parameter", "GET", "/api/admin/scaling/events?service=a%00", ``, nil, "service", "NUL"},
		{"0xff in a query parameter", "GET", "/api/admin/costs/trends?team=%ff", ``, nil, "team", "UTF-8"},
		{"malformed query", "GET", "/api/admin/scaling/events?service=%zz", ``, nil, "", "query string: malformed"},
		{"0xff in the Idempotency-Key", "POST", "/api/admin/scaling/trigger/api", `{"replicas": 4}`, []string{"Idempotency-Key", "k\xff"}, "Idempotency-Key", "UTF-8"},
	}
	for _, tc := range tests {
		r := f.do(store.RoleAdmin, tc.method, tc.path, tc.body, tc.headers...)
		if r.status != 400 || r.errField("field") != tc.field || !strings.Contains(r.errField("message"), tc.msg) {
			t.Errorf("%s: %d %s; want 400 field %q containing %q", tc.name, r.status, r.raw, tc.field, tc.msg)
		}
	}
	f.sc.Wait()
	if evs, _ := f.st.ListEvents(ctx, store.EventFilter{}); len(evs) != 0 {
		t.Errorf("%d events after refused input", len(evs))
	}
	if cur, _ := f.act.Current(ctx); cur.Replicas != 2 {
		t.Errorf("fleet at %d after refused input, want 2", cur.Replicas)
	}
	if bs, _ := f.st.ListBudgets(ctx, false); len(bs) != 0 {
		t.Errorf("%d budgets after refused input", len(bs))
	}
	// Every refused acting call is in the audit trail, as a 400.
	acting := 0
	for _, tc := range tests {
		if tc.method != "GET" {
			acting++
		}
	}
	audit, _ := f.st.ListAudit(ctx, 100)
	if len(audit) != acting {
		t.Fatalf("%d audit rows for %d refused acting calls", len(audit), acting)
	}
	for _, a := range audit {
		if a.Status != 400 || a.Error == "" {
			t.Errorf("audit row %+v", a)
		}
	}
	// A backslash before u0000 is text: the call acts, and the reason
	// keeps it.
	r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/trigger/api", `{"replicas": 4, "reason": "C:\\u0000"}`)
	if r.status != 202 {
		t.Fatalf("escaped backslash: %d %s", r.status, r.raw)
	}
	f.sc.Wait()
	if ev, _ := f.st.GetEvent(ctx, r.body["id"].(string)); ev.TriggerReason != `manual: C:\u0000` {
		t.Fatalf("reason %q", ev.TriggerReason)
	}
}

// The audit row of an acting call commits with the change it records. A
// trigger writes its event and its audit row in one transaction (one
// now()); when the database refuses the audit row, the event is not
// written and nothing acts.
func TestTriggerWritesEventAndAuditAtomically(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/trigger/api", `{"replicas": 4, "reason": "launch"}`)
	if r.status != 202 {
		t.Fatalf("trigger: %d %s", r.status, r.raw)
	}
	f.sc.Wait()
	ev, err := f.st.GetEvent(ctx, r.body["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	audit, _ := f.st.ListAudit(ctx, 10)
	if len(audit) != 1 || audit[0].Status != 202 || audit[0].ResourceID != "api" || !audit[0].At.Equal(ev.StartedAt) {
		t.Fatalf("audit %+v for event started at %s", audit, ev.StartedAt)
	}

	db, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `ALTER TABLE audit_log ADD CONSTRAINT test_refuses_actor CHECK (actor <> 'doomed')`); err != nil {
		t.Fatal(err)
	}
	_, secret, err := f.st.CreateToken(ctx, "doomed", store.RoleOperator, "test")
	if err != nil {
		t.Fatal(err)
	}
	f.tokens["doomed"] = secret
	for _, body := range []string{`{"replicas": 6}`, `{"replicas": 1, "reason": "down"}`} {
		r = f.do("doomed", "POST", "/api/admin/scaling/trigger/api", body)
		if r.status != 500 || dbText.MatchString(r.raw) {
			t.Errorf("trigger %s with its audit refused: %d %s", body, r.status, r.raw)
		}
	}
	r = f.do("doomed", "POST", "/api/admin/scaling/events/"+ev.ID+"/rollback", ``)
	if r.status != 500 {
		t.Errorf("rollback with its audit refused: %d %s", r.status, r.raw)
	}
	f.sc.Wait()
	if evs, _ := f.st.ListEvents(ctx, store.EventFilter{}); len(evs) != 1 {
		t.Errorf("%d events; the ones whose audit was refused were written", len(evs))
	}
	if cur, _ := f.act.Current(ctx); cur.Replicas != 4 {
		t.Errorf("fleet at %d: an action ran without its audit row", cur.Replicas)
	}
}

// Manual targets outside the bounds in force are refused with the bounds
// named, not clamped; within them the call acts as before.
func TestTriggerOutOfBoundsIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, n := range []int{100000, 11, 0} {
		r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/trigger/api", fmt.Sprintf(`{"replicas": %d}`, n))
		if r.status != 400 || r.errField("field") != "replicas" || !strings.Contains(r.errField("message"), "outside the bounds in force [1, 10]") {
			t.Errorf("replicas %d: %d %s", n, r.status, r.raw)
		}
	}
	if evs, _ := f.st.ListEvents(context.Background(), store.EventFilter{}); len(evs) != 0 {
		t.Fatalf("%d events after out-of-bounds targets", len(evs))
	}
	if r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/trigger/api", `{"replicas": 10}`); r.status != 202 {
		t.Fatalf("replicas 10 (the maximum): %d %s", r.status, r.raw)
	}
	f.sc.Wait()
	if cur, _ := f.act.Current(context.Background()); cur.Replicas != 10 {
		t.Fatalf("fleet at %d, want 10", cur.Replicas)
	}
}

// PUT /growth/configuration decodes into the types that read it: unknown
// fields anywhere, typos and out-of-range values are 400s naming the
// path, and the phase is unchanged.
func TestGrowthConfigurationIsStrict(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	before, _ := f.st.GetPhase(ctx, "growth")
	tests := []struct {
		body, field, msg string
	}{
		{`{"phase": "growth", "colour": "red"}`, "colour", "unknown field"},
		{`{"phase": "growth", "scaling_config": {"bogus_key": 1}}`, "scaling_config.bogus_key", "unknown field"},
		{`{"phase": "growth", "scaling_config": {"services": {"api": {"min_replica": 2}}}}`, "scaling_config.services.api.min_replica", "unknown field"},
		{`{"phase": "growth", "scaling_config": {"services": {"api": {"min_replicas": -3}}}}`, "scaling_config.services.api.min_replicas", "-3 is not a count"},
		{`{"phase": "growth", "scaling_config": {"services": {"api": {"max_replicas": 1000000}}}}`, "scaling_config.services.api.max_replicas", "not a count"},
		{`{"phase": "growth", "scaling_config": {"services": {"api": {"max_replicas": 1e9}}}}`, "scaling_config.services.api.max_replicas", "want int"},
		{`{"phase": "growth", "scaling_config": {"services": {"api": {"min_replicas": "2"}}}}`, "scaling_config.services.api.min_replicas", "got a JSON string"},
		{`{"phase": "growth", "scaling_config": {"services": {"API!": {}}}}`, "scaling_config.services.API!", "not a service name"},
		{`{"phase": "growth", "scaling_config": {"database": {"read_replicas": -1}}}`, "scaling_config.database.read_replicas", "not a count"},
		{`{"phase": "growth", "scaling_config": {"database": {"cpu": 4}}}`, "scaling_config.database.cpu", "unknown field"},
		{`{"phase": "growth", "scaling_config": {"workers": {"queue": -2}}}`, "scaling_config.workers.queue", "not a count"},
		{`{"phase": "growth", "performance_targets": {"p95": 1}}`, "performance_targets.p95", "unknown field"},
		{`{"phase": "growth", "performance_targets": {"error_rate": 2}}`, "performance_targets.error_rate", "a ratio from 0 to 1"},
		{`{"phase": "growth", "performance_targets": {"api_p95_ms": -1}}`, "performance_targets.api_p95_ms", "must not be negative"},
		{`{"phase": "growth", "min_users": -1}`, "min_users", "must not be negative"},
		{`{"phase": "growth", "max_users": 500}`, "max_users", "max_users must be above min_users"},
		{`{"phase": "` + strings.Repeat("g", 201) + `"}`, "phase", "at most 200"},
	}
	for _, tc := range tests {
		r := f.do(store.RoleAdmin, "PUT", "/api/admin/growth/configuration", tc.body)
		if r.status != 400 || r.errField("field") != tc.field || !strings.Contains(r.errField("message"), tc.msg) {
			t.Errorf("%s: %d %s; want field %q containing %q", tc.body, r.status, r.raw, tc.field, tc.msg)
		}
	}
	after, _ := f.st.GetPhase(ctx, "growth")
	if string(after.ScalingConfig) != string(before.ScalingConfig) || string(after.PerformanceTargets) != string(before.PerformanceTargets) ||
		after.MinUsers != before.MinUsers {
		t.Fatalf("phase changed by refused calls: %s → %s", before.ScalingConfig, after.ScalingConfig)
	}
	// A good one still goes through, and is stored as sent.
	r := f.do(store.RoleAdmin, "PUT", "/api/admin/growth/configuration",
		`{"phase": "growth", "scaling_config": {"services": {"api": {"min_replicas": 3, "max_replicas": 9}}, "workers": {"queue": 2}}, "performance_targets": {"error_rate": 0.02}}`)
	if r.status != 200 {
		t.Fatalf("good configuration: %d %s", r.status, r.raw)
	}
	after, _ = f.st.GetPhase(ctx, "growth")
	if !strings.Contains(string(after.ScalingConfig), `"max_replicas": 9`) || !strings.Contains(string(after.PerformanceTargets), `0.02`) {
		t.Fatalf("stored %s %s", after.ScalingConfig, after.PerformanceTargets)
	}
}

// Lengths are bounded where they are defined (input.go), at the limit
// accepted and one past it refused with the field named.
func TestLengthLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	long := func(n int) string { return strings.Repeat("é", n) } // characters, not bytes
	tests := []struct {
		method, path, ok, tooLong, field string
	}{
		{"POST", "/api/admin/scaling/trigger/api",
			`{"replicas": 4, "dry_run": true, "reason": "` + long(500) + `"}`, `{"replicas": 4, "reason": "` + long(501) + `"}`, "reason"},
		{"POST", "/api/admin/costs/budgets",
			`{"budget_name": "` + long(200) + `", "budget_limit": "1"}`, `{"budget_name": "` + long(201) + `", "budget_limit": "1"}`, "budget_name"},
		{"POST", "/api/admin/costs/budgets",
			`{"budget_name": "t", "team": "` + long(200) + `", "budget_limit": "1"}`, `{"budget_name": "t2", "team": "` + long(201) + `", "budget_limit": "1"}`, "team"},
		{"POST", "/api/admin/scaling/metrics/custom",
			`{"metric_name": "m", "metric_value": 1, "service_name": "api", "labels": {"k": "` + long(200) + `"}}`,
			`{"metric_name": "m", "metric_value": 1, "service_name": "api", "labels": {"k": "` + long(201) + `"}}`, "labels.k"},
		{"POST", "/api/admin/scaling/metrics/custom",
			`{"metric_name": "m", "metric_value": 1, "service_name": "api", "metric_unit": "` + long(50) + `"}`,
			`{"metric_name": "m", "metric_value": 1, "service_name": "api", "metric_unit": "` + long(51) + `"}`, "metric_unit"},
		{"POST", "/api/admin/capacity/plan", `{"name": "` + long(200) + `"}`, `{"name": "` + long(201) + `"}`, "name"},
	}
	for _, tc := range tests {
		if r := f.do(store.RoleAdmin, tc.method, tc.path, tc.ok); r.status >= 300 {
			t.Errorf("%s %s at the limit: %d %s", tc.method, tc.path, r.status, r.raw)
		}
		r := f.do(store.RoleAdmin, tc.method, tc.path, tc.tooLong)
		if r.status != 400 || r.errField("field") != tc.field || !strings.Contains(r.errField("message"), "characters, at most") {
			t.Errorf("%s %s past the limit: %d %s", tc.method, tc.path, r.status, r.raw)
		}
	}
}

// Time ranges outside the years 2000–2100 or longer than 400 days are
// refused naming the parameter, on every route that takes one.
func TestTimeRangesAreBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	routes := []string{"/api/admin/scaling/events", "/api/admin/costs/trends", "/api/admin/costs/breakdown", "/api/admin/costs/alerts",
		"/api/admin/scaling/load-tests", "/api/admin/optimization/recommendations", "/api/admin/scaling/metrics/history?metric=replicas"}
	now := time.Now().UTC()
	tests := []struct {
		from, to time.Time
		field    string
		msg      string
	}{
		{time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), now, "from", "outside the years 2000 to 2100"},
		{now.AddDate(0, 0, -1), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), "to", "outside the years 2000 to 2100"},
		{now.AddDate(0, 0, -401), now, "from", "longer than 400 days"},
	}
	for _, path := range routes {
		for _, tc := range tests {
			q := url.Values{"from": {tc.from.Format(time.RFC3339)}, "to": {tc.to.Format(time.RFC3339)}}
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			r := f.do(store.RoleViewer, "GET", path+sep+q.Encode(), "")
			if r.status != 400 || r.errField("field") != tc.field || !strings.Contains(r.errField("message"), tc.msg) {
				t.Errorf("%s %s..%s: %d %s", path, tc.from, tc.to, r.status, r.raw)
			}
		}
		q := url.Values{"from": {now.AddDate(0, 0, -400).Format(time.RFC3339)}, "to": {now.Format(time.RFC3339)}}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		if r := f.do(store.RoleViewer, "GET", path+sep+q.Encode(), ""); r.status == 400 {
			t.Errorf("%s over 400 days: %d %s", path, r.status, r.raw)
		}
	}
}

// Every acting route, driven with bad input of every kind, answers a 4xx
// that names the field where there is one, and never database text.
func TestEveryActingRouteRefusesBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	doc := f.do(store.RoleViewer, "GET", "/api/admin/openapi.json", "")
	paths := doc.body["paths"].(map[string]any)
	zero := "00000000-0000-0000-0000-000000000000"
	bodies := []struct {
		body, field string
	}{
		{`{"zzz_unknown": 1}`, "zzz_unknown"},
		{`{"zzz_unknown": {"a": [1, 2]}}`, "zzz_unknown"},
		{"{\"zzz\xff\": 1}", ""},
		{`{"a": "\u0000"}`, "a"},
		{`[1, 2]`, ""},
		{`"just a string"`, ""},
		{`{"a": 1} {"b": 2}`, ""},
		{`{"a": `, ""},
		{`{"replicas": 99999999999999999999, "budget_limit": "1e400", "min_users": -1, "metric_value": 1e999}`, ""},
		{`{"budget_name": "x", "budget_limit": "0.001", "currency": "usd", "alert_thresholds": [0]}`, ""},
	}
	n := 0
	for p, ops := range paths {
		for method := range ops.(map[string]any) {
			if method == "get" {
				continue
			}
			path := strings.NewReplacer("{id}", zero, "{service}", "api").Replace(p)
			for _, b := range bodies {
				n++
				r := f.do(store.RoleAdmin, strings.ToUpper(method), path, b.body)
				if r.status < 400 || r.status >= 500 {
					t.Errorf("%s %s %q: %d %s", method, path, b.body, r.status, r.raw)
				}
				if dbText.MatchString(r.raw) {
					t.Errorf("%s %s %q: database text in %s", method, path, b.body, r.raw)
				}
				if b.field != "" && r.status == 400 && r.errField("field") != b.field {
					t.Errorf("%s %s %q: field %q, want %q (%s)", method, path, b.body, r.errField("field"), b.field, r.raw)
				}
			}
		}
	}
	if n < 10*len(bodies) {
		t.Fatalf("only %d calls: the document lists too few acting routes", n)
	}
	f.sc.Wait()
	if evs, _ := f.st.ListEvents(context.Background(), store.EventFilter{}); len(evs) != 0 {
		t.Fatalf("%d events after bad input", len(evs))
	}
	audit, _ := f.st.ListAudit(context.Background(), 1000)
	if len(audit) != n {
		t.Fatalf("%d audit rows for %d refused calls", len(audit), n)
	}
}

// POST /scaling/events/{id}/retry: like rollback — 202 with the new event,
// 200 on a dry run, 409 with the state for an event that is not failed;
// the new event and the call's audit row commit together.
func TestRetryRoute(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	failed, err := f.st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "t",
		After: []byte(`{"replicas": 5}`), InitiatedBy: "autoscaler"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.FinishEvent(ctx, failed.ID, store.StatusFailed, "actuator said no"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var calls []string
	f.retry = func(ctx context.Context, id, user string, dryRun bool) (store.Event, error) {
		mu.Lock()
		calls = append(calls, id+" "+user+" "+strconv.FormatBool(dryRun))
		mu.Unlock()
		ev, err := f.st.GetEvent(ctx, id)
		if err != nil {
			return store.Event{}, err
		}
		if ev.Status != store.StatusFailed {
			return store.Event{}, &store.ConflictError{What: "scaling event " + id, State: string(ev.Status)}
		}
		ne := store.NewEvent{Type: store.EventScaleUp, Service: ev.Service, TriggerReason: "retry of " + id, After: ev.After,
			InitiatedBy: "manual", InitiatedUserID: user}
		if dryRun {
			return store.Event{Type: ne.Type, Service: ne.Service, TriggerReason: ne.TriggerReason, After: ne.After, InitiatedBy: ne.InitiatedBy}, nil
		}
		return f.st.BeginEvent(ctx, ne) // under the call's audit (ctx)
	}
	dry := f.do(store.RoleOperator, "POST", "/api/admin/scaling/events/"+failed.ID+"/retry", `{"dry_run": true}`)
	if dry.status != 200 || dry.body["dry_run"] != true || dry.body["trigger_reason"] != "retry of "+failed.ID {
		t.Fatalf("dry run: %d %s", dry.status, dry.raw)
	}
	r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/events/"+failed.ID+"/retry", ``)
	if r.status != 202 || r.body["id"] == nil || r.body["status"] != "in_progress" {
		t.Fatalf("retry: %d %s", r.status, r.raw)
	}
	ev, _ := f.st.GetEvent(ctx, r.body["id"].(string))
	audit, _ := f.st.ListAudit(ctx, 10)
	if len(audit) != 2 || audit[0].Status != 202 || audit[0].ResourceID != failed.ID || !audit[0].At.Equal(ev.StartedAt) ||
		audit[1].Status != 200 {
		t.Fatalf("audit %+v; retry event started %s", audit, ev.StartedAt)
	}
	if _, err := f.st.FinishEvent(ctx, ev.ID, store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		role, id, body string
		status         int
		code, state    string
	}{
		{store.RoleOperator, ev.ID, ``, 409, "conflict", "completed"},
		{store.RoleOperator, failed.ID, `{"dry_run": "yes"}`, 400, "bad_request", ""},
		{store.RoleOperator, failed.ID, `{"force": true}`, 400, "bad_request", ""},
		{store.RoleOperator, "not-an-id", ``, 404, "not_found", ""},
		{store.RoleOperator, "00000000-0000-0000-0000-000000000000", ``, 404, "not_found", ""},
		{store.RoleViewer, failed.ID, ``, 403, "forbidden", ""},
	}
	for _, tc := range bad {
		r := f.do(tc.role, "POST", "/api/admin/scaling/events/"+tc.id+"/retry", tc.body)
		if r.status != tc.status || r.errField("code") != tc.code || r.errField("state") != tc.state {
			t.Errorf("retry %s %s as %s: %d %s", tc.id, tc.body, tc.role, r.status, r.raw)
		}
	}
	// Only the calls that got past the request's own checks reached Retry.
	want := []string{failed.ID + " operator-user true", failed.ID + " operator-user false", ev.ID + " operator-user false",
		"00000000-0000-0000-0000-000000000000 operator-user false"}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Fatalf("Retry calls %q, want %q", calls, want)
	}
}

// With the real scaler: retrying a failed event re-applies its target as a
// new event whose audit row commits with it; rolling back a failed event is
// accepted too.
func TestRetryAndRollbackOfAFailedEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	failed, err := f.st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "t",
		Before: []byte(`{"replicas": 2}`), After: []byte(`{"replicas": 5}`), InitiatedBy: "autoscaler"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.FinishEvent(ctx, failed.ID, store.StatusFailed, "actuator said no"); err != nil {
		t.Fatal(err)
	}
	r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/events/"+failed.ID+"/retry", `{}`)
	if r.status != 202 {
		t.Fatalf("retry: %d %s", r.status, r.raw)
	}
	f.sc.Wait()
	if cur, _ := f.act.Current(ctx); cur.Replicas != 5 {
		t.Fatalf("fleet at %d after the retry, want 5", cur.Replicas)
	}
	ev, _ := f.st.GetEvent(ctx, r.body["id"].(string))
	audit, _ := f.st.ListAudit(ctx, 10)
	if len(audit) != 1 || audit[0].Status != 202 || !audit[0].At.Equal(ev.StartedAt) {
		t.Fatalf("audit %+v; retry event started %s", audit, ev.StartedAt)
	}
	if r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/events/"+failed.ID+"/retry", ``); r.status != 409 {
		t.Fatalf("second retry: %d %s", r.status, r.raw)
	}
	if r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/events/"+failed.ID+"/rollback", `{"dry_run": true}`); r.status != 200 {
		t.Fatalf("dry-run rollback of a failed event: %d %s", r.status, r.raw)
	}
}
