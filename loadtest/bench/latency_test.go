package bench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/wedsync/scaling/loadtest/engine"
	"github.com/wedsync/scaling/loadtest/scenario"
)

// stallingTarget answers at once, except during the first `stall` of every
// `period` since epoch, when it holds every request until the stall ends —
// a GC pause, a lock, a failover.
type stallingTarget struct {
	epoch         time.Time
	period, stall time.Duration
}

func (s stallingTarget) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	ph := time.Since(s.epoch) % s.period
	if ph < s.stall {
		time.Sleep(s.stall - ph)
	}
	w.Write([]byte("ok"))
}

// wait is how long a request arriving at t (since epoch) is held.
func (s stallingTarget) wait(t time.Duration) time.Duration {
	if ph := t % s.period; ph < s.stall {
		return s.stall - ph
	}
	return 0
}

type truth struct {
	open, closed, want float64 // p99 in ms: ours (open model), closed loop, true from the schedule
	dropped            float64
}

// latencyTruth runs an open model (constant arrival rate) and a closed one
// (VUs in a loop) against the stalling target. The true p99 comes from the
// schedule: request k is due at start + k/rate, waits out the stall it falls
// in, plus the target's normal service time (the open run's median).
func latencyTruth(tb testing.TB, d time.Duration, rate int) truth {
	tgt := stallingTarget{epoch: time.Now(), period: time.Second, stall: 100 * time.Millisecond}
	srv := httptest.NewServer(tgt)
	defer srv.Close()
	run := func(options string) (*engine.Result, time.Time) {
		sc, err := scenario.Parse([]byte(fmt.Sprintf(`{"target":%q,%s}`, srv.URL, options)))
		if err != nil {
			tb.Fatal(err)
		}
		r, err := engine.Start(context.Background(), sc, engine.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		res, _ := r.Wait()
		if res.Metrics["http_req_failed"].Values["rate"] > 0 {
			tb.Fatalf("errors: %v", res.Metrics["http_req_failed"].Values)
		}
		return res, r.StartedAt()
	}
	// Enough VUs for every request held by a stall: rate × stall, doubled.
	vus := max(20, 2*rate*int(tgt.stall/time.Millisecond)/1000)
	open, start := run(fmt.Sprintf(`"scenarios":{"open":{"executor":"constant-arrival-rate","rate":%d,"duration":%q,"preAllocatedVUs":%d,"maxVUs":%d}}`,
		rate, d.String(), vus, 2*vus))
	closed, _ := run(fmt.Sprintf(`"vus":20,"duration":%q`, d.String()))
	base := open.Metrics["http_req_duration"].Values["med"]
	n := int(d.Seconds() * float64(rate))
	lat := make([]float64, n)
	offset := start.Sub(tgt.epoch)
	for k := range n {
		due := offset + time.Duration(float64(k)*float64(time.Second)/float64(rate))
		lat[k] = float64(tgt.wait(due))/1e6 + base
	}
	sort.Float64s(lat)
	want := lat[int(math.Ceil(0.99*float64(n)))-1]
	return truth{open: open.Metrics["http_req_duration"].Values["p(99)"], closed: closed.Metrics["http_req_duration"].Values["p(99)"], want: want,
		dropped: open.Metrics["dropped_iterations"].Values["count"]}
}

// The open model reports the true p99 of a stalling target; the closed
// loop hides the stalls (each VU waits out a stall once and records one slow
// request, while the requests that would have been sent meanwhile never
// exist). Margins are generous: the machine is shared.
func TestLatencyTruth(t *testing.T) {
	t.Parallel()
	r := latencyTruth(t, 3*time.Second, 400)
	t.Logf("true p99 %.1f ms, open model %.1f ms, closed loop %.1f ms, dropped %v", r.want, r.open, r.closed, r.dropped)
	if math.Abs(r.open-r.want)/r.want > 0.15 {
		t.Errorf("open-model p99 %.1f ms vs true %.1f ms: off by more than 15 %%", r.open, r.want)
	}
	if r.closed > r.want/2 {
		t.Errorf("closed-loop p99 %.1f ms does not under-report the true %.1f ms", r.closed, r.want)
	}
}

// BenchmarkLatencyTruth reports the same at 1,000 requests/s for the bench
// duration (goal: ours within 5 % of the truth).
func BenchmarkLatencyTruth(b *testing.B) {
	var r truth
	for range b.N {
		r = latencyTruth(b, benchDuration(), 1000)
	}
	b.ReportMetric(r.want, "true_p99_ms")
	b.ReportMetric(r.open, "ours_p99_ms")
	b.ReportMetric(r.closed, "closed_loop_p99_ms")
	b.ReportMetric(math.Abs(r.open-r.want)/r.want*100, "ours_error_%")
	b.ReportMetric(r.dropped, "dropped")
}
