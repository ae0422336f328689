package plugin_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
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
	pending, approved := e.seeded.PendingRecID, e.seeded.ApprovedRecID
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
		{"implement", e.ds, "POST", "recommendations/" + approved + "/implement", "", editor, 202, `"implemented"`, "POST /api/admin/optimization/recommendations/" + approved + "/implement"},
		{"rollback with a dry run", e.ds, "POST", "events/" + e.seeded.CompletedEventID + "/rollback", `{"dry_run": true}`, editor, 202, `"in_progress"`, "POST /api/admin/scaling/events/" + e.seeded.CompletedEventID + "/rollback"},
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
		})
	}
	// The approval landed: the plugin's own query sees it.
	rec, err := e.st.GetRecommendation(context.Background(), pending)
	if err != nil || rec.Status != "approved" {
		t.Errorf("recommendation after approve: %+v %v", rec.Status, err)
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
