package rules

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/devstack"
)

// benchServices is how many services the rule benchmark evaluates.
const benchServices = 100

// fleetMetrics serves, for benchServices services, what the adapters read:
// request counters with 5xx, a latency histogram, and the demo fleet's CPU
// and memory, growing with time as a steady load would.
func fleetMetrics(start time.Time) http.Handler {
	bounds := []string{"0.05", "0.1", "0.25", "0.5", "1", "2", "2.5", "5", "10", "+Inf"}
	share := []float64{0.3, 0.55, 0.8, 0.92, 0.97, 0.995, 0.997, 0.999, 1, 1}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t := time.Since(start).Seconds() + 1
		bw := bufio.NewWriter(w)
		for i := range benchServices {
			s := fmt.Sprintf("svc-%03d", i)
			reqs := 100 * t * (1 + float64(i%10)/10)
			fmt.Fprintf(bw, "http_requests_total{service=%q,code=\"200\"} %g\n", s, reqs*0.999)
			fmt.Fprintf(bw, "http_requests_total{service=%q,code=\"500\"} %g\n", s, reqs*0.001)
			for j, le := range bounds {
				fmt.Fprintf(bw, "http_request_duration_seconds_bucket{service=%q,le=%q} %g\n", s, le, reqs*share[j])
			}
			fmt.Fprintf(bw, "http_request_duration_seconds_count{service=%q} %g\n", s, reqs)
			fmt.Fprintf(bw, "http_request_duration_seconds_sum{service=%q} %g\n", s, reqs*0.2)
			fmt.Fprintf(bw, "wedsync_demo_busy_seconds_total{service=%q} %g\n", s, 2.4*t)
			fmt.Fprintf(bw, "wedsync_demo_slots{service=%q} 4\n", s)
			fmt.Fprintf(bw, "wedsync_demo_replicas{service=%q} 2\n", s)
			fmt.Fprintf(bw, "wedsync_demo_memory_used_bytes{service=%q} 5e8\n", s)
			fmt.Fprintf(bw, "wedsync_demo_memory_limit_bytes{service=%q} 1e9\n", s)
		}
		bw.Flush()
	})
}

// BenchmarkRuleEvaluation100Services loads the production rules, with SLOs
// for all 100 services, into a real Prometheus scraping 100 services, and
// reports what the early-warning rules (SLOs, bands, warnings) cost per
// evaluation interval and per service, beside the rules that existed
// before them (adapters and scaling alerts) in the same run.
//
// The Prometheus holds only the minutes of this run: windows of hours or
// days (the 26h smoothing, the 1d and 1w offsets, the 3d and 30d SLO
// windows) read few samples here. Their cost at full history is
// proportional to the samples in the window; bench/results states both.
func BenchmarkRuleEvaluation100Services(b *testing.B) {
	th, err := ParseThresholds(embeddedThresholds)
	if err != nil {
		b.Fatal(err)
	}
	th.SLOs = nil
	for i := range benchServices {
		th.SLOs = append(th.SLOs, SLO{Service: fmt.Sprintf("svc-%03d", i), Availability: 0.999, Latency: 0.99})
	}
	files, err := th.Render("production", DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	target := httptest.NewServer(fleetMetrics(time.Now()))
	defer target.Close()

	ruleFiles := map[string][]byte{}
	var paths []string
	for _, name := range RuleFiles {
		ruleFiles["rules/"+name] = files[name]
	}
	dir, err := os.MkdirTemp("", "wedsync-rulebench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for _, name := range RuleFiles {
		paths = append(paths, filepath.Join(dir, "rules", name))
	}
	cfg := fmt.Sprintf(`global: {scrape_interval: 5s, evaluation_interval: 15s}
rule_files: [%s]
scrape_configs:
  - job_name: fleet
    honor_labels: true
    static_configs: [{targets: [%q]}]
`, strings.Join(paths, ", "), strings.TrimPrefix(target.URL, "http://"))
	prom, err := devstack.StartPrometheus(ctx, devstack.ServerOptions{Dir: dir, Config: []byte(cfg), Files: ruleFiles})
	if err != nil {
		b.Fatal(err)
	}
	defer prom.Close()

	b.ResetTimer()
	var groups map[string]float64
	for range b.N {
		// Until every service has its rates and the 1m groups have run on
		// them, then two more evaluations of the 15s groups; the 5m period
		// group and the hourly downsamples are not waited for (their
		// figure is 0 when they have not run).
		deadline := time.Now().Add(4 * time.Minute)
		var settled float64
		for {
			groups, err = promMetric(prom.URL(), "prometheus_rule_group_iterations_total")
			rates, _ := querySeriesCount(prom.URL(), `service:http_requests:rate`)
			long, _ := querySeriesCount(prom.URL(), `slo:sli_error:ratio_rate6h`)
			if err == nil && rates == benchServices && long == 2*benchServices {
				if settled == 0 {
					settled = iterations(groups, "wedsync-scaling")
				}
				// One more evaluation of every 15s group on complete inputs.
				if iterations(groups, "wedsync-scaling") >= settled+2 {
					break
				}
			}
			if time.Now().After(deadline) {
				b.Fatalf("rule groups did not evaluate: %v %v", groups, err)
			}
			time.Sleep(time.Second)
		}
	}
	b.StopTimer()
	durations, err := promMetric(prom.URL(), "prometheus_rule_group_last_duration_seconds")
	if err != nil {
		b.Fatal(err)
	}
	var early, before float64
	for g, d := range durations {
		name := g[strings.LastIndex(g, ";")+1:]
		switch {
		case strings.HasPrefix(name, "wedsync-slo"), strings.HasPrefix(name, "wedsync-baseline"), name == "wedsync-warnings":
			early += d
		case strings.HasPrefix(name, "wedsync-adapter"), name == "wedsync-long-window", name == "wedsync-scaling":
			before += d
		}
		b.ReportMetric(d*1000, "ms/"+name)
	}
	added, err := querySeriesCount(prom.URL(), `{__name__=~"slo:.+|baseline:.+"}`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(early*1000, "early_ms/interval")
	b.ReportMetric(before*1000, "existing_ms/interval")
	b.ReportMetric(early/before, "early/existing")
	b.ReportMetric(float64(added)/benchServices, "series_added/service")
}

func iterations(m map[string]float64, group string) float64 {
	for g, v := range m {
		if strings.HasSuffix(g, ";"+group) {
			return v
		}
	}
	return 0
}

// promMetric reads a metric of Prometheus' own /metrics by its rule_group
// label.
func promMetric(base, name string) (map[string]float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		i := strings.Index(line, `rule_group="`)
		j := strings.LastIndex(line, " ")
		if i < 0 || j < 0 {
			continue
		}
		g := line[i+len(`rule_group="`):]
		g = g[:strings.Index(g, `"`)]
		v, err := strconv.ParseFloat(line[j+1:], 64)
		if err == nil {
			out[g] = v
		}
	}
	return out, sc.Err()
}

func querySeriesCount(base, selector string) (int, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape("count("+selector+")"))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if len(r.Data.Result) != 1 {
		return 0, fmt.Errorf("count(%s): %d results", selector, len(r.Data.Result))
	}
	v, _ := r.Data.Result[0].Value[1].(string)
	return strconv.Atoi(v)
}
