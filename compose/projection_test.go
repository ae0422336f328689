package compose_test

// This module hosts the test that the three screens of a projection agree
// because it is the one that already puts the deployed components side by
// side (it requires the autoscaler and the plugin to check the stack's
// configuration): the admin API, the exporter and the Grafana plugin are
// each started here as they run in the stack, on one PostgreSQL, with the
// same clock.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/api"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/exporter/collector"
	"github.com/wedsync/scaling/grafana-plugin/fixture"
	"github.com/wedsync/scaling/grafana-plugin/pkg/plugin"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// agreementCosts: 200 days of three services — one growing 10 % a month
// with a weekly pattern, one flat, one started 40 days ago — in amounts
// with six decimals (sub-cent lines, a credit), so a rounding done in a
// different place on any screen would show in the cents.
func agreementCosts(last time.Time) []store.CostRecord {
	var rows []store.CostRecord
	week := []float64{1.10, 1.20, 1.20, 1.15, 1.05, 0.65, 0.65}
	for i := range 200 {
		d := last.AddDate(0, 0, -199+i)
		api := 80 * math.Pow(1.10, float64(i)/30.4) * week[int(d.Weekday())]
		rows = append(rows,
			store.CostRecord{Date: d, Service: "api", ResourceType: "compute", Amount: decimal.NewFromFloat(api).Round(6)},
			store.CostRecord{Date: d, Service: "database", ResourceType: "compute", Amount: decimal.RequireFromString("33.333333")},
			store.CostRecord{Date: d, Service: "database", ResourceType: "storage", Amount: decimal.RequireFromString("0.000417")})
		if i >= 160 {
			rows = append(rows, store.CostRecord{Date: d, Service: "cache", ResourceType: "memory", Amount: decimal.NewFromFloat(4.5 + 0.05*float64(i-160)).Round(6)})
		}
		if i%30 == 0 {
			rows = append(rows, store.CostRecord{Date: d, Service: "api", ResourceType: "compute", ChargeCategory: "Credit", Amount: decimal.RequireFromString("-12.345678")})
		}
	}
	return rows
}

// The month-end of every service and of the platform is the same to the
// cent in the admin API's response, the exporter's scraped metrics and the
// plugin's frames (the Overview and Cost dashboards' cost_current and the
// Cost dashboard's cost_projection), all computed by core/projection.
func TestProjectionAgreesEverywhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	now := time.Date(2026, 6, 15, 10, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	if _, err := st.ReplaceCosts(ctx, "agreement", store.CostScope{All: true}, agreementCosts(now.Truncate(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The admin API.
	_, secret, err := st.CreateToken(ctx, "viewer", store.RoleViewer, "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Store: st, Costs: st, Logger: logger, Now: clock}).Handler())
	t.Cleanup(srv.Close)
	apiMonth := func(query string) (services map[string]string, overall string) {
		req, _ := http.NewRequest("GET", srv.URL+"/api/admin/costs/projections"+query, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			AsOf     string `json:"as_of"`
			Services []struct {
				Service   string            `json:"service"`
				Projected map[string]string `json:"projected"`
			} `json:"services"`
			Overall struct {
				Projected map[string]string `json:"projected"`
				Excluded  []string          `json:"excluded"`
			} `json:"overall"`
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil || body.AsOf != "2026-06-14" || len(body.Overall.Excluded) != 0 {
			t.Fatalf("projections%s: %d %+v", query, resp.StatusCode, body)
		}
		services = map[string]string{}
		for _, s := range body.Services {
			services[s.Service] = s.Projected["month"]
		}
		return services, body.Overall.Projected["month"]
	}
	apiServices, apiOverall := apiMonth("")

	// The exporter, scraped.
	snap := collector.NewSnapshot([]collector.Entry{{Name: "projections", Kind: collector.OnCostChange,
		Collector: collector.Projections{Store: st, Logger: logger}}}, nil, logger)
	snap.Build(ctx, now, true)
	rec := httptest.NewRecorder()
	snap.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	exported := map[string]string{}
	exportedSum := decimal.Zero
	for _, m := range families["wedsync_cost_projection_usd"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["horizon"] == "month" {
			v := strconv.FormatFloat(m.GetGauge().GetValue(), 'f', 2, 64)
			exported[labels["service"]] = v
			exportedSum = exportedSum.Add(decimal.RequireFromString(v))
		}
	}

	// The plugin, queried as the dashboards' panels query it.
	ds := plugin.New(ctx, fixture.Settings(dsn, "", ""), plugin.WithClock(clock))
	frameValue := func(queryType, model, frame, field string) string {
		resp, err := ds.QueryData(ctx, &backend.QueryDataRequest{
			PluginContext: backend.PluginContext{DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{UID: fixture.UID}},
			Queries: []backend.DataQuery{{RefID: "A", QueryType: queryType, JSON: json.RawMessage(model),
				TimeRange: backend.TimeRange{From: now.AddDate(0, 0, -30), To: now}, Interval: time.Minute, MaxDataPoints: 1000}},
		})
		if err != nil || resp.Responses["A"].Error != nil {
			t.Fatalf("%s: %v %v", queryType, err, resp.Responses["A"].Error)
		}
		for _, f := range resp.Responses["A"].Frames {
			if f.Name != frame {
				continue
			}
			fl, _ := f.FieldByName(field)
			if fl == nil || fl.Type() != data.FieldTypeString {
				t.Fatalf("%s.%s: %v, want a decimal string", frame, field, fl)
			}
			return fl.At(0).(string)
		}
		t.Fatalf("%s: no frame %s", queryType, frame)
		return ""
	}

	if len(apiServices) != 3 || len(exported) != 3 {
		t.Fatalf("services: API %v, exporter %v", apiServices, exported)
	}
	for svc, want := range apiServices {
		if exported[svc] != want {
			t.Errorf("%s month-end: API %s, exporter %s", svc, want, exported[svc])
		}
		model := fmt.Sprintf(`{"service": %q}`, svc)
		if got := frameValue("cost_current", model, "cost_current", "month_projection"); got != want {
			t.Errorf("%s month-end: API %s, plugin cost_current %s", svc, want, got)
		}
		if filtered, _ := apiMonth("?service=" + svc); filtered[svc] != want {
			t.Errorf("%s month-end: API %s, API filtered to it %s", svc, want, filtered[svc])
		}
	}
	for name, got := range map[string]string{
		"exporter (sum of the services)":                       exportedSum.StringFixed(2),
		"plugin cost_current (Overview, Cost: This month)":     frameValue("cost_current", `{}`, "cost_current", "month_projection"),
		"plugin cost_projection (Cost: Projection (forecast))": frameValue("cost_projection", `{}`, "cost_projection_summary", "month_projection"),
	} {
		if got != apiOverall {
			t.Errorf("platform month-end: API %s, %s %s", apiOverall, name, got)
		}
	}
	t.Logf("month-end %s (services %v)", apiOverall, apiServices)
}
