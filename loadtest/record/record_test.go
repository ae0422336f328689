package record

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/loadtest/engine"
	"github.com/wedsync/scaling/loadtest/scenario"
	"github.com/wedsync/scaling/loadtest/summary"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func shortScenario(t *testing.T, name, target string) scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse([]byte(`{"name":"` + name + `","type":"baseline","target":"` + target + `","vus":2,"duration":"700ms",
		"thresholds":{"http_req_duration":["p(95)<2000"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// A run is recorded running → completed with its benchmark; marked as
// baseline; a slower second run is compared, found regressed, and raises
// WedsyncLoadTestRegression in a real Alertmanager.
func TestRunBaselineRegressionAlert(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	am, err := devstack.StartAlertmanager(ctx, devstack.ServerOptions{Config: []byte("route: {receiver: people}\nreceivers: [{name: people}]\n")})
	if err != nil {
		t.Fatal(err)
	}
	defer am.Close()
	alerter, err := NewAlertmanager([]string{am.URL()}, "http://wedsync-load.example")
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.New(t)
	rc := &Recorder{Store: st, Alerter: alerter}
	var delay atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(time.Duration(delay.Load()))
		w.Write([]byte("ok"))
	}))
	defer srv.Close()

	rec, err := rc.Start(ctx, shortScenario(t, "api-baseline", srv.URL), engine.Options{Tick: 200 * time.Millisecond}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if lt, _ := st.GetLoadTest(ctx, rec.LoadTest.ID); lt.Status != store.LoadTestRunning {
		t.Fatalf("while running: %s", lt.Status)
	}
	_, first, err := rec.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.LoadTest.Status != store.LoadTestCompleted || first.Benchmark == nil || first.Comparison != nil || !*first.LoadTest.PassedCriteria {
		t.Fatalf("first run: %+v", first)
	}
	var results Results
	if err := json.Unmarshal(first.LoadTest.Results, &results); err != nil || results.Figures.Requests == 0 || results.Summary.Metrics["http_reqs"].Type != "counter" {
		t.Fatalf("results %s: %v", first.LoadTest.Results, err)
	}
	if b, err := rc.MarkBaseline(ctx, first.LoadTest.ID); err != nil || !b.IsBaseline {
		t.Fatalf("mark baseline: %+v %v", b, err)
	}

	delay.Store(int64(30 * time.Millisecond))
	rec, err = rc.Start(ctx, shortScenario(t, "api-baseline", srv.URL), engine.Options{Tick: 200 * time.Millisecond}, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := rec.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Regressed() || second.AlertErr != nil || second.LoadTest.BaselineComparison == nil {
		t.Fatalf("second run: regressed %v, alert %v, comparison %s", second.Regressed(), second.AlertErr, second.LoadTest.BaselineComparison)
	}
	var stored Comparison
	if err := json.Unmarshal(second.LoadTest.BaselineComparison, &stored); err != nil || !stored.Regressed || stored.BaselineBenchmarkID != first.Benchmark.ID {
		t.Fatalf("stored comparison %s: %v", second.LoadTest.BaselineComparison, err)
	}
	c := amclient.NewHTTPClientWithConfig(strfmt.Default, amclient.DefaultTransportConfig().
		WithHost(strings.TrimPrefix(am.URL(), "http://")).WithBasePath("/api/v2").WithSchemes([]string{"http"}))
	resp, err := c.Alert.GetAlerts(alert.NewGetAlertsParamsWithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Payload) != 1 {
		t.Fatalf("alerts in Alertmanager: %d", len(resp.Payload))
	}
	got := resp.Payload[0]
	for k, v := range map[string]string{"alertname": AlertName, "severity": "warning", "benchmark": "api-baseline", "test_type": "baseline"} {
		if got.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, got.Labels[k], v)
		}
	}
	if _, ok := got.Labels["scaling_action"]; ok {
		t.Error("the regression alert carries scaling_action: it would reach the autoscaler")
	}
	if !strings.Contains(got.Annotations["description"], "p95_ms") || got.Annotations["load_test_id"] != second.LoadTest.ID {
		t.Errorf("annotations %v", got.Annotations)
	}
	// compare by id gives the same verdict.
	cmp, err := rc.Compare(ctx, second.LoadTest.ID, "")
	if err != nil || !cmp.Regressed {
		t.Fatalf("compare: %+v %v", cmp, err)
	}
	if cmp, err := rc.Compare(ctx, second.LoadTest.ID, second.LoadTest.ID); err != nil || cmp.Regressed {
		t.Fatalf("compare with itself: %+v %v", cmp, err)
	}
}

func TestCancelledRunIsRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	rc := &Recorder{Store: st}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	sc := shortScenario(t, "long", srv.URL)
	sc.Duration = nil
	sc.Options.Duration = ptrDuration(time.Minute)
	rctx, cancel := context.WithCancel(ctx)
	rec, err := rc.Start(rctx, sc, engine.Options{Tick: 100 * time.Millisecond}, "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	res, out, err := rec.Wait(rctx)
	if err != nil {
		t.Fatal(err)
	}
	if out.LoadTest.Status != store.LoadTestCancelled || out.LoadTest.Results == nil || out.LoadTest.PassedCriteria != nil || res.Metrics["http_reqs"].Values["count"] == 0 {
		t.Fatalf("cancelled run: %+v", out.LoadTest)
	}
	// Invalid scenarios and broken limits leave no row behind.
	bad := shortScenario(t, "big", srv.URL)
	bad.VUs = ptrInt(5000)
	if _, err := rc.Start(ctx, bad, engine.Options{}, ""); err == nil {
		t.Fatal("5000 VUs started")
	}
	if list, _ := st.ListLoadTests(ctx, store.LoadTestFilter{Name: "big"}); len(list) != 0 {
		t.Fatalf("rows for a refused scenario: %v", list)
	}
}

func TestImportFixtures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	rc := &Recorder{Store: st}
	imp := func(file, name string) Outcome {
		b, err := os.ReadFile(filepath.Join("..", "testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		d, format, err := summary.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		out, err := rc.Import(ctx, d, format, ImportMeta{Name: name, Type: scenario.TypeStress, Target: "http://example.test"})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	qr := imp("andreposman_qr-code-generator__summary-export.json", "qr")
	b := qr.Benchmark
	if b.ThroughputRPS == nil || *b.ThroughputRPS != 4288.100370179589 || *b.P99 != 348.6492700000003 || b.P95 != nil || *b.ErrorRate != 0 || *b.ConcurrentUsers != 149 {
		t.Fatalf("qr benchmark %+v", b)
	}
	if qr.LoadTest.Status != store.LoadTestCompleted || qr.LoadTest.PassedCriteria != nil || qr.LoadTest.DurationSeconds == nil || *qr.LoadTest.DurationSeconds < 114 || *qr.LoadTest.DurationSeconds > 116 {
		t.Fatalf("qr load test %+v", qr.LoadTest)
	}
	var res Results
	if err := json.Unmarshal(qr.LoadTest.Results, &res); err != nil || res.Figures.Requests != 493168 || res.Source != "k6 summary-export" {
		t.Fatalf("qr results: %+v %v", res.Figures, err)
	}
	mn := imp("mn1809_K6PerformanceTesting__k6-summary.handleSummary.redacted.json", "mn")
	if strings.Contains(string(mn.LoadTest.Results), "REDACTED-JWT") {
		t.Fatal("the summary's setup_data (a token in real life) was stored")
	}
	if *mn.Benchmark.P95 != 130.64669999999998 || *mn.Benchmark.ErrorRate != 0.011321679178259577 || !*mn.LoadTest.PassedCriteria || *mn.Benchmark.ConcurrentUsers != 100 {
		t.Fatalf("mn %+v %+v", mn.Benchmark, mn.LoadTest)
	}
	// The imported run becomes the baseline; the same summary again does not regress.
	if _, err := rc.MarkBaseline(ctx, mn.LoadTest.ID); err != nil {
		t.Fatal(err)
	}
	again := imp("mn1809_K6PerformanceTesting__k6-summary.handleSummary.redacted.json", "mn")
	if again.Comparison == nil || again.Regressed() {
		t.Fatalf("re-import: %+v", again.Comparison)
	}
}

func ptrDuration(d time.Duration) *scenario.Duration { v := scenario.Duration(d); return &v }
func ptrInt(v int64) *int64                          { return &v }
