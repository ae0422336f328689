package fleet

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/wedsync/scaling/core/devstack"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var fleetMetricNames = []string{
	"wedsync_demo_busy_seconds_total",
	"wedsync_demo_slots",
	"wedsync_demo_replicas",
	"wedsync_demo_desired_replicas",
	"wedsync_demo_memory_used_bytes",
	"wedsync_demo_memory_limit_bytes",
	"wedsync_demo_queue_length",
}

// compareGolden checks the named metrics of f against testdata/name, or rewrites it.
func compareGolden(t *testing.T, f *Fleet, name string, metricNames ...string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		got, err := testutil.GatherAndFormat(f.Gatherer(), expfmt.TypeTextPlain, metricNames...)
		if err != nil {
			t.Fatalf("format metrics: %v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.Open(path)
	if err != nil {
		t.Fatalf("open golden file (run go test -update to create it): %v", err)
	}
	defer want.Close()
	if err := testutil.GatherAndCompare(f.Gatherer(), want, metricNames...); err != nil {
		t.Fatalf("metrics differ from %s (go test -update rewrites it):\n%v", path, err)
	}
}

func TestCollectorGolden(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	cfg := testConfig()
	cfg.Replicas = 2
	cfg.SlotsPerReplica = 1
	cfg.now = clk.Now
	f := newTestFleet(t, cfg)
	p := f.pool

	a, _ := p.acquire(context.Background())
	b, _ := p.acquire(context.Background())
	w1, cancel1 := queued(p)
	waitFor(t, 2*time.Second, "first waiter", func() bool { return p.state().Queued == 1 })
	_, cancel2 := queued(p)
	waitFor(t, 2*time.Second, "second waiter", func() bool { return p.state().Queued == 2 })
	t.Cleanup(cancel2)
	t.Cleanup(cancel1)

	clk.Advance(1500 * time.Millisecond)
	a() // 1.5 s done; the first waiter takes the slot at 1.5 s
	c := <-w1
	t.Cleanup(c)
	t.Cleanup(b)
	clk.Advance(500 * time.Millisecond)
	if _, err := f.SetReplicas(3); err != nil { // provisioning takes an hour: desired 3, ready 2
		t.Fatal(err)
	}
	// busy = 1.5 (a) + 2.0 (b, running) + 0.5 (waiter, running) = 4 s;
	// memory = 2 × 128 MiB + (2 busy + 1 queued) × 4 MiB.
	compareGolden(t, f, "fleet_metrics.prom", fleetMetricNames...)
}

func TestHTTPMetricsGolden(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	cfg := testConfig()
	cfg.SlotsPerReplica = 1
	cfg.MaxQueue = 0
	cfg.ServiceTime = time.Millisecond
	cfg.now = clk.Now // frozen: every duration is 0, so the histogram is exact
	f := newTestFleet(t, cfg)
	h := f.Handler()

	get := func(path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code
	}
	hold, _ := f.pool.acquire(context.Background())
	if code := get("/api/weddings"); code != http.StatusServiceUnavailable {
		t.Fatalf("with the only slot held and no queue: status %d, want 503", code)
	}
	hold()
	for _, p := range WorkloadPaths {
		if code := get(p); code != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200", p, code)
		}
	}
	// Non-workload endpoints are not counted.
	get("/healthz")
	get("/admin/replicas")
	compareGolden(t, f, "http_metrics.prom", "http_requests_total", "http_request_duration_seconds")
}

func TestMetricsPassPromtool(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.SlotsPerReplica = 1
	cfg.MaxQueue = 0
	f := newTestFleet(t, cfg)
	srv := httptest.NewServer(f.Handler())
	t.Cleanup(srv.Close)

	// One answered and one rejected request, so every family has samples.
	hold, _ := f.pool.acquire(context.Background())
	mustGet(t, srv.URL+"/api/vendors", http.StatusServiceUnavailable)
	hold()
	mustGet(t, srv.URL+"/api/weddings", http.StatusOK)

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	for _, name := range append([]string{"http_requests_total", "http_request_duration_seconds_bucket"}, fleetMetricNames...) {
		if !bytes.Contains(body.Bytes(), []byte("\n"+name)) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if bytes.Contains(body.Bytes(), []byte(`service="`)) {
		t.Errorf("/metrics carries a service label; Prometheus adds it as a target label")
	}
	if err := devstack.CheckMetrics(context.Background(), body.Bytes()); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, url string, wantCode int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != wantCode {
		t.Fatalf("GET %s: status %d, want %d", url, resp.StatusCode, wantCode)
	}
}
