package fleet

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// These tests drive a real HTTP server with open-loop traffic and check the physics the
// autoscaler relies on. Service times are short and windows well separated, so the
// assertions hold with -race on a 2-core machine.

type sample struct {
	at      time.Duration // when the request was sent, from the run's start
	latency time.Duration
	code    int
}

type run struct {
	start   time.Time
	mu      sync.Mutex
	samples []sample
}

func newClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1000
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// openLoop sends rate req/s for dur at even intervals without waiting for answers, and
// returns once every answer is in.
func openLoop(t *testing.T, client *http.Client, url string, rate float64, dur time.Duration, r *run) {
	t.Helper()
	n := int(rate * dur.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	var wg sync.WaitGroup
	for i := range n {
		at := time.Duration(i) * interval
		time.Sleep(time.Until(r.start.Add(at)))
		wg.Go(func() {
			sent := time.Now()
			code := 0
			resp, err := client.Get(url)
			if err == nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			r.mu.Lock()
			r.samples = append(r.samples, sample{at: sent.Sub(r.start), latency: time.Since(sent), code: code})
			r.mu.Unlock()
		})
	}
	wg.Wait()
}

// stats summarizes the samples sent within [from, to).
func (r *run) stats(from, to time.Duration) (p50, p95 time.Duration, codes map[int]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lat []time.Duration
	codes = map[int]int{}
	for _, s := range r.samples {
		if s.at < from || s.at >= to {
			continue
		}
		codes[s.code]++
		if s.code == http.StatusOK {
			lat = append(lat, s.latency)
		}
	}
	if len(lat) == 0 {
		return 0, 0, codes
	}
	slices.Sort(lat)
	return lat[len(lat)*50/100], lat[min(len(lat)-1, len(lat)*95/100)], codes
}

// stateAt samples the fleet at the given offsets from start, in the background.
func stateAt(f *Fleet, start time.Time, offsets ...time.Duration) func() []State {
	out := make([]State, len(offsets))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, off := range offsets {
			time.Sleep(time.Until(start.Add(off)))
			out[i] = f.State()
		}
	}()
	return func() []State { <-done; return out }
}

// utilization is the busy share of the slots between two snapshots.
func utilization(a, b State, wall time.Duration) float64 {
	return (b.BusySeconds - a.BusySeconds) / (float64(b.Slots) * wall.Seconds())
}

// maxQueue records the longest queue seen until stop is called.
func maxQueue(f *Fleet) (stop func() int) {
	var (
		mu   sync.Mutex
		most int
		quit = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			q := f.State().Queued
			mu.Lock()
			most = max(most, q)
			mu.Unlock()
			select {
			case <-quit:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() int {
		close(quit)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return most
	}
}

func TestLatencyFollowsLoad(t *testing.T) {
	t.Parallel()
	const service = 20 * time.Millisecond
	tests := []struct {
		name     string
		slots    int // one replica
		maxQueue int
		rate     float64
		dur      time.Duration
		// expectations
		p95Max, p95Min   time.Duration
		utilMin, utilMax float64
		memMin, memMax   float64 // memory used/limit at the end of the offered load
		queueMin         int     // longest queue seen at least
		queueExact       bool    // ... and exactly that (the limit)
		want503          bool
	}{
		{
			// capacity 4/20 ms = 200 req/s, offered 50 → utilization 0.25, no queueing
			name: "below capacity latency is the service time", slots: 4, maxQueue: 1000, rate: 50, dur: 600 * time.Millisecond,
			p95Max: 3 * service, utilMin: 0.1, utilMax: 0.5, memMin: 0.25, memMax: 0.3,
		},
		{
			// capacity 100 req/s, offered 250 → the backlog grows by 150/s
			name: "above capacity latency and utilization rise", slots: 2, maxQueue: 1000, rate: 250, dur: 800 * time.Millisecond,
			p95Min: 10 * service, utilMin: 0.85, utilMax: 1.05, memMin: 0.5, memMax: 1, queueMin: 50,
		},
		{
			name: "a full queue answers 503", slots: 2, maxQueue: 20, rate: 250, dur: 800 * time.Millisecond,
			p95Min: 5 * service, utilMin: 0.85, utilMax: 1.05, memMin: 0.35, memMax: 0.5, queueMin: 20, queueExact: true, want503: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.SlotsPerReplica = tc.slots
			cfg.ServiceTime = service
			cfg.MaxQueue = tc.maxQueue
			f := newTestFleet(t, cfg)
			srv := httptest.NewServer(f.Handler())
			t.Cleanup(srv.Close)

			r := &run{start: time.Now().Add(10 * time.Millisecond)}
			states := stateAt(f, r.start, 0, tc.dur)
			stopQ := maxQueue(f)
			openLoop(t, newClient(), srv.URL+"/api/weddings", tc.rate, tc.dur, r)
			longest := stopQ()
			st := states()

			p50, p95, codes := r.stats(0, tc.dur)
			util := utilization(st[0], st[1], tc.dur)
			mem := float64(st[1].MemoryUsed) / float64(st[1].MemoryLimit)
			t.Logf("p50=%s p95=%s utilization=%.2f memory=%.2f longest queue=%d codes=%v", p50, p95, util, mem, longest, codes)
			if p50 < service {
				t.Errorf("p50 %s below the service time %s", p50, service)
			}
			if tc.p95Max > 0 && p95 > tc.p95Max {
				t.Errorf("p95 %s, want <= %s", p95, tc.p95Max)
			}
			if p95 < tc.p95Min {
				t.Errorf("p95 %s, want >= %s", p95, tc.p95Min)
			}
			if util < tc.utilMin || util > tc.utilMax {
				t.Errorf("utilization %.2f, want %.2f…%.2f", util, tc.utilMin, tc.utilMax)
			}
			if mem < tc.memMin || mem > tc.memMax {
				t.Errorf("memory utilization %.2f, want %.2f…%.2f", mem, tc.memMin, tc.memMax)
			}
			if longest < tc.queueMin || (tc.queueExact && longest != tc.queueMin) {
				t.Errorf("longest queue %d, want >= %d (exact: %v)", longest, tc.queueMin, tc.queueExact)
			}
			if got := codes[http.StatusServiceUnavailable] > 0; got != tc.want503 {
				t.Errorf("503 answers: %d, want some: %v", codes[http.StatusServiceUnavailable], tc.want503)
			}
			if codes[0] > 0 {
				t.Errorf("%d transport errors", codes[0])
			}
			// The server's own count agrees with what the client saw (every sample: under
			// CPU contention the last sends can slip past dur).
			_, _, all := r.stats(0, time.Hour)
			for code, n := range all {
				if got := testutil.ToFloat64(f.http.requests.WithLabelValues("GET", fmt.Sprint(code))); int(got) != n {
					t.Errorf("http_requests_total{code=%q} = %v, client saw %d", fmt.Sprint(code), got, n)
				}
			}
		})
	}
}

func TestQueueLimitRejectsAtOnce(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.SlotsPerReplica = 1
	cfg.MaxQueue = 2
	cfg.ServiceTime = 300 * time.Millisecond
	f := newTestFleet(t, cfg)
	srv := httptest.NewServer(f.Handler())
	t.Cleanup(srv.Close)
	client := newClient()

	codes := make(chan int, 3)
	get := func() {
		resp, err := client.Get(srv.URL + "/api/vendors")
		if err != nil {
			codes <- 0
			return
		}
		resp.Body.Close()
		codes <- resp.StatusCode
	}
	go get()
	waitFor(t, 2*time.Second, "first request in service", func() bool { return f.State().Busy == 1 })
	go get()
	go get()
	waitFor(t, 2*time.Second, "queue full", func() bool { return f.State().Queued == 2 })

	start := time.Now()
	resp, err := client.Get(srv.URL + "/api/weddings")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != http.StatusServiceUnavailable || took > cfg.ServiceTime/2 {
		t.Fatalf("with the queue full: status %d after %s, want 503 at once", resp.StatusCode, took)
	}
	if body["error"] != "queue full" {
		t.Fatalf("503 body %v, want error \"queue full\"", body)
	}
	for range 3 {
		if code := <-codes; code != http.StatusOK {
			t.Fatalf("admitted request answered %d, want 200", code)
		}
	}
}

func TestScaleUpRestoresLatency(t *testing.T) {
	t.Parallel()
	const (
		service = 20 * time.Millisecond
		delay   = 400 * time.Millisecond
		rate    = 200 // req/s; capacity 100 at 1 replica, 400 at 4
		dur     = 1600 * time.Millisecond
		scaleAt = 200 * time.Millisecond
	)
	cfg := testConfig()
	cfg.SlotsPerReplica = 2
	cfg.ServiceTime = service
	cfg.ProvisionDelay = delay
	cfg.MaxQueue = 1000
	f := newTestFleet(t, cfg)
	srv := httptest.NewServer(f.Handler())
	t.Cleanup(srv.Close)
	client := newClient()

	r := &run{start: time.Now().Add(10 * time.Millisecond)}
	// Windows: overloaded while provisioning [300, 550) ms; recovered [1150, 1600) ms —
	// ready at 600 ms, the backlog of ~60 drains at 200 req/s by ~900 ms.
	overFrom, overTo := 300*time.Millisecond, 550*time.Millisecond
	calmFrom, calmTo := 1150*time.Millisecond, dur
	states := stateAt(f, r.start, overFrom, overTo, calmFrom, calmTo)

	type answer struct {
		code int
		body replicasResponse
	}
	admin := make(chan answer, 2)
	go func() {
		call := func(method, body string) answer {
			req, _ := http.NewRequest(method, srv.URL+"/admin/replicas", strings.NewReader(body))
			resp, err := client.Do(req)
			if err != nil {
				return answer{}
			}
			defer resp.Body.Close()
			var a answer
			a.code = resp.StatusCode
			_ = json.NewDecoder(resp.Body).Decode(&a.body)
			return a
		}
		time.Sleep(time.Until(r.start.Add(scaleAt)))
		admin <- call(http.MethodPut, `{"replicas":4}`)
		time.Sleep(time.Until(r.start.Add(scaleAt + delay/2)))
		admin <- call(http.MethodGet, "")
	}()
	openLoop(t, client, srv.URL+"/api/weddings", rate, dur, r)

	if a := <-admin; a.code != http.StatusAccepted || a.body != (replicasResponse{Replicas: 1, Desired: 4}) {
		t.Errorf("PUT replicas=4: %d %+v, want 202 {1 4}", a.code, a.body)
	}
	if a := <-admin; a.code != http.StatusOK || a.body != (replicasResponse{Replicas: 1, Desired: 4}) {
		t.Errorf("GET during provisioning: %d %+v, want 200 {1 4}", a.code, a.body)
	}
	st := states()
	_, overP95, _ := r.stats(overFrom, overTo)
	_, calmP95, codes := r.stats(calmFrom, calmTo)
	overUtil := utilization(st[0], st[1], overTo-overFrom)
	calmUtil := utilization(st[2], st[3], calmTo-calmFrom)
	t.Logf("before ready: p95=%s utilization=%.2f; after: p95=%s utilization=%.2f slots=%d", overP95, overUtil, calmP95, calmUtil, st[3].Slots)
	if overP95 < 150*time.Millisecond {
		t.Errorf("p95 while provisioning = %s, want >= 150ms (still 1 replica)", overP95)
	}
	if calmP95 > 3*service {
		t.Errorf("p95 after scale-up = %s, want <= %s", calmP95, 3*service)
	}
	if overUtil < 0.85 || calmUtil > 0.75 {
		t.Errorf("utilization %.2f → %.2f, want >= 0.85 → <= 0.75", overUtil, calmUtil)
	}
	if st[1].Slots != 2 || st[3].Slots != 8 {
		t.Errorf("slots %d → %d, want 2 → 8", st[1].Slots, st[3].Slots)
	}
	if len(codes) != 1 || codes[http.StatusOK] == 0 {
		t.Errorf("answers after scale-up: %v, want only 200", codes)
	}
}

func TestScaleDownKeepsInFlight(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Replicas = 4
	cfg.SlotsPerReplica = 2
	cfg.ServiceTime = 300 * time.Millisecond
	f := newTestFleet(t, cfg)
	srv := httptest.NewServer(f.Handler())
	t.Cleanup(srv.Close)
	client := newClient()

	codes := make(chan int, 12)
	get := func() {
		resp, err := client.Get(srv.URL + "/api/weddings")
		if err != nil {
			codes <- 0
			return
		}
		resp.Body.Close()
		codes <- resp.StatusCode
	}
	for range 8 {
		go get()
	}
	waitFor(t, 2*time.Second, "8 requests in service", func() bool { return f.State().Busy == 8 })

	rec := adminCall{method: http.MethodPut, body: `{"replicas":1}`}.do(t, f.Handler())
	if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), `"replicas":1,"desired":1`) {
		t.Fatalf("PUT replicas=1: %d %s", rec.Code, rec.Body)
	}
	if s := f.State(); s.Slots != 2 || s.Busy != 8 {
		t.Fatalf("right after scale-down: slots=%d busy=%d, want 2 8 (in-flight work kept)", s.Slots, s.Busy)
	}
	// Newcomers wait until the in-flight work drains below the new slot count.
	for range 4 {
		go get()
	}
	waitFor(t, 2*time.Second, "newcomers queued", func() bool { return f.State().Queued == 4 })
	for i := range 12 {
		if code := <-codes; code != http.StatusOK {
			t.Fatalf("request %d answered %d, want 200: a request was lost in the scale-down", i, code)
		}
	}
	if s := f.State(); s.Busy != 0 || s.Queued != 0 || s.Ready != 1 {
		t.Fatalf("after draining: busy=%d queued=%d ready=%d, want 0 0 1", s.Busy, s.Queued, s.Ready)
	}
	if got := testutil.ToFloat64(f.http.requests.WithLabelValues("GET", "200")); got != 12 {
		t.Fatalf("http_requests_total{code=\"200\"} = %v, want 12", got)
	}
}

func TestHealthEndpoints(t *testing.T) {
	t.Parallel()
	f := newTestFleet(t, testConfig())
	h := f.Handler()
	tests := []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{"/healthz", 200, `"status":"ok"`},
		{"/readyz", 200, `"replicas":1`},
		{"/metrics", 200, "wedsync_demo_replicas 1"},
		{"/nope", 404, ""},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != tc.wantCode || !strings.Contains(rec.Body.String(), tc.wantBody) {
			t.Errorf("GET %s: %d %q, want %d containing %q", tc.path, rec.Code, rec.Body, tc.wantCode, tc.wantBody)
		}
	}
}
