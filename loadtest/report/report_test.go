package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/loadtest/engine"
	"github.com/wedsync/scaling/loadtest/record"
)

func sample() (*engine.Result, *record.Comparison) {
	res := &engine.Result{Name: "checkout", Type: "stress", Target: "http://127.0.0.1:8080", Status: engine.StatusCompleted, Passed: false,
		FailureReason: "thresholds crossed: [http_req_duration p(95)<20]", StartedAt: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), Duration: 30 * time.Second,
		Capacity: 40, Models: []engine.Model{{Scenario: "users", Executor: "ramping-vus"}, {Scenario: "api", Executor: "constant-arrival-rate", Open: true}},
		Metrics: map[string]engine.Metric{
			"http_reqs":          {Values: map[string]float64{"count": 3000, "rate": 100}},
			"http_req_duration":  {Values: map[string]float64{"med": 5, "p(90)": 9, "p(95)": 25, "p(99)": 80, "max": 300}},
			"http_req_failed":    {Values: map[string]float64{"rate": 0.004}},
			"data_sent":          {Values: map[string]float64{"count": 123456}},
			"data_received":      {Values: map[string]float64{"count": 9876543}},
			"vus":                {Values: map[string]float64{"max": 50}},
			"dropped_iterations": {Values: map[string]float64{"count": 3}},
		},
		Thresholds: []engine.ThresholdResult{{Metric: "http_req_duration", Threshold: "p(95)<20", Value: 25}, {Metric: "http_req_failed", Threshold: "rate<0.01", OK: true, Value: 0.004}},
	}
	for i := 1; i <= 30; i++ {
		p := engine.Point{T: float64(i), Requests: 100, Errors: int64(i % 3), RPS: 100, P50: 5, P90: 9, P95: 20 + float64(i), P99: 70 + float64(i), VUs: int64(min(i*2, 50))}
		if i == 12 || i == 13 {
			p = engine.Point{T: float64(i), VUs: 24} // the target stalled: no responses in these ticks
		}
		res.Series = append(res.Series, p)
	}
	base, cur := 20.0, 25.0
	rel := 0.25
	cmp := &record.Comparison{BaselineBenchmarkID: "b1", Tolerance: 0.1, Regressed: true,
		Changes: []record.Change{{Metric: "p95_ms", Baseline: &base, Current: &cur, Relative: &rel, Regressed: true}}}
	_ = store.Benchmark{}
	return res, cmp
}

// The report opens in a real browser (headless Chromium) and draws its
// four charts with the right series.
func TestReportRendersInChromium(t *testing.T) {
	t.Parallel()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: run `make deps` (scripts/deps.sh installs it)")
	}
	res, cmp := sample()
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	var buf bytes.Buffer
	if err := Write(&buf, Input{Result: res, Comparison: cmp, LoadTestID: "lt-1"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, forbidden := range []string{"http://cdn", "https://", "<link", "src="} {
		if strings.Contains(buf.String(), forbidden) {
			t.Errorf("report refers to an outside resource (%q)", forbidden)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--no-first-run", "--user-data-dir=" + filepath.Join(dir, "profile")}
	cmd := exec.CommandContext(ctx, chromium, append(args, "--dump-dom", "file://"+path)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	doc, err := html.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	charts := map[string]map[string]int{} // chart → series → points drawn
	var walk func(n *html.Node, chart string)
	walk = func(n *html.Node, chart string) {
		if n.Type == html.ElementNode && n.Data == "svg" {
			chart = attr(n, "data-chart")
			charts[chart] = map[string]int{}
		}
		if n.Type == html.ElementNode && n.Data == "g" && attr(n, "class") == "series-group" {
			pts, _ := strconv.Atoi(attr(n, "data-points"))
			drawn := 0
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && c.Data == "polyline" {
					drawn += len(strings.Fields(attr(c, "points")))
				}
			}
			if drawn != pts {
				t.Errorf("chart %s series %s: %d points drawn, %d announced", chart, attr(n, "data-series"), drawn, pts)
			}
			charts[chart][attr(n, "data-series")] = drawn
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, chart)
		}
	}
	walk(doc, "")
	want := map[string]map[string]int{
		"latency":    {"p50": 28, "p90": 28, "p95": 28, "p99": 28}, // two ticks without responses are gaps
		"throughput": {"requests/s": 30},
		"errors":     {"errors/s": 30, "dropped iterations": 30},
		"users":      {"VUs": 30},
	}
	if len(charts) != len(want) {
		t.Fatalf("charts rendered: %v", charts)
	}
	for chart, series := range want {
		for s, n := range series {
			if charts[chart][s] != n {
				t.Errorf("chart %s series %s: %d points, want %d (rendered %v)", chart, s, charts[chart][s], n, charts[chart])
			}
		}
		if len(charts[chart]) != len(series) {
			t.Errorf("chart %s has series %v", chart, charts[chart])
		}
	}
	text := string(out)
	for _, w := range []string{"REGRESSED against the baseline", "thresholds crossed", "coordinated-omission safe", "under-report stalls", "9.9 MB", "p(95)&lt;20"} {
		if !strings.Contains(text, w) {
			t.Errorf("rendered page lacks %q", w)
		}
	}
	if os.Getenv("WEDSYNC_REPORT_SCREENSHOT") != "" {
		shot := exec.CommandContext(ctx, chromium, append(args, "--window-size=1200,1400", "--screenshot="+os.Getenv("WEDSYNC_REPORT_SCREENSHOT"), "file://"+path)...)
		if out, err := shot.CombinedOutput(); err != nil {
			t.Fatalf("screenshot: %v\n%s", err, out)
		}
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
