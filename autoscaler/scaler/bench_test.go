package scaler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/observe"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/autoscaler/webhook"
	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// timedActuator notes when Apply is called: the end of the measured path.
type timedActuator struct {
	mu      sync.Mutex
	state   actuator.State
	applied chan time.Time
}

func (a *timedActuator) Current(context.Context) (actuator.State, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state, nil
}

func (a *timedActuator) Apply(_ context.Context, s actuator.State) error {
	at := time.Now()
	a.mu.Lock()
	a.state = s
	a.mu.Unlock()
	a.applied <- at
	return nil
}

// BenchmarkDecisionLatency measures, inside the autoscaler, the time from
// receiving a notification (the webhook handler's entry) to calling the
// actuator: durable recording of the notification, the kick, reading the
// service's state, two PromQL queries against a real Prometheus, the
// decision, and the event written before acting — everything but the
// actuator itself. PostgreSQL runs with fsync on.
func BenchmarkDecisionLatency(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, _ := storetest.NewDurable(b)
	prom, err := devstack.StartPrometheus(ctx, devstack.ServerOptions{Config: []byte("global: {scrape_interval: 15s}\n")})
	if err != nil {
		b.Fatal(err)
	}
	defer prom.Close()
	pol, err := policy.Parse([]byte(`
sync_period: 1h
services:
  api:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 1
    max_replicas: 100
    metrics: [{name: cpu, query: "vector(0.9)", target: 0.6}]
    # vector() reads no window: a Prometheus started a moment ago is not
    # warming up for it.
    metric_window: 1ms
    # Every iteration scales 2 → 3 again: no rate policy may hold it.
    scale_up: {cooldown: 0s, policies: [{type: Pods, value: 1000, period: 1s}]}
`))
	if err != nil {
		b.Fatal(err)
	}
	prometheus, _ := observe.NewPrometheus(prom.URL(), 5*time.Second)
	obs := &timedObserver{inner: prometheus}
	act := &timedActuator{state: actuator.State{Replicas: 2}, applied: make(chan time.Time, 1)}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sc, err := scaler.New(scaler.Config{Policy: pol, Store: st, Observer: obs, Actuators: map[string]actuator.Actuator{"api": act},
		Logger: logger, SettlePoll: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	go sc.Run(ctx)
	h, _ := webhook.New(webhook.Config{Recorder: webhook.NewGroupCommit(st, 2, 64), Known: sc.Known, Notify: sc.Kick, Token: "t", Logger: logger})
	var received time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received = time.Now()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	body, err := os.ReadFile("../webhook/testdata/am-0.25-firing.json")
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	inside := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		// A new notification each time (another group key) for the same
		// alert; the service starts from 2 replicas each time.
		act.mu.Lock()
		act.state = actuator.State{Replicas: 2}
		act.mu.Unlock()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(strings.Replace(string(body), `"groupKey":"`, fmt.Sprintf(`"groupKey":"%d`, i), 1)))
		req.Header.Set("Authorization", "Bearer t")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("post: %v %v", resp, err)
		}
		resp.Body.Close()
		select {
		case at := <-act.applied:
			lat = append(lat, at.Sub(received))
			inside = append(inside, at.Sub(received)-obs.last())
		case <-time.After(10 * time.Second):
			b.Fatal("no actuator call")
		}
		// Wait for the event to be finished before the next notification.
		for {
			evs, _ := st.ListEvents(ctx, store.EventFilter{Service: "api", Status: store.StatusInProgress})
			if len(evs) == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	b.StopTimer()
	pct := func(d []time.Duration, p float64) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(lat, 0.50), "p50_ms")
	b.ReportMetric(pct(lat, 0.99), "p99_ms")
	// The same path without the Prometheus round trip, whose own tail on a
	// shared 2-core machine is about as long as the whole goal.
	b.ReportMetric(pct(inside, 0.50), "p50_without_prometheus_ms")
	b.ReportMetric(pct(inside, 0.99), "p99_without_prometheus_ms")
}

// timedObserver notes how long the last Observe took.
type timedObserver struct {
	inner scaler.Observer
	mu    sync.Mutex
	took  time.Duration
}

func (o *timedObserver) Observe(ctx context.Context, p *policy.Service) []decision.Observation {
	t0 := time.Now()
	out := o.inner.Observe(ctx, p)
	o.mu.Lock()
	o.took = time.Since(t0)
	o.mu.Unlock()
	return out
}

func (o *timedObserver) last() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.took
}
