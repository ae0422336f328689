package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/exporter/billing"
	"github.com/wedsync/scaling/exporter/config"
)

var update = flag.Bool("update", false, "rewrite the golden .prom files")

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// now is the clock of every test: yesterday is 2026-11-16.
var now = time.Date(2026, 11, 17, 9, 30, 0, 0, time.UTC)

func day(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// adapter runs a Collector as a prometheus.Collector, for testutil.
type adapter struct {
	c   Collector
	t   *testing.T
	now time.Time
}

func (adapter) Describe(chan<- *prometheus.Desc) {}
func (a adapter) Collect(ch chan<- prometheus.Metric) {
	if err := a.c.Update(context.Background(), a.now, ch); err != nil {
		a.t.Errorf("update: %v", err)
	}
}

// golden compares what c exports with testdata/<name>.prom (-update
// rewrites it).
func golden(t *testing.T, c Collector, name string) {
	t.Helper()
	path := filepath.Join("testdata", name+".prom")
	if *update {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(adapter{c, t, now})
		if err := prometheus.WriteToTextfile(path, reg); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if err := testutil.CollectAndCompare(adapter{c, t, now}, bytes.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func seed(t *testing.T, s *store.Store, source string, rows []store.CostRecord) {
	t.Helper()
	var days []time.Time
	for _, r := range rows {
		days = append(days, r.Date)
	}
	if _, err := s.ReplaceCosts(context.Background(), source, store.CostScope{Days: days}, rows); err != nil {
		t.Fatal(err)
	}
}

func rec(d time.Time, service, resource, team, amount string) store.CostRecord {
	return store.CostRecord{Date: d, Service: service, ResourceType: resource, Team: team, Amount: dec(amount)}
}

// A month of costs: openai 2.00 a day (tokens billed too), 5.00 on the
// 16th (a spike); vercel 1.00 a day for team web; a credit on the 10th.
func seedMonth(t *testing.T, s *store.Store) {
	var rows []store.CostRecord
	for d := day(1).AddDate(0, 0, -20); !d.After(day(17)); d = d.AddDate(0, 0, 1) {
		amount := "2.00"
		if d.Equal(day(16)) {
			amount = "5.00"
		}
		r := rec(d, "openai", "gpt-4o", "ai", amount)
		r.Feature = "menu-suggestions"
		r.UsageQuantity = decimal.NullDecimal{Decimal: dec("1000"), Valid: true}
		r.UsageUnit = "tokens"
		if d.Equal(day(16)) {
			r.UsageQuantity.Decimal = dec("2500")
		}
		rows = append(rows, r, rec(d, "vercel", "Function Duration", "web", "1.00"))
	}
	credit := rec(day(10), "vercel", "Credits", "", "-3")
	credit.ChargeCategory = "Credit"
	seed(t, s, "seed", append(rows, credit))
}

func TestCostsGolden(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	seedMonth(t, s)
	// A refund of October's over-billing (a FOCUS correction) and a
	// negative usage line: netted into the month, shown as refunds.
	refund := rec(day(12), "cloud", "vm", "", "-0.75")
	refund.ChargeClass = "Correction"
	seed(t, s, "refunds", []store.CostRecord{rec(day(12), "cloud", "vm", "", "4"), refund, rec(day(13), "cloud", "disk", "", "-0.125")})
	golden(t, Costs{Store: s, BaselineDays: 7}, "costs")
}

func TestProjections(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	seedMonth(t, s)
	golden(t, Projections{Store: s}, "projections")
	// A flat 1.00 a day since October: the month is 16 days of actual
	// cost and 14 forecast at 1.00. A service seen for the first time
	// yesterday cannot be projected yet: it is left out, the others stay.
	var flat []store.CostRecord
	for d := day(1).AddDate(0, 0, -20); !d.After(day(16)); d = d.AddDate(0, 0, 1) {
		flat = append(flat, rec(d, "flat", "x", "", "1.00"))
	}
	flat = append(flat, rec(day(16), "brand-new", "x", "", "4.00"))
	seed(t, s, "flat", flat)
	ch := make(chan prometheus.Metric, 100)
	if err := (Projections{Store: s}).Update(context.Background(), now, ch); err != nil {
		t.Fatal(err)
	}
	close(ch)
	found := false
	for m := range ch {
		if metricLabels(m)["service"] == "brand-new" {
			t.Errorf("a projection of one day of cost: %s", m.Desc())
		}
		if strings.Contains(m.Desc().String(), `"wedsync_cost_projection_usd"`) {
			got := testutil.ToFloat64(constCollector{m})
			if labels := metricLabels(m); labels["service"] == "flat" && labels["horizon"] == "month" {
				found = true
				if math.Abs(got-30) > 0.01 {
					t.Errorf("flat month projection %v, want 30", got)
				}
			}
		}
	}
	if !found {
		t.Error("no month projection of the flat series")
	}
}

type constCollector struct{ m prometheus.Metric }

func (c constCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.m.Desc() }
func (c constCollector) Collect(ch chan<- prometheus.Metric) { ch <- c.m }

func metricLabels(m prometheus.Metric) map[string]string {
	var pb = new(dtoMetric)
	_ = m.Write(&pb.Metric)
	out := map[string]string{}
	for _, l := range pb.Metric.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func TestBudgetsGolden(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	seedMonth(t, s)
	for _, b := range []store.Budget{
		{Name: "platform-monthly", Limit: dec("100"), Active: true},
		{Name: "ai-monthly", Team: "ai", Limit: dec("40"), AlertThresholds: []int{50, 75, 90, 100}, Active: true},
		{Name: "vercel-quarterly", Service: "vercel", Period: "quarterly", Limit: dec("500"), AlertThresholds: []int{80}, Active: true},
		{Name: "eur", Limit: dec("1"), Currency: "EUR", Active: true},
	} {
		if _, err := s.UpsertBudget(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, Budgets{Store: s, Logger: discard}, "budgets")
}

func TestCustomGolden(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	for _, m := range []store.PerformanceMetric{
		{Name: "signups", Value: 3, Service: "api", Unit: "users", Labels: map[string]string{"plan": "free"}, RecordedAt: now.Add(-time.Minute)},
		{Name: "signups", Value: 1, Service: "api", Unit: "users", Labels: map[string]string{"plan": "pro", "region-id": "eu", "service": "x"}, RecordedAt: now.Add(-time.Minute)},
		{Name: "queue_depth", Value: 12, Service: "worker", RecordedAt: now.Add(-2 * time.Minute)},
		{Name: "stale", Value: 1, Service: "worker", RecordedAt: now.Add(-2 * time.Hour)},
	} {
		if err := s.RecordPerformanceMetric(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, Custom{Store: s, MaxAge: time.Hour, MaxSeries: 100, Logger: discard}, "custom")
}

func TestUsersAndPhase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, err := store.OpenAppDB(ctx, dsn, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	// Stand-ins for auth.users: 1,250 users, 300 of them active.
	golden(t, Users{App: app, TotalQuery: "SELECT 1250", ActiveQuery: "SELECT count(*) * 100 FROM generate_series(1, 3)", Phases: s}, "users")
}

func TestInvoicesGolden(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	var rows []store.CostRecord
	for d := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC); d.Month() == time.October; d = d.AddDate(0, 0, 1) {
		rows = append(rows, rec(d, "supabase", "plan", "", "1.0086"))
	}
	seed(t, s, "supabase", rows)
	golden(t, Invoices{Store: s, Invoices: map[string][]billing.Invoice{"supabase": {{Month: "2026-10", Amount: dec("31.60")}}}}, "invoices")
}

func TestCapacity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, err := store.OpenAppDB(ctx, dsn, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	// Storage grew 10 GB a day for 5 days to 50 GB (now): 100 GB is 5 days off.
	for i := 0; i < 5; i++ {
		if err := s.RecordCapacity(ctx, store.CapacitySample{Resource: "storage", Service: "supabase", Used: float64(10 * i), Max: 100,
			Unit: "GB", RecordedAt: now.Add(time.Duration(i-5) * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	r := rec(day(3), "vercel", "Fast Data Transfer", "", "1")
	r.UsageQuantity, r.UsageUnit = decimal.NullDecimal{Decimal: dec("120"), Valid: true}, "GB"
	seed(t, s, "vercel", []store.CostRecord{r})
	limit := func(v float64) *float64 { return &v }
	c := &Capacity{App: app, Store: s, RecordInterval: time.Hour, History: 30 * 24 * time.Hour, Resources: []config.Resource{
		{Resource: "database_connections", Service: "supabase", Usage: "connections", Unit: "connections"},
		{Resource: "database_storage", Service: "supabase", Usage: "database_size", Unit: "bytes", Limit: limit(8 << 30)},
		{Resource: "storage", Service: "supabase", Usage: "query", Query: "SELECT 50", Unit: "GB", Limit: limit(100)},
		{Resource: "bandwidth", Service: "vercel", Usage: "cost_usage", CostUsage: &config.CostUsage{Service: "vercel", Resource: "Fast Data Transfer"},
			Unit: "GB", Limit: limit(1000), ResetsMonthly: true},
	}}
	ch := make(chan prometheus.Metric, 100)
	if err := c.Update(ctx, now, ch); err != nil {
		t.Fatal(err)
	}
	close(ch)
	got := map[string]float64{}
	for m := range ch {
		l := metricLabels(m)
		name := strings.Split(strings.Split(m.Desc().String(), `fqName: "`)[1], `"`)[0]
		got[name+"/"+l["resource"]] = testutil.ToFloat64(constCollector{m})
	}
	if v := got["wedsync_capacity_exhaustion_eta_seconds/storage"]; math.Abs(v-5*86400) > 60 {
		t.Errorf("storage ETA %v s, want 5 days", v)
	}
	if v := got["wedsync_capacity_used/bandwidth"]; v != 120 {
		t.Errorf("bandwidth used %v", v)
	}
	if v := got["wedsync_capacity_used/database_connections"]; v < 1 || got["wedsync_capacity_limit/database_connections"] < v {
		t.Errorf("connections %v of %v", v, got["wedsync_capacity_limit/database_connections"])
	}
	if v := got["wedsync_capacity_utilization_ratio/storage"]; v != 0.5 {
		t.Errorf("storage utilization %v", v)
	}
	if v := got["wedsync_capacity_exhaustion_eta_seconds/database_storage"]; !math.IsInf(v, 1) {
		t.Errorf("one sample of database size: ETA %v, want +Inf", v)
	}
	// A sample was recorded for each resource, once per interval.
	h, _ := s.CapacityHistory(ctx, "storage", "supabase", now.Add(-time.Minute))
	if len(h) != 1 || h[0].ProjectedExhaustion == nil || h[0].ProjectedExhaustion.Sub(now.Add(5*24*time.Hour)).Abs() > time.Minute {
		t.Errorf("recorded: %+v", h)
	}
	if err := c.Update(ctx, now.Add(time.Minute), make(chan prometheus.Metric, 100)); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.CapacityHistory(ctx, "storage", "supabase", now.Add(-time.Minute)); len(h) != 1 {
		t.Errorf("recorded again within the interval: %d", len(h))
	}
}

type flaky struct {
	calls atomic.Int32
	fail  atomic.Bool
}

var flakyDesc = desc("test_value", "A test value.")

func (f *flaky) Update(_ context.Context, _ time.Time, ch chan<- prometheus.Metric) error {
	f.calls.Add(1)
	if f.fail.Load() {
		return errors.New("database down")
	}
	ch <- gaugeF(flakyDesc, 42)
	return nil
}

// The snapshot: scrapes serve the rendering without running collectors; a
// failing collector shows as success 0 and keeps its values; the scrape is
// never a 500; gzip is two members any reader takes; promtool is happy.
func TestSnapshotServesCachedRendering(t *testing.T) {
	t.Parallel()
	f := &flaky{}
	live := prometheus.NewRegistry()
	live.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wedsync_exporter_live_test", Help: "Live."}, func() float64 { return 1 }))
	snap := NewSnapshot([]Entry{{Name: "flaky", Kind: EverySnapshot, Collector: f}}, live, discard)
	srv := httptest.NewServer(snap)
	defer srv.Close()
	// Before the first build: the live metrics, not an error.
	if resp, err := http.Get(srv.URL); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("before the first build: %v %v", resp, err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "wedsync_exporter_live_test 1") || strings.Contains(string(b), "wedsync_test_value") {
			t.Errorf("before the first build:\n%s", b)
		}
	}
	snap.Build(context.Background(), now, true)
	f.fail.Store(true)
	snap.Build(context.Background(), now.Add(time.Minute), false)
	calls := f.calls.Load()
	var body []byte
	for _, gz := range []bool{false, true} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if gz {
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Fatal("not gzipped")
			}
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, body) {
				t.Errorf("gzip body differs:\n%s\n---\n%s", b, body)
			}
		}
		body = b
	}
	if f.calls.Load() != calls {
		t.Error("a scrape ran a collector")
	}
	for _, want := range []string{"wedsync_exporter_live_test 1", "wedsync_test_value 42", `wedsync_exporter_collector_success{collector="flaky"} 0`,
		`wedsync_exporter_collector_last_success_timestamp_seconds{collector="flaky"} 1.7949078e+09`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
	promtoolCheckMetrics(t, body)
}

func promtoolCheckMetrics(t *testing.T, metrics []byte) {
	t.Helper()
	if err := devstack.CheckMetrics(context.Background(), metrics); err != nil {
		t.Fatal(err)
	}
}
