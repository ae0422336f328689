package scaler_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// twoServices: api, healthy, and slow, whose actuator hangs.
const twoServices = `
sync_period: 1s
services:
  api:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 20
    settle_timeout: 5s
    metric_window: 1s
    metrics:
      - {name: cpu, query: 'service:cpu_utilization:ratio{service="api"}', target: 0.6}
    scale_up: {cooldown: 0s}
    scale_down: {stabilization_window: 3s, cooldown: 0s}
  slow:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 20
    metrics:
      - {name: cpu, query: 'service:cpu_utilization:ratio{service="slow"}', target: 0.6}
`

// hungActuator never answers a read until released; if honourCtx, it
// gives up when the context ends (a client with a deadline), else it
// ignores it (a dependency stuck in a call that takes no context).
type hungActuator struct {
	honourCtx bool
	release   chan struct{}
	reads     atomic.Int64
}

func (h *hungActuator) Current(ctx context.Context) (actuator.State, error) {
	h.reads.Add(1)
	if h.honourCtx {
		select {
		case <-ctx.Done():
			return actuator.State{}, ctx.Err()
		case <-h.release:
		}
	} else {
		<-h.release
	}
	return actuator.State{Replicas: 2}, nil
}

func (h *hungActuator) Apply(context.Context, actuator.State) error { return nil }

func newIsolationEnv(t *testing.T, hung *hungActuator, evalTimeout time.Duration) (*scaler.Scaler, *countingObserver, *memActuator, *prometheus.Registry, *store.Store) {
	t.Helper()
	st := storetest.New(t)
	neutralPhase(t, st)
	p, err := policy.Parse([]byte(twoServices))
	if err != nil {
		t.Fatal(err)
	}
	mem := &memActuator{ready: actuator.State{Replicas: 2}, delay: 300 * time.Millisecond}
	fixed := &fixedObserver{}
	fixed.set(0.9, "")
	obs := &countingObserver{Observer: fixed}
	reg := prometheus.NewRegistry()
	sc, err := scaler.New(scaler.Config{Policy: p, Store: st, Observer: obs, Actuators: map[string]actuator.Actuator{"api": mem, "slow": hung},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: scaler.NewMetrics(reg), SettlePoll: 10 * time.Millisecond,
		EvalTimeout: evalTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return sc, obs, mem, reg, st
}

// One service's actuator hangs, ignoring its context: the other service is
// still evaluated every sync period (and its action runs to the end), and
// the hung one is skipped by every tick while its evaluation runs, counted.
func TestHungServiceStallsOnlyItself(t *testing.T) {
	t.Parallel()
	hung := &hungActuator{release: make(chan struct{})}
	sc, api, mem, reg, st := newIsolationEnv(t, hung, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sc.Run(ctx) }() //nolint:errcheck // returns nil
	time.Sleep(3500 * time.Millisecond)          // the first pass and three ticks

	// Evaluations of api: the passes at 0, 1, 2 and 3 s.
	if n := api.n.Load(); n < 4 {
		t.Errorf("api evaluated %d times in 3.5 s of a 1 s sync period; want ≥ 4", n)
	}
	if n := hung.reads.Load(); n != 1 {
		t.Errorf("slow read %d times; want 1 (its first evaluation never returned)", n)
	}
	if n := counter(t, reg, "wedsync_autoscaler_evaluations_skipped_total", "slow"); n < 3 {
		t.Errorf("skipped evaluations of slow = %v; want ≥ 3", n)
	}
	if n := counter(t, reg, "wedsync_autoscaler_evaluations_skipped_total", "api"); n != 0 {
		t.Errorf("skipped evaluations of api = %v; want 0", n)
	}
	// api's scale-up, started by an evaluation that has long returned,
	// was not cut off with it.
	evs, err := st.ListEvents(context.Background(), store.EventFilter{Service: "api"})
	if err != nil || len(evs) == 0 {
		t.Fatalf("api events = %v, %v", evs, err)
	}
	if last := evs[len(evs)-1]; last.Status != store.StatusCompleted {
		t.Errorf("api's first action is %s (%s); want completed", last.Status, last.ErrorMessage)
	}
	if len(mem.applied()) == 0 {
		t.Error("api never scaled")
	}
	close(hung.release)
	cancel()
	wg.Wait()
}

// A hung read that honours its context is cut at the evaluation timeout
// (counted), and the service is evaluated again at the next tick.
func TestEvaluationTimeout(t *testing.T) {
	t.Parallel()
	hung := &hungActuator{honourCtx: true, release: make(chan struct{})}
	sc, api, _, reg, st := newIsolationEnv(t, hung, 200*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sc.Run(ctx) }() //nolint:errcheck // returns nil
	time.Sleep(2500 * time.Millisecond)
	cancel()
	wg.Wait()
	if n := hung.reads.Load(); n < 3 {
		t.Errorf("slow read %d times in 2.5 s; want ≥ 3 (a new evaluation every tick)", n)
	}
	if n := counter(t, reg, "wedsync_autoscaler_evaluation_timeouts_total", "slow"); n < 3 {
		t.Errorf("timeouts of slow = %v; want ≥ 3", n)
	}
	if n := counter(t, reg, "wedsync_autoscaler_evaluations_skipped_total", "slow"); n != 0 {
		t.Errorf("skipped evaluations of slow = %v; want 0 (each ended at its timeout)", n)
	}
	if n := api.n.Load(); n < 3 {
		t.Errorf("api evaluated %d times; want ≥ 3", n)
	}
	// The cut evaluation says why it did not decide, although its own
	// context had ended.
	ds, err := st.ListDecisions(context.Background(), "slow", 10)
	if err != nil || len(ds) == 0 || ds[0].Outcome != string(decision.NoState) ||
		!strings.Contains(ds[0].Reason, "context deadline exceeded") {
		t.Errorf("slow's decisions = %+v, %v; want no_state after the timeout", ds, err)
	}
}

// counter reads one series of a counter by its service label (0 if absent).
func counter(t *testing.T, reg *prometheus.Registry, name, service string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if mf.GetName() == name && l.GetName() == "service" && l.GetValue() == service {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// countingObserver counts observations: one per evaluation that got past
// the actuator read (the hung service never does).
type countingObserver struct {
	scaler.Observer
	n atomic.Int64
}

func (c *countingObserver) Observe(ctx context.Context, p *policy.Service) []decision.Observation {
	c.n.Add(1)
	return c.Observer.Observe(ctx, p)
}
