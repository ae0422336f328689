package engine

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// liveSnapshot is what /metrics shows, refreshed every tick so that a
// scrape never touches the recording path.
type liveSnapshot struct {
	requests, failures, iterations, dropped int64
	sent, recv                              int64
	vus, vusMax                             int64
	elapsed                                 float64
	count                                   uint64
	sumSeconds                              float64
	quantiles                               map[float64]float64
	thresholds                              []bool
}

// updateLive runs under r.mu.
func (r *Run) updateLive(all *stats, vus int64, elapsed time.Duration, oks []bool) {
	q := map[float64]float64{}
	if all.dur.count > 0 {
		for _, p := range []float64{0.5, 0.9, 0.95, 0.99} {
			q[p] = all.dur.percentile(p*100) / 1000
		}
	}
	r.live = liveSnapshot{requests: all.reqs, failures: all.fails, iterations: all.iters, dropped: all.dropped,
		sent: all.sent, recv: all.recv, vus: vus, vusMax: r.allocated.Load(), elapsed: elapsed.Seconds(),
		count: uint64(all.dur.count), sumSeconds: float64(all.dur.sumUs) / 1e6, quantiles: q, thresholds: oks}
}

var (
	descInfo       = prometheus.NewDesc("wedsync_load_run_info", "The load test being run (value 1).", []string{"name", "type"}, nil)
	descRequests   = prometheus.NewDesc("wedsync_load_requests_total", "HTTP requests answered or failed.", nil, nil)
	descFailures   = prometheus.NewDesc("wedsync_load_request_failures_total", "Requests that failed: transport errors, timeouts, malformed responses, status outside 200-399.", nil, nil)
	descIterations = prometheus.NewDesc("wedsync_load_iterations_total", "Iterations completed.", nil, nil)
	descDropped    = prometheus.NewDesc("wedsync_load_dropped_iterations_total", "Scheduled iterations not started because every VU was busy (open models).", nil, nil)
	descSent       = prometheus.NewDesc("wedsync_load_data_sent_bytes_total", "Bytes sent to the target.", nil, nil)
	descRecv       = prometheus.NewDesc("wedsync_load_data_received_bytes_total", "Bytes received from the target.", nil, nil)
	descVUs        = prometheus.NewDesc("wedsync_load_vus", "Virtual users running (closed models) or busy (open models).", nil, nil)
	descVUsMax     = prometheus.NewDesc("wedsync_load_vus_max", "Virtual users allocated.", nil, nil)
	descElapsed    = prometheus.NewDesc("wedsync_load_elapsed_seconds", "Time since the run started.", nil, nil)
	descDuration   = prometheus.NewDesc("wedsync_load_request_duration_seconds", "Request latency since the start of the run; open models measure from the scheduled time.", nil, nil)
	descThreshold  = prometheus.NewDesc("wedsync_load_threshold_passing", "Whether a threshold holds so far (1) or is crossed (0).", []string{"metric", "threshold"}, nil)
)

// Collector exposes the run's live figures to Prometheus. Register it on a
// private registry (wedsync-load serves one at --web.listen-address).
func (r *Run) Collector() prometheus.Collector { return (*collector)(r) }

type collector Run

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInfo, descRequests, descFailures, descIterations, descDropped, descSent, descRecv,
		descVUs, descVUsMax, descElapsed, descDuration, descThreshold} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	r := (*Run)(c)
	r.mu.Lock()
	s := r.live
	// Gauges are read live; counters and latencies move once per tick.
	if r.prog.Status == StatusRunning {
		s.vus, s.vusMax, s.elapsed = r.active.Load(), r.allocated.Load(), time.Since(r.start).Seconds()
	}
	r.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1, r.sc.Name, string(r.sc.Type))
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(descRequests, s.requests)
	counter(descFailures, s.failures)
	counter(descIterations, s.iterations)
	counter(descDropped, s.dropped)
	counter(descSent, s.sent)
	counter(descRecv, s.recv)
	ch <- prometheus.MustNewConstMetric(descVUs, prometheus.GaugeValue, float64(s.vus))
	ch <- prometheus.MustNewConstMetric(descVUsMax, prometheus.GaugeValue, float64(s.vusMax))
	ch <- prometheus.MustNewConstMetric(descElapsed, prometheus.GaugeValue, s.elapsed)
	ch <- prometheus.MustNewConstSummary(descDuration, s.count, s.sumSeconds, s.quantiles)
	for i, th := range r.ths {
		if i >= len(s.thresholds) {
			break
		}
		v := 0.0
		if s.thresholds[i] {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descThreshold, prometheus.GaugeValue, v, th.metric, th.source)
	}
}
