package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/grafana-plugin/fixture"
	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
)

// binary is the plugin executable, built once per test binary (a cold build
// takes ~90 s here) unless WEDSYNC_GPX_BINARY names one already built.
var binary string

func TestMain(m *testing.M) {
	code := func() int {
		if b := os.Getenv("WEDSYNC_GPX_BINARY"); b != "" {
			binary = b
			return storetest.Main(m)
		}
		dir, err := devstack.TempDir("wedsync-gpx-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "gpx_wedsync_scaling_linux_amd64")
		if err := Build(binary); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return storetest.Main(m)
	}()
	os.Exit(code)
}

// Build compiles the backend as the release does.
func Build(out string) error {
	cmd := exec.Command("go", "build", "-tags", "arrow_json_stdlib", "-ldflags", "-w -s", "-o", out, "../pkg")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the plugin: %v\n%s", err, b)
	}
	return nil
}

// grafana is the host side of the plugin, as Grafana's plugin manager
// holds it.
type grafana struct {
	client      *goplugin.Client
	data        grpcplugin.DataClient
	diagnostics grpcplugin.DiagnosticsClient
	resource    grpcplugin.ResourceClient
	stream      grpcplugin.StreamClient
	pctx        *pluginv2.PluginContext
}

func start(t *testing.T, settings backend.DataSourceInstanceSettings) *grafana {
	t.Helper()
	cmd := exec.Command(binary)
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{ProtocolVersion: grpcplugin.ProtocolVersion,
			MagicCookieKey: grpcplugin.MagicCookieKey, MagicCookieValue: grpcplugin.MagicCookieValue},
		VersionedPlugins: map[int]goplugin.PluginSet{grpcplugin.ProtocolVersion: {
			"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
			"resource":    &grpcplugin.ResourceGRPCPlugin{},
			"data":        &grpcplugin.DataGRPCPlugin{},
			"stream":      &grpcplugin.StreamGRPCPlugin{},
		}},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Error}),
		SyncStdout:       io.Discard,
		SyncStderr:       io.Discard,
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	g := &grafana{client: client}
	for name, into := range map[string]any{"data": &g.data, "diagnostics": &g.diagnostics, "resource": &g.resource, "stream": &g.stream} {
		raw, err := rpc.Dispense(name)
		if err != nil {
			t.Fatalf("dispense %s: %v", name, err)
		}
		switch p := into.(type) {
		case *grpcplugin.DataClient:
			*p = raw.(grpcplugin.DataClient)
		case *grpcplugin.DiagnosticsClient:
			*p = raw.(grpcplugin.DiagnosticsClient)
		case *grpcplugin.ResourceClient:
			*p = raw.(grpcplugin.ResourceClient)
		case *grpcplugin.StreamClient:
			*p = raw.(grpcplugin.StreamClient)
		}
	}
	settings.Updated = time.Now()
	g.pctx = backend.ToProto().PluginContext(backend.PluginContext{
		OrgID: 1, PluginID: "wedsync-scaling-datasource",
		User:                       &backend.User{Login: "alice", Role: "Editor"},
		DataSourceInstanceSettings: &settings,
	})
	return g
}

func (g *grafana) query(t *testing.T, queries ...backend.DataQuery) *backend.QueryDataResponse {
	t.Helper()
	req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{Queries: queries})
	req.PluginContext = g.pctx
	resp, err := g.data.QueryData(context.Background(), req)
	if err != nil {
		t.Fatalf("QueryData: %v", err)
	}
	out, err := backend.FromProto().QueryDataResponse(resp)
	if err != nil {
		t.Fatalf("decode frames: %v", err)
	}
	return out
}

const token = "e2e-token-0123456789"

func seeded(t *testing.T) (string, *store.Store, fixture.Seeded, *fixture.API, string) {
	t.Helper()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	s, err := fixture.Seed(ctx, st, time.Now().UTC().Truncate(time.Second), fixture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	api := &fixture.API{Token: token, Store: st}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return dsn, st, s, api, srv.URL
}

func TestPluginAsGrafanaRunsIt(t *testing.T) {
	t.Parallel()
	dsn, st, seed, api, apiURL := seeded(t)
	g := start(t, fixture.Settings(dsn, apiURL, token))
	ctx := context.Background()

	t.Run("CheckHealth", func(t *testing.T) {
		resp, err := g.diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: g.pctx})
		if err != nil {
			t.Fatal(err)
		}
		h := backend.FromProto().CheckHealthResponse(resp)
		if h.Status != backend.HealthStatusOk || !strings.Contains(h.Message, "growth phase startup") || !strings.Contains(h.Message, "token accepted") {
			t.Errorf("health %v: %s", h.Status, h.Message)
		}
	})

	t.Run("every query type returns data", func(t *testing.T) {
		models := map[string]string{
			"recommendations":   `{"allTime": true}`,
			"capacity_forecast": `{"resource": "database_connections"}`,
			"cost_breakdown":    `{"groupBy": "team", "interval": "day"}`,
		}
		now := time.Now()
		var queries []backend.DataQuery
		for _, qt := range queryTypes() {
			m, ok := models[qt]
			if !ok {
				m = `{}`
			}
			queries = append(queries, backend.DataQuery{RefID: qt, QueryType: qt, JSON: json.RawMessage(m),
				TimeRange: backend.TimeRange{From: now.AddDate(0, 0, -30), To: now}, Interval: time.Minute, MaxDataPoints: 500})
		}
		resp := g.query(t, queries...)
		for _, q := range queries {
			r, ok := resp.Responses[q.RefID]
			if !ok || r.Error != nil {
				t.Errorf("%s: %v", q.RefID, r.Error)
				continue
			}
			rows := 0
			for _, f := range r.Frames {
				rows += f.Rows()
				if f.RefID != q.RefID {
					t.Errorf("%s: frame %s has refId %q", q.RefID, f.Name, f.RefID)
				}
			}
			if rows == 0 {
				t.Errorf("%s: no rows", q.RefID)
			}
		}
	})

	t.Run("bad input is a per-query error, the process lives on", func(t *testing.T) {
		now := time.Now()
		resp := g.query(t,
			backend.DataQuery{RefID: "bad", QueryType: "budgets", JSON: json.RawMessage(`{`), TimeRange: backend.TimeRange{From: now.Add(-time.Hour), To: now}},
			backend.DataQuery{RefID: "inverted", QueryType: "cost_trend", JSON: json.RawMessage(`{}`), TimeRange: backend.TimeRange{From: now, To: now.Add(-time.Hour)}},
			backend.DataQuery{RefID: "unknown", QueryType: "nope", JSON: json.RawMessage(`{}`), TimeRange: backend.TimeRange{From: now.Add(-time.Hour), To: now}},
			backend.DataQuery{RefID: "good", QueryType: "growth_phases", JSON: json.RawMessage(`{}`), TimeRange: backend.TimeRange{From: now.Add(-time.Hour), To: now}},
		)
		for ref, want := range map[string]string{"bad": "query JSON", "inverted": "time range: to", "unknown": `unknown query type "nope"`} {
			if r := resp.Responses[ref]; r.Error == nil || !strings.Contains(r.Error.Error(), want) || r.Status != backend.StatusBadRequest {
				t.Errorf("%s: %d %v", ref, r.Status, r.Error)
			}
		}
		if r := resp.Responses["good"]; r.Error != nil || r.Frames[0].Rows() != 4 {
			t.Errorf("good: %v", r.Error)
		}
		if g.client.Exited() {
			t.Fatal("the plugin process exited")
		}
	})

	t.Run("resource call approves a recommendation", func(t *testing.T) {
		req := backend.ToProto().CallResourceRequest(&backend.CallResourceRequest{Method: "POST",
			Path: "recommendations/" + seed.PendingRecID + "/approve", URL: "recommendations/" + seed.PendingRecID + "/approve",
			Headers: map[string][]string{"Idempotency-Key": {"grafana-click-1"}}})
		req.PluginContext = g.pctx
		cl, err := g.resource.CallResource(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var status int32
		var body []byte
		for {
			chunk, err := cl.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if chunk.Code != 0 {
				status = chunk.Code
			}
			body = append(body, chunk.Body...)
		}
		if status != 200 || !strings.Contains(string(body), `"status":"approved"`) {
			t.Fatalf("%d %s", status, body)
		}
		calls := api.Calls()
		last := calls[len(calls)-1]
		if last.Path != "/api/admin/optimization/recommendations/"+seed.PendingRecID+"/approve" || last.IdempotencyKey != "grafana-click-1" {
			t.Errorf("API received %+v", last)
		}
		rec, err := st.GetRecommendation(ctx, seed.PendingRecID)
		if err != nil || rec.Status != "approved" || rec.ApprovedBy != "grafana" {
			t.Errorf("after approve: %s by %q (%v)", rec.Status, rec.ApprovedBy, err)
		}
	})

	t.Run("live stream shows a change within 5 s", func(t *testing.T) {
		sub, err := g.stream.SubscribeStream(ctx, &pluginv2.SubscribeStreamRequest{PluginContext: g.pctx, Path: "health"})
		if err != nil || sub.Status != pluginv2.SubscribeStreamResponse_OK {
			t.Fatalf("subscribe: %v %v", sub, err)
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		rs, err := g.stream.RunStream(sctx, &pluginv2.RunStreamRequest{PluginContext: g.pctx, Path: "health"})
		if err != nil {
			t.Fatal(err)
		}
		packets := make(chan []byte, 64)
		go func() {
			defer close(packets)
			for {
				p, err := rs.Recv()
				if err != nil {
					return
				}
				packets <- p.Data
			}
		}()
		unfinished := func(b []byte) float64 {
			var f struct {
				Data struct {
					Values [][]any `json:"values"`
				} `json:"data"`
			}
			if json.Unmarshal(b, &f) != nil || len(f.Data.Values) < 5 || len(f.Data.Values[4]) == 0 {
				return -1
			}
			v, _ := f.Data.Values[4][0].(float64)
			return v
		}
		first, ok := <-packets
		if !ok {
			t.Fatal("stream closed before its first packet")
		}
		if got := unfinished(first); got != 0 {
			t.Fatalf("unfinished events before the change = %v", got)
		}
		changed := time.Now()
		if _, err := st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "e2e", InitiatedBy: "manual"}); err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case p, ok := <-packets:
				if !ok {
					t.Fatal("stream closed")
				}
				if unfinished(p) == 1 {
					lat := time.Since(changed)
					t.Logf("change seen on the stream after %s", lat.Round(time.Millisecond))
					if lat > 5*time.Second {
						t.Errorf("latency %s is over 5 s", lat)
					}
					return
				}
			case <-time.After(6 * time.Second):
				t.Fatal("the change did not reach the stream within 6 s")
			}
		}
	})
}

// TestPluginStartsWithoutSettings: a datasource saved empty still starts,
// and CheckHealth says what to set.
func TestPluginStartsWithoutSettings(t *testing.T) {
	t.Parallel()
	g := start(t, backend.DataSourceInstanceSettings{UID: "empty", Name: "empty"})
	resp, err := g.diagnostics.CheckHealth(context.Background(), &pluginv2.CheckHealthRequest{PluginContext: g.pctx})
	if err != nil {
		t.Fatal(err)
	}
	h := backend.FromProto().CheckHealthResponse(resp)
	for _, want := range []string{"database host is not set", "control-plane API URL is not set", "API token is not set"} {
		if h.Status != backend.HealthStatusError || !strings.Contains(h.Message, want) {
			t.Errorf("health %v %q lacks %q", h.Status, h.Message, want)
		}
	}
}

func queryTypes() []string { return models.QueryTypes }
