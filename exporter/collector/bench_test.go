package collector

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// benchSeries: 10 services × 10 resources × 6 teams × 6 features = 3,600
// cost series, each exported three times (daily, month to date, baseline):
// ≈ 10,900 series on /metrics with the projections and budgets.
func seedHistory(b *testing.B, s *store.Store, days int, last time.Time) int {
	b.Helper()
	ctx := context.Background()
	rows := 0
	for start := 0; start < days; start += 30 {
		var batch []store.CostRecord
		var scope []time.Time
		for d := start; d < min(start+30, days); d++ {
			date := last.AddDate(0, 0, -d)
			scope = append(scope, date)
			for sv := range 10 {
				for r := range 10 {
					for tm := range 6 {
						for f := range 6 {
							batch = append(batch, store.CostRecord{Date: date, Service: fmt.Sprintf("service-%d", sv),
								ResourceType: fmt.Sprintf("resource-%d", r), Team: fmt.Sprintf("team-%d", tm), Feature: fmt.Sprintf("feature-%d", f),
								Amount: decimal.New(int64(100+d%7*10+sv+r), -2)})
						}
					}
				}
			}
		}
		if _, err := s.ReplaceCosts(ctx, "bench", store.CostScope{Days: scope}, batch); err != nil {
			b.Fatal(err)
		}
		rows += len(batch)
	}
	for i := range 5 {
		if _, err := s.UpsertBudget(ctx, store.Budget{Name: fmt.Sprintf("budget-%d", i), Service: fmt.Sprintf("service-%d", i),
			Limit: decimal.NewFromInt(5000), Active: true}); err != nil {
			b.Fatal(err)
		}
	}
	return rows
}

// startNodeExporter runs node_exporter on a free loopback port: the
// yardstick scraped in the same run.
func startNodeExporter(b *testing.B) string {
	b.Helper()
	bin, err := devstack.LookPath([]string{"prometheus-node-exporter", "node_exporter"})
	if err != nil {
		b.Fatal("node_exporter not found: run `WEDSYNC_BENCH_DEPS=1 ./scripts/deps.sh` (make bench does)")
	}
	port, err := devstack.FreePort()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	p := &devstack.Process{Name: "node_exporter", Path: bin, Dir: dir,
		Args: []string{fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=warn"}}
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Stop(15, 5*time.Second) })
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	for i := 0; ; i++ {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return url
		}
		if i > 100 {
			b.Fatalf("node_exporter did not start: %s", p.LogTail(500))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func scrape(b *testing.B, client *http.Client, url string) (time.Duration, int) {
	start := time.Now()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	// What Prometheus 2.x sends; Go's transport adds gzip and undoes it.
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("%s: %d", url, resp.StatusCode)
	}
	return time.Since(start), int(n)
}

func quantile(ds []time.Duration, q float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[int(q*float64(len(s)-1))]) / 1e6
}

// seeded keeps one seeded store per history length: the benchmark
// framework runs a sub-benchmark more than once, and seeding a year takes
// tens of seconds.
var seeded = map[int]*seededStore{}

type seededStore struct {
	s    *store.Store
	rows int
	took time.Duration
}

// BenchmarkScrape: /metrics latency with ≈10,900 series, for 1 day and 365
// days of cost history in PostgreSQL, against node_exporter scraped in the
// same loop. Goal p99 ≤ 25 ms and flat in history length.
func BenchmarkScrape(b *testing.B) {
	node := startNodeExporter(b)
	for _, days := range []int{1, 365} {
		b.Run(fmt.Sprintf("history=%dd", days), func(b *testing.B) {
			now := time.Now().UTC()
			ss := seeded[days]
			if ss == nil {
				s, err := store.Open(context.Background(), storetest.DSN(b))
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				rows := seedHistory(b, s, days, now.Truncate(24*time.Hour))
				ss = &seededStore{s: s, rows: rows, took: time.Since(start)}
				seeded[days] = ss
			}
			s := ss.s
			entries := []Entry{
				{Name: "costs", Kind: OnCostChange, Collector: Costs{Store: s, BaselineDays: 7}},
				{Name: "budgets", Kind: OnCostChange, Collector: Budgets{Store: s, Logger: discard}},
				{Name: "projections", Kind: OnCostChange, Collector: Projections{Store: s}},
				{Name: "users", Kind: EverySnapshot, Collector: Users{Phases: s}},
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
			snap := NewSnapshot(entries, reg, discard)
			buildStart := time.Now()
			snap.Build(context.Background(), now, true)
			built := time.Since(buildStart)
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			srv := httptest.NewServer(snap)
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			_, size := scrape(b, client, srv.URL)
			series := strings.Count(string(snap.current.Load().text), "\n") - 2*strings.Count(string(snap.current.Load().text), "# TYPE")
			var ours, theirs []time.Duration
			b.ResetTimer()
			for range b.N {
				d, _ := scrape(b, client, srv.URL)
				ours = append(ours, d)
				d, _ = scrape(b, client, node)
				theirs = append(theirs, d)
			}
			b.StopTimer()
			b.ReportMetric(quantile(ours, 0.5), "p50_ms")
			b.ReportMetric(quantile(ours, 0.99), "p99_ms")
			b.ReportMetric(quantile(theirs, 0.5), "node_p50_ms")
			b.ReportMetric(quantile(theirs, 0.99), "node_p99_ms")
			b.ReportMetric(quantile(ours, 0.99)/quantile(theirs, 0.99), "p99_ratio_to_node")
			b.ReportMetric(float64(series), "series")
			b.ReportMetric(float64(size)/1024, "body_KiB")
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap_MiB")
			b.ReportMetric(built.Seconds(), "build_s")
			b.Logf("history %d days: %d cost rows seeded in %s; snapshot built in %s", days, ss.rows, ss.took.Round(time.Millisecond), built.Round(time.Millisecond))
		})
	}
}
