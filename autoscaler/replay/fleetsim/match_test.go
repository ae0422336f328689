package fleetsim

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/wedsync/scaling/demo/fleet"
	"github.com/wedsync/scaling/demo/load"
)

// snapshot is what the real fleet's metrics say at an instant.
type snapshot struct {
	at              time.Time
	busy            float64            // wedsync_demo_busy_seconds_total
	ok, refused     float64            // http_requests_total by code
	buckets         map[float64]uint64 // cumulative histogram, all codes
	count           uint64
	ready, queueLen int
}

func read(t *testing.T, f *fleet.Fleet) snapshot {
	t.Helper()
	mfs, err := f.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot{at: time.Now(), buckets: map[float64]uint64{}}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "wedsync_demo_busy_seconds_total":
				s.busy += m.GetCounter().GetValue()
			case "http_requests_total":
				if label(m, "code") == "200" {
					s.ok += m.GetCounter().GetValue()
				} else {
					s.refused += m.GetCounter().GetValue()
				}
			case "http_request_duration_seconds":
				h := m.GetHistogram()
				s.count += h.GetSampleCount()
				for _, b := range h.GetBucket() {
					s.buckets[b.GetUpperBound()] += b.GetCumulativeCount()
				}
			}
		}
	}
	st := f.State()
	s.ready, s.queueLen = st.Ready, st.Queued
	return s
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// quantile interpolates within buckets as histogram_quantile does.
func quantile(q float64, before, after snapshot) float64 {
	total := float64(after.count - before.count)
	if total == 0 {
		return math.NaN()
	}
	var bounds []float64
	for b := range after.buckets {
		bounds = append(bounds, b)
	}
	sortFloats(bounds)
	rank, prevBound, prevCount := q*total, 0.0, 0.0
	for _, b := range bounds {
		c := float64(after.buckets[b] - before.buckets[b])
		if c >= rank {
			if math.IsInf(b, 1) {
				return prevBound
			}
			return prevBound + (b-prevBound)*(rank-prevCount)/math.Max(c-prevCount, 1e-9)
		}
		prevBound, prevCount = b, c
	}
	return prevBound
}

func sortFloats(v []float64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// modelQuantile maps the model's latencies through the real histogram's
// buckets, so both sides suffer the same interpolation.
func modelQuantile(ticks []Tick, q float64, bounds []float64) float64 {
	exact := Quantile(ticks, q, 0)
	if math.IsNaN(exact) {
		return exact
	}
	var total float64
	for _, t := range ticks {
		total += t.Arrived
	}
	// The share of requests at or below each bound, from the model.
	below := func(l float64) float64 {
		var n, refused float64
		for i := range ticks {
			n += ticks[i].above(l)
			refused += ticks[i].Refused
		}
		return 1 - n/total // refused requests are answered at once: below every bound
	}
	rank, prevBound, prevShare := q, 0.0, 0.0
	for _, b := range bounds {
		sh := below(b)
		if sh >= rank {
			return prevBound + (b-prevBound)*(rank-prevShare)/math.Max(sh-prevShare, 1e-9)
		}
		prevBound, prevShare = b, sh
	}
	return exact
}

// TestModelMatchesRealDemoFleet drives the real demo fleet (demo/fleet,
// in-process behind an HTTP server) with the demo's real load driver through
// stages under, near and over capacity and a scale-up during the overload,
// and checks that the model, given the same arrivals and the same scale-up,
// tells the same story per stage: CPU, requests served and refused, the
// queue at the end and p95 through the same histogram buckets.
func TestModelMatchesRealDemoFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the real fleet for about 30 s")
	}
	t.Parallel()
	cfg := fleet.DefaultConfig() // 2 replicas of 5 slots at 50 ms: 200 req/s
	cfg.ProvisionDelay = time.Second
	real, err := fleet.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	srv := httptest.NewServer(real.Handler())
	defer srv.Close()

	step := func(d time.Duration, rate float64) []load.Stage {
		return []load.Stage{{Duration: time.Millisecond, Rate: rate}, {Duration: d, Rate: rate}}
	}
	type stage struct {
		name  string
		d     time.Duration
		rate  float64
		scale int // replicas asked for at the stage's start (0: none)
	}
	stages := []stage{
		{"50 %", 6 * time.Second, 100, 0},
		{"90 %", 6 * time.Second, 180, 0},
		{"140 %, the queue builds", 6 * time.Second, 280, 0},
		{"140 % after a scale-up to 4", 8 * time.Second, 280, 4},
	}
	var sched []load.Stage
	sched = append(sched, load.Stage{Duration: time.Millisecond, Rate: stages[0].rate})
	for _, s := range stages {
		sched = append(sched, step(s.d, s.rate)...)
	}
	drv, err := load.New(load.Config{Target: srv.URL, Paths: fleet.WorkloadPaths, Stages: sched,
		Client: &http.Client{Timeout: 30 * time.Second}, MaxInFlight: 4096})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan struct{})
	t0 := time.Now()
	go func() { defer close(done); drv.Run(ctx) }() //nolint:errcheck // judged by the fleet's own metrics

	model, err := New(Config{Replicas: 2, MaxReplicas: 20, ReadyAfter: time.Second, Arrivals: Uniform})
	if err != nil {
		t.Fatal(err)
	}
	const dt = 100 * time.Millisecond
	var bounds []float64
	elapsed := time.Duration(0)
	prev := read(t, real)
	for k := range prev.buckets {
		bounds = append(bounds, k)
	}
	sortFloats(bounds)
	for _, s := range stages {
		stageStart := time.Since(t0)
		if s.scale > 0 {
			if _, err := real.SetReplicas(s.scale); err != nil {
				t.Fatal(err)
			}
			if err := model.SetDesired(elapsed, s.scale); err != nil {
				t.Fatal(err)
			}
		}
		// The real side runs on the wall clock; sleep to the stage's end.
		time.Sleep(time.Until(t0.Add(stageStart + s.d)))
		cur := read(t, real)
		var ticks []Tick
		for end := elapsed + s.d; elapsed < end; elapsed += dt {
			ticks = append(ticks, model.Step(elapsed, dt, s.rate))
		}
		secs := cur.at.Sub(prev.at).Seconds()
		slots := float64(cur.ready * 5)
		realCPU := math.Min((cur.busy-prev.busy)/(slots*secs), 1)
		var busy, slotSecs, served, refused float64
		for _, tk := range ticks {
			busy += tk.BusySlotSeconds
			slotSecs += float64(tk.Slots) * tk.Dt.Seconds()
			served += tk.Served
			refused += tk.Refused
		}
		modelCPU := busy / slotSecs
		realP95, mP95 := quantile(0.95, prev, cur), modelQuantile(ticks, 0.95, bounds)
		realServed, realRefused := cur.ok-prev.ok, cur.refused-prev.refused
		mQueue := ticks[len(ticks)-1].Queue
		t.Logf("%-28s CPU real %.2f model %.2f | served real %.0f model %.0f | refused real %.0f model %.0f | queue real %d model %.0f | p95 real %.3fs model %.3fs",
			s.name, realCPU, modelCPU, realServed, served, realRefused, refused, cur.queueLen, mQueue, realP95, mP95)
		if math.Abs(realCPU-modelCPU) > 0.07 {
			t.Errorf("%s: CPU real %.2f, model %.2f", s.name, realCPU, modelCPU)
		}
		// Requests answered while the queue is still deep finish in the next
		// stage: compare what was answered with 10 % (and a queue's worth
		// of slack where a queue exists).
		slack := 0.1*math.Max(realServed, served) + 20 + 0.5*math.Max(float64(cur.queueLen), mQueue)
		if math.Abs(realServed-served) > slack {
			t.Errorf("%s: served real %.0f, model %.0f", s.name, realServed, served)
		}
		if math.Abs(realRefused-refused) > 0.1*math.Max(realRefused, refused)+20 {
			t.Errorf("%s: refused real %.0f, model %.0f", s.name, realRefused, refused)
		}
		if math.Abs(float64(cur.queueLen)-mQueue) > 0.15*math.Max(float64(cur.queueLen), mQueue)+30 {
			t.Errorf("%s: queue at the end real %d, model %.0f", s.name, cur.queueLen, mQueue)
		}
		if math.Abs(realP95-mP95) > math.Max(0.3*realP95, 0.06) {
			t.Errorf("%s: p95 real %.3fs, model %.3fs", s.name, realP95, mP95)
		}
		prev = cur
	}
	cancel()
	<-done
}
