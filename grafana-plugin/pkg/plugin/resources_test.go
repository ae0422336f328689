package plugin_test

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"gopkg.in/yaml.v3"

	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/grafana-plugin/fixture"
	"github.com/wedsync/scaling/grafana-plugin/pkg/plugin"
)

var (
	editor = &backend.User{Login: "alice", Role: "Editor"}
	viewer = &backend.User{Login: "bob", Role: "Viewer"}
)

// small is a fixture for tests that act rather than read.
var small = fixture.Options{Events: 100, CostDays: 40}

func TestResourceActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Now().UTC().Truncate(time.Second), small)
	closed := httptest.NewServer(nil)
	closed.Close()
	down := plugin.New(context.Background(), fixture.Settings(storetest.DSN(t), closed.URL, token))
	unset := plugin.New(context.Background(), fixture.Settings(storetest.DSN(t), "", ""))
	pending, approved, unpriced := e.seeded.PendingRecID, e.seeded.ApprovedRecID, e.seeded.UnpricedRecID
	completed, failed := e.seeded.CompletedEventID, e.seeded.FailedEventID
	const unknown = "00000000-0000-4000-8000-000000000000"
	tests := []struct {
		name         string
		ds           *plugin.Datasource
		method, path string
		body         string
		user         *backend.User
		status       int
		want         string // in the answer
		apiCall      string // "METHOD path" the API received, "" for none
	}{
		{"approve", e.ds, "POST", "recommendations/" + pending + "/approve", "", editor, 200, `"status":"approved"`, "POST /api/admin/optimization/recommendations/" + pending + "/approve"},
		{"approve twice is the API's 409 with the state", e.ds, "POST", "recommendations/" + approved + "/approve", "", editor, 409, `"state":"approved"`, "POST /api/admin/optimization/recommendations/" + approved + "/approve"},
		{"reject without a reason is the API's 400 naming the field", e.ds, "POST", "recommendations/" + unpriced + "/reject", "", editor, 400, `"field":"reason"`, "POST /api/admin/optimization/recommendations/" + unpriced + "/reject"},
		{"reject with a reason", e.ds, "POST", "recommendations/" + unpriced + "/reject", `{"reason": "worker traffic doubles in May"}`, editor, 200, `"reject_reason":"worker traffic doubles in May"`, "POST /api/admin/optimization/recommendations/" + unpriced + "/reject"},
		{"implement runs its event: implemented when it completes", e.ds, "POST", "recommendations/" + approved + "/implement", "", editor, 202, `"implementing":true`, "POST /api/admin/optimization/recommendations/" + approved + "/implement"},
		{"rollback with a dry run is the API's 200 and plan", e.ds, "POST", "events/" + completed + "/rollback", `{"dry_run": true}`, editor, 200, `"dry_run":true`, "POST /api/admin/scaling/events/" + completed + "/rollback"},
		{"rollback of a completed event", e.ds, "POST", "events/" + completed + "/rollback", `{"dry_run": false}`, editor, 202, `"rollback_of":"` + completed + `"`, "POST /api/admin/scaling/events/" + completed + "/rollback"},
		{"rollback of a failed event", e.ds, "POST", "events/" + failed + "/rollback", `{"dry_run": false}`, editor, 202, `"rollback_of":"` + failed + `"`, "POST /api/admin/scaling/events/" + failed + "/rollback"},
		{"retry of a failed event", e.ds, "POST", "events/" + failed + "/retry", `{"dry_run": false}`, editor, 202, `"initiated_by":"retry"`, "POST /api/admin/scaling/events/" + failed + "/retry"},
		{"retry without a body", e.ds, "POST", "events/" + failed + "/retry", "", editor, 202, `"status":"in_progress"`, "POST /api/admin/scaling/events/" + failed + "/retry"},
		{"retry with a dry run is the API's 200 and plan", e.ds, "POST", "events/" + failed + "/retry", `{"dry_run": true}`, editor, 200, `"retry_of":"` + failed + `"`, "POST /api/admin/scaling/events/" + failed + "/retry"},
		{"retry of a completed event is the API's 409 with the state", e.ds, "POST", "events/" + completed + "/retry", "", editor, 409, `"state":"completed"`, "POST /api/admin/scaling/events/" + completed + "/retry"},
		{"retry of an unknown event is the API's 404", e.ds, "POST", "events/" + unknown + "/retry", "", editor, 404, "not found", "POST /api/admin/scaling/events/" + unknown + "/retry"},
		{"retry with a bad dry_run is the API's 400 naming the field", e.ds, "POST", "events/" + failed + "/retry", `{"dry_run": "yes"}`, editor, 400, `"field":"dry_run"`, "POST /api/admin/scaling/events/" + failed + "/retry"},
		{"viewer may not retry", e.ds, "POST", "events/" + failed + "/retry", "", viewer, 403, "bob (role Viewer) may not act on the platform", ""},
		{"anonymous may not retry", e.ds, "POST", "events/" + failed + "/retry", "", nil, 403, "an anonymous user may not act", ""},
		{"retry of an id that is not a UUID", e.ds, "POST", "events/1%20OR%201=1/retry", "", editor, 400, "is not a UUID", ""},
		{"retry with a body that is not JSON", e.ds, "POST", "events/" + failed + "/retry", `dry_run=1`, editor, 400, "body is not JSON", ""},
		{"retry when the API is down", down, "POST", "events/" + failed + "/retry", "", editor, 502, "control-plane API unreachable", ""},
		{"retry when the API is not configured", unset, "POST", "events/" + failed + "/retry", "", editor, 503, "control-plane API URL is not set", ""},
		{"retry by GET", e.ds, "GET", "events/" + failed + "/retry", "", editor, 404, "no resource", ""},
		{"start a load test", e.ds, "POST", "load-tests", `{"scenario": "baseline", "target": "http://127.0.0.1:9683", "vus": 5, "duration": "30s"}`, editor, 202, `"running"`, "POST /api/admin/scaling/load-tests"},
		{"cancel a load test", e.ds, "DELETE", "load-tests/" + e.seeded.RunningTestID, "", editor, 202, `"cancelling"`, "DELETE /api/admin/scaling/load-tests/" + e.seeded.RunningTestID},
		{"cancel by POST from a table action", e.ds, "POST", "load-tests/" + e.seeded.RunningTestID + "/cancel", "", editor, 202, `"cancelling"`, "DELETE /api/admin/scaling/load-tests/" + e.seeded.RunningTestID},
		{"viewer may not act", e.ds, "POST", "recommendations/" + pending + "/approve", "", viewer, 403, "bob (role Viewer) may not act on the platform", ""},
		{"anonymous may not act", e.ds, "POST", "recommendations/" + pending + "/approve", "", nil, 403, "an anonymous user may not act", ""},
		{"id that is not a UUID", e.ds, "POST", "events/1%20OR%201=1/rollback", "", editor, 400, "is not a UUID", ""},
		{"body that is not JSON", e.ds, "POST", "load-tests", `scenario=baseline`, editor, 400, "body is not JSON", ""},
		{"body too large", e.ds, "POST", "load-tests", `{"x": "` + strings.Repeat("a", 70<<10) + `"}`, editor, 413, "body over 65536 bytes", ""},
		{"unknown route", e.ds, "GET", "users", "", editor, 404, "no resource GET /users", ""},
		{"wrong method", e.ds, "GET", "recommendations/" + pending + "/approve", "", editor, 404, "no resource", ""},
		{"API down", down, "POST", "recommendations/" + pending + "/approve", "", editor, 502, "control-plane API unreachable", ""},
		{"API not configured", unset, "POST", "recommendations/" + pending + "/approve", "", editor, 503, "control-plane API URL is not set", ""},
		{"services", e.ds, "GET", "services", "", viewer, 200, `"services":["api","database","realtime","search","web","wedsync","worker"]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.api.Calls())
			status, body := callResource(t, tt.ds, tt.method, tt.path, tt.body, tt.user, "Idempotency-Key", "key-"+tt.name)
			if status != tt.status || !strings.Contains(string(body), tt.want) {
				t.Fatalf("%d %s; want %d containing %s", status, body, tt.status, tt.want)
			}
			var shape map[string]any
			if err := json.Unmarshal(body, &shape); err != nil {
				t.Fatalf("answer is not JSON: %s", body)
			}
			if status >= 400 {
				if eo, ok := shape["error"].(map[string]any); !ok || eo["message"] == "" || eo["code"] == "" {
					t.Errorf("error answer lacks the API's error shape: %s", body)
				}
			}
			calls := e.api.Calls()[before:]
			if tt.apiCall == "" {
				if tt.ds == e.ds && len(calls) != 0 {
					t.Errorf("API called: %+v", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].Method+" "+calls[0].Path != tt.apiCall || calls[0].IdempotencyKey != "key-"+tt.name {
				t.Errorf("API received %+v, want one %s with its Idempotency-Key", calls, tt.apiCall)
			}
			if tt.body != "" && calls[0].Body != tt.body {
				t.Errorf("API body %q, want %q", calls[0].Body, tt.body)
			}
			// Passed through as it is: the API's status and bytes.
			if calls[0].Status != status || calls[0].Answer != string(body) {
				t.Errorf("plugin answered %d %s; the API %d %s", status, body, calls[0].Status, calls[0].Answer)
			}
		})
	}
	// The approval and the rejection landed: the plugin's own query sees them.
	rec, err := e.st.GetRecommendation(context.Background(), pending)
	if err != nil || rec.Status != "approved" {
		t.Errorf("recommendation after approve: %+v %v", rec.Status, err)
	}
	rec, err = e.st.GetRecommendation(context.Background(), unpriced)
	if err != nil || rec.Status != "rejected" || rec.RejectReason != "worker traffic doubles in May" {
		t.Errorf("recommendation after reject: %+v %v", rec.Status, err)
	}
}

// TestActionsAreInTheAPIContract holds the forwarded routes to
// autoscaler/api/openapi.yaml: a route renamed there fails here.
func TestActionsAreInTheAPIContract(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../../autoscaler/api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range plugin.ForwardedRoutes() {
		method, path, _ := strings.Cut(r, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("%s is not in the API's openapi.yaml", r)
		}
	}
	for _, p := range []string{"/api/admin/scaling/health", "/api/admin/scaling/metrics", "/api/admin/growth/current-phase"} {
		if _, ok := doc.Paths[p]["get"]; !ok {
			t.Errorf("GET %s (read by the plugin) is not in the API's openapi.yaml", p)
		}
	}
}

// TestStandInEventViewIsTheAPIs holds the stand-in's retry and rollback
// answers to the API's own event view: every key it sends is a JSON name
// of eventView in autoscaler/api/scaling.go (read from the source, the
// owner), and the keys the API always sends are there.
func TestStandInEventViewIsTheAPIs(t *testing.T) {
	t.Parallel()
	fset := gotoken.NewFileSet()
	f, err := parser.ParseFile(fset, "../../../autoscaler/api/scaling.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	always := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "eventView" {
			return true
		}
		for _, fl := range ts.Type.(*ast.StructType).Fields.List {
			tag, _ := strconv.Unquote(fl.Tag.Value)
			name, opts, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
			names[name] = true
			always[name] = !strings.Contains(opts, "omitempty")
		}
		return false
	})
	if len(names) < 10 {
		t.Fatalf("eventView not found in autoscaler/api/scaling.go (%d fields)", len(names))
	}
	e := newEnv(t, time.Now().UTC().Truncate(time.Second), small)
	for _, path := range []string{"events/" + e.seeded.FailedEventID + "/retry", "events/" + e.seeded.FailedEventID + "/rollback"} {
		for _, body := range []string{`{"dry_run": true}`, `{"dry_run": false}`} {
			status, raw := callResource(t, e.ds, "POST", path, body, editor)
			var got map[string]any
			if err := json.Unmarshal(raw, &got); err != nil || status/100 != 2 {
				t.Fatalf("%s %s: %d %s", path, body, status, raw)
			}
			for k := range got {
				if !names[k] {
					t.Errorf("%s %s: key %q is not in the API's eventView", path, body, k)
				}
			}
			for k, a := range always {
				if _, ok := got[k]; a && !ok {
					t.Errorf("%s %s: key %q, always sent by the API, is missing", path, body, k)
				}
			}
		}
	}
}

func TestStreamSendsWithinFiveSeconds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Now().UTC().Truncate(time.Second), small)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := e.ds.SubscribeStream(ctx, &backend.SubscribeStreamRequest{Path: "health"})
	if err != nil || sub.Status != backend.SubscribeStreamStatusOK || len(sub.InitialData.Data()) == 0 {
		t.Fatalf("subscribe: %+v %v", sub, err)
	}
	if r, _ := e.ds.SubscribeStream(ctx, &backend.SubscribeStreamRequest{Path: "other"}); r.Status != backend.SubscribeStreamStatusNotFound {
		t.Errorf("subscribe to another path: %v", r.Status)
	}
	if r, _ := e.ds.PublishStream(ctx, &backend.PublishStreamRequest{Path: "health"}); r.Status != backend.PublishStreamStatusPermissionDenied {
		t.Errorf("publish: %v", r.Status)
	}
	got := make(chan time.Time, 100)
	done := make(chan error, 1)
	go func() {
		done <- e.ds.RunStream(ctx, &backend.RunStreamRequest{Path: "health"}, backend.NewStreamSender(packetFunc(func(p *backend.StreamPacket) error {
			got <- time.Now()
			return nil
		})))
	}()
	start := time.Now()
	last := start
	for i := range 3 {
		select {
		case at := <-got:
			if gap := at.Sub(last); gap > 5*time.Second {
				t.Errorf("packet %d came %s after the previous one", i, gap)
			}
			last = at
		case <-time.After(6 * time.Second):
			t.Fatalf("no packet %d within 6 s", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunStream after cancel: %v", err)
	}
}

type packetFunc func(*backend.StreamPacket) error

func (f packetFunc) Send(p *backend.StreamPacket) error { return f(p) }
