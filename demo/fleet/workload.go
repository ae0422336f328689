package fleet

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the application-level series every WedSync service exposes; the
// rules' adapter layer derives latency percentiles and error ratios from them.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// durationBuckets span 5 ms … 10 s and include the thresholds the alerting rules test
// (p95 > 2 s, p99 > 5 s) as exact bucket bounds, so histogram_quantile does not
// interpolate across them.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10}

func newHTTPMetrics() *httpMetrics {
	return &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "Workload requests answered, by method and status code (503 when the queue is full).",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time from a workload request's arrival to its response, queueing included.",
			Buckets: durationBuckets,
		}, []string{"method", "code"}),
	}
}

func (m *httpMetrics) observe(method string, code int, d time.Duration) {
	c := strconv.Itoa(code)
	m.requests.WithLabelValues(method, c).Inc()
	m.duration.WithLabelValues(method, c).Observe(d.Seconds())
}

// serveWorkload waits for a slot, holds it for the service time and answers with a
// small JSON document. Every workload path shares the one slot pool, as the endpoints of
// one API deployment share its pods.
func (f *Fleet) serveWorkload(w http.ResponseWriter, r *http.Request) {
	arrived := f.cfg.now()
	release, err := f.pool.acquire(r.Context())
	if err != nil {
		msg := "queue full"
		if !errors.Is(err, ErrQueueFull) {
			// The client gave up while queued. Its answer cannot be delivered, but it is
			// recorded as a 503 so that overload stays visible in the error ratio, as a
			// load balancer timing out on a saturated backend would show it.
			msg = "request abandoned while queued"
			f.log.Debug("request abandoned while queued", "path", r.URL.Path, "err", err)
		}
		f.http.observe(r.Method, http.StatusServiceUnavailable, f.cfg.now().Sub(arrived))
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, msg)
		return
	}
	// The work is not cut short when the client disconnects: a real handler's CPU time
	// is spent regardless, and busy seconds should show it.
	time.Sleep(f.serviceTime())
	release()
	f.http.observe(r.Method, http.StatusOK, f.cfg.now().Sub(arrived))
	writeJSON(w, http.StatusOK, map[string]any{"path": r.URL.Path, "items": []string{}})
}

func (f *Fleet) serviceTime() time.Duration {
	j := f.cfg.ServiceJitter
	if j <= 0 {
		return f.cfg.ServiceTime
	}
	return f.cfg.ServiceTime - j + rand.N(2*j+1)
}
