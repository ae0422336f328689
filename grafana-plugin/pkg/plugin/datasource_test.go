package plugin_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/grafana-plugin/fixture"
	"github.com/wedsync/scaling/grafana-plugin/pkg/plugin"
)

var update = flag.Bool("update", false, "rewrite the golden frames in testdata/")

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

const token = "test-token-0123456789"

// goldenNow is the clock of the golden tests: every row the fixture dates
// is relative to it.
var goldenNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

type env struct {
	ds     *plugin.Datasource
	st     *store.Store
	api    *fixture.API
	seeded fixture.Seeded
}

var (
	goldenOnce sync.Once
	goldenEnv  env
)

// golden is one seeded database with a fixed clock, shared by the tests
// that only read it.
func golden(t *testing.T) env {
	t.Helper()
	goldenOnce.Do(func() {
		goldenEnv = newEnv(t, goldenNow, fixture.Options{})
	})
	if goldenEnv.ds == nil {
		t.Fatal("golden environment failed to start")
	}
	return goldenEnv
}

func newEnv(t *testing.T, now time.Time, o fixture.Options) env {
	t.Helper()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	seeded, err := fixture.Seed(ctx, st, now, o)
	if err != nil {
		t.Fatal(err)
	}
	api := &fixture.API{Token: token, Store: st}
	srv := httptest.NewServer(api.Handler())
	ds := plugin.New(ctx, fixture.Settings(dsn, srv.URL, token), plugin.WithClock(func() time.Time { return now }))
	return env{ds: ds, st: st, api: api, seeded: seeded}
}

func q(refID, queryType, model string, from, to time.Time) backend.DataQuery {
	return backend.DataQuery{RefID: refID, QueryType: queryType, JSON: json.RawMessage(model),
		TimeRange: backend.TimeRange{From: from, To: to}, Interval: time.Minute, MaxDataPoints: 1000}
}

// normalize replaces what differs between runs — random ids, and the times
// the database stamps with its own now() — by stable placeholders.
func normalize(resp backend.DataResponse, ids map[string]string) {
	real := time.Now()
	placeholder := func(v string) string {
		if v == "" {
			return ""
		}
		p, ok := ids[v]
		if !ok {
			p = fmt.Sprintf("id-%d", len(ids)+1)
			ids[v] = p
		}
		return p
	}
	for _, f := range resp.Frames {
		for _, fl := range f.Fields {
			isID := fl.Name == "id" || strings.HasSuffix(fl.Name, "_id") || fl.Name == "rollback_of" || fl.Name == "retry_of"
			for i := range fl.Len() {
				switch v := fl.At(i).(type) {
				case string:
					if isID {
						fl.Set(i, placeholder(v))
					}
				case *string:
					if isID && v != nil {
						s := placeholder(*v)
						fl.Set(i, &s)
					}
				case time.Time:
					if d := real.Sub(v); d < 48*time.Hour && d > -48*time.Hour {
						fl.Set(i, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
					}
				case *time.Time:
					if v != nil {
						if d := real.Sub(*v); d < 48*time.Hour && d > -48*time.Hour {
							z := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
							fl.Set(i, &z)
						}
					}
				}
			}
		}
		if f.Meta != nil {
			if m, ok := f.Meta.Custom.(map[string]any); ok {
				for _, k := range []string{"loadTestId", "baselineLoadTestId"} {
					if s, ok := m[k].(string); ok {
						m[k] = placeholder(s)
					}
				}
			}
		}
	}
}

func TestQueryGolden(t *testing.T) {
	t.Parallel()
	e := golden(t)
	month, week, dayAgo := goldenNow.AddDate(0, 0, -30), goldenNow.AddDate(0, 0, -7), goldenNow.Add(-24*time.Hour)
	tests := []struct {
		name, queryType, model string
		from                   time.Time
	}{
		{"scaling_events", "scaling_events", `{"limit": 5}`, month},
		{"scaling_events_filtered", "scaling_events", `{"service": "api", "eventType": "scale_down", "status": "completed", "limit": 3}`, month},
		{"scaling_annotations", "scaling_annotations", `{"limit": 3}`, month},
		{"scaling_event_summary", "scaling_event_summary", `{"groupBy": "event_type"}`, goldenNow.Add(-2 * time.Hour)},
		{"growth_phases", "growth_phases", `{}`, month},
		{"growth_progress", "growth_progress", `{}`, month},
		{"cost_current", "cost_current", `{}`, month},
		{"cost_current_api", "cost_current", `{"service": "api"}`, month},
		{"cost_trend", "cost_trend", `{}`, week},
		{"cost_trend_by_team", "cost_trend", `{"groupBy": "team"}`, week},
		{"cost_breakdown_total", "cost_breakdown", `{"groupBy": "service"}`, month},
		{"cost_breakdown_monthly", "cost_breakdown", `{"groupBy": "feature", "interval": "month"}`, goldenNow.AddDate(0, -3, 0)},
		{"cost_projection", "cost_projection", `{}`, week},
		{"budgets", "budgets", `{}`, month},
		{"cost_alerts", "cost_alerts", `{}`, month},
		{"recommendations", "recommendations", `{"allTime": true}`, month},
		{"load_tests", "load_tests", `{"allTime": true}`, month},
		{"load_test_results", "load_test_results", `{"loadTestId": "` + e.seeded.RegressedTestID + `"}`, month},
		{"benchmarks", "benchmarks", `{"name": "checkout-flow", "allTime": true}`, month},
		{"capacity_forecast", "capacity_forecast", `{"resource": "database_connections", "horizonDays": 30}`, week},
		{"capacity_exhaustion", "capacity_exhaustion", `{}`, month},
		{"health", "health", `{}`, dayAgo},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.queryType] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := e.ds.QueryData(context.Background(), &backend.QueryDataRequest{
				PluginContext: backend.PluginContext{DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{UID: fixture.UID}},
				Queries:       []backend.DataQuery{q("A", tt.queryType, tt.model, tt.from, goldenNow)},
			})
			if err != nil {
				t.Fatal(err)
			}
			r := resp.Responses["A"]
			if r.Error != nil {
				t.Fatalf("error: %v", r.Error)
			}
			if len(r.Frames) == 0 || r.Frames[0].Rows() == 0 && len(r.Frames[0].Fields) < 2 {
				t.Fatalf("no data: %v", r.Frames)
			}
			checkMoney(t, tt.queryType, r.Frames)
			normalize(r, map[string]string{})
			experimental.CheckGoldenJSONResponse(t, "testdata", tt.name, &r, *update)
		})
	}
	for _, qt := range queryTypes(t) {
		if !seen[qt] {
			t.Errorf("query type %s has no golden test", qt)
		}
	}
}

func queryTypes(t *testing.T) []string {
	t.Helper()
	e := golden(t)
	var out struct {
		QueryTypes []string `json:"queryTypes"`
	}
	status, body := callResource(t, e.ds, "GET", "query-types", "", nil)
	if status != 200 || json.Unmarshal(body, &out) != nil {
		t.Fatalf("query-types: %d %s", status, body)
	}
	return out.QueryTypes
}

func callResource(t *testing.T, ds *plugin.Datasource, method, path, body string, user *backend.User, headers ...string) (int, []byte) {
	t.Helper()
	h := map[string][]string{}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = []string{headers[i+1]}
	}
	req := &backend.CallResourceRequest{Method: method, Path: path, URL: path, Body: []byte(body), Headers: h,
		PluginContext: backend.PluginContext{User: user}}
	var resp *backend.CallResourceResponse
	err := ds.CallResource(backend.WithUser(context.Background(), user), req, backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error {
		resp = r
		return nil
	}))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.Status, resp.Body
}

func TestEveryQueryAtOnceIsPerRefID(t *testing.T) {
	t.Parallel()
	e := golden(t)
	from := goldenNow.AddDate(0, 0, -30)
	queries := []backend.DataQuery{
		q("good", "growth_phases", `{}`, from, goldenNow),
		q("badjson", "scaling_events", `{"limit": `, from, goldenNow),
		q("badtype", "scaling_events", `{"limit": "ten"}`, from, goldenNow),
		q("badenum", "cost_breakdown", `{"groupBy": "colour"}`, from, goldenNow),
		q("unknown", "weather", `{}`, from, goldenNow),
		q("notype", "", `{}`, from, goldenNow),
		q("inverted", "cost_trend", `{}`, goldenNow, from),
		q("badid", "load_test_results", `{"loadTestId": "x'; DROP TABLE load_tests; --"}`, from, goldenNow),
		q("missing", "load_test_results", `{"loadTestId": "00000000-0000-0000-0000-000000000000"}`, from, goldenNow),
		q("toolong", "scaling_events", `{"limit": 5000}`, from, goldenNow),
		q("emptyrange", "scaling_event_summary", `{}`, goldenNow, goldenNow),
	}
	resp, err := e.ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: queries})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		status backend.Status
		msg    string
	}{
		"badjson":    {400, "query JSON: unexpected end of JSON input"},
		"badtype":    {400, "field limit: string is not a int"},
		"badenum":    {400, `groupBy "colour" is not one of service, team, feature, resource, source`},
		"unknown":    {400, `unknown query type "weather": want one of scaling_events,`},
		"notype":     {400, "query type is not set"},
		"inverted":   {400, "time range: to (2026-05-16T12:00:00Z) is before from (2026-06-15T12:00:00Z)"},
		"badid":      {400, "is not a UUID"},
		"missing":    {404, "not found"},
		"toolong":    {400, "limit 5000 is not within 0…1000"},
		"emptyrange": {400, "time range is empty"},
	}
	if r := resp.Responses["good"]; r.Error != nil || r.Frames[0].Rows() != 4 {
		t.Errorf("good query: %v", r.Error)
	}
	for ref, w := range want {
		r := resp.Responses[ref]
		if r.Error == nil || r.Status != w.status || !strings.Contains(r.Error.Error(), w.msg) {
			t.Errorf("%s: status %d error %v; want %d containing %q", ref, r.Status, r.Error, w.status, w.msg)
		}
	}
}

func TestSettingsAndUnreachablePeers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	api := &fixture.API{Token: token}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	closed := httptest.NewServer(nil)
	deadURL := closed.URL
	closed.Close()
	deadDSN := "postgres://postgres@127.0.0.1:1/nothing?sslmode=disable" // port 1: nothing listens
	empty := storetest.Server(t).DSN("postgres")                         // reachable, but no control-plane schema
	tests := []struct {
		name      string
		settings  backend.DataSourceInstanceSettings
		health    backend.HealthStatus
		healthMsg []string
		queryMsg  string
		queryCode backend.Status
	}{
		{"everything fine", fixture.Settings(dsn, srv.URL, token), backend.HealthStatusOk,
			[]string{"Database connected, growth phase startup; control-plane API reachable, token accepted"}, "", 0},
		{"nothing set", backend.DataSourceInstanceSettings{UID: "x"}, backend.HealthStatusError,
			[]string{"database host is not set (jsonData.host)", "database name is not set (jsonData.database)", "database user is not set (jsonData.user)",
				"control-plane API URL is not set (jsonData.apiUrl)", "control-plane API token is not set (secure field apiToken)"},
			"scaling_events: not configured: database host is not set", 400},
		{"malformed jsonData", backend.DataSourceInstanceSettings{JSONData: json.RawMessage(`{"port": "five"}`)}, backend.HealthStatusError,
			[]string{"datasource settings (jsonData): json: cannot unmarshal string"}, "datasource settings (jsonData)", 400},
		{"database unreachable", fixture.Settings(deadDSN, srv.URL, token), backend.HealthStatusError,
			[]string{"database 127.0.0.1:1/nothing: database unavailable"}, "database unavailable", 502},
		{"schema missing", fixture.Settings(empty, srv.URL, token), backend.HealthStatusError,
			[]string{"answers but the control plane's schema does not (run wedsync-autoscaler migrate)"}, "", 0},
		{"API unreachable", fixture.Settings(dsn, deadURL, token), backend.HealthStatusError,
			[]string{"control-plane API unreachable: GET " + deadURL + "/api/admin/scaling/health"}, "", 0},
		{"API token refused", fixture.Settings(dsn, srv.URL, "wrong"), backend.HealthStatusError,
			[]string{"control-plane API GET /api/admin/scaling/health: 401 unauthorized: missing or unknown bearer token"}, "", 0},
		{"token in plain jsonData", func() backend.DataSourceInstanceSettings {
			s := fixture.Settings(dsn, srv.URL, token)
			s.JSONData = json.RawMessage(strings.Replace(string(s.JSONData), "{", `{"apiToken": "leaked",`, 1))
			return s
		}(), backend.HealthStatusError, []string{"jsonData.apiToken is stored unencrypted and ignored: set it as a secure field"}, "", 0},
		{"stream too slow", func() backend.DataSourceInstanceSettings {
			s := fixture.Settings(dsn, srv.URL, token)
			s.JSONData = json.RawMessage(strings.Replace(string(s.JSONData), `"streamIntervalSeconds":1`, `"streamIntervalSeconds":10`, 1))
			return s
		}(), backend.HealthStatusError, []string{"streamIntervalSeconds 10 is above 5"}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ds := plugin.New(ctx, tt.settings)
			defer ds.Dispose()
			h, err := ds.CheckHealth(ctx, &backend.CheckHealthRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if h.Status != tt.health {
				t.Errorf("health %v (%s), want %v", h.Status, h.Message, tt.health)
			}
			for _, m := range tt.healthMsg {
				if !strings.Contains(h.Message, m) {
					t.Errorf("health message %q lacks %q", h.Message, m)
				}
			}
			if tt.queryMsg == "" {
				return
			}
			resp, err := ds.QueryData(ctx, &backend.QueryDataRequest{Queries: []backend.DataQuery{
				q("A", "scaling_events", `{}`, time.Now().Add(-time.Hour), time.Now())}})
			if err != nil {
				t.Fatal(err)
			}
			r := resp.Responses["A"]
			if r.Error == nil || r.Status != tt.queryCode || !strings.Contains(r.Error.Error(), tt.queryMsg) {
				t.Errorf("query: %d %v; want %d containing %q", r.Status, r.Error, tt.queryCode, tt.queryMsg)
			}
		})
	}
}

func TestHealthSummaryWithoutAPI(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t)
	ds := plugin.New(context.Background(), fixture.Settings(dsn, "", ""))
	defer ds.Dispose()
	resp, _ := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{q("A", "health", `{}`, time.Now().Add(-time.Hour), time.Now())}})
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	f := r.Frames[0]
	if got := f.Fields[8].At(0); got != "ok" {
		t.Errorf("database = %v", got)
	}
	if got := f.Fields[9].At(0).(string); !strings.Contains(got, "control-plane API URL is not set") {
		t.Errorf("control_plane = %q", got)
	}
	if f.Meta == nil || f.Meta.Channel != "ds/wedsync-scaling/health" {
		t.Errorf("channel = %+v", f.Meta)
	}
}
