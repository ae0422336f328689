package scaler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/observe"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/predict"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/storetest"
)

// The live wiring: the observer the command builds is the window reader.
var _ scaler.WindowReader = (*observe.Prometheus)(nil)

// gapPol is the demo's shape: a 2 s sync (gapAfter 6 s) and a 90 s
// scale-down window, down by at most 50 % at a time.
const gapPol = `
sync_period: 2s
services:
  api:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 12
    settle_timeout: 2s
    metric_window: 10s
    metrics:
      - {name: cpu, query: 'service:cpu_utilization:ratio{service="api"}', target: 0.6}
    scale_up: {stabilization_window: 0s, cooldown: 0s}
    scale_down: {stabilization_window: 90s, cooldown: 0s, policies: [{type: Percent, value: 50, period: 2s}]}
`

const gapSync, gapWindow = 2 * time.Second, 90 * time.Second

// clock is the scaler's time, moved by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// windowHistory is Prometheus history of the cpu metric as
// observe.Prometheus.Window returns it, from a function of time (NaN: no
// value at that step).
type windowHistory struct {
	cpu   func(time.Time) float64
	mu    sync.Mutex
	reads int
}

func (h *windowHistory) Range(context.Context, string, time.Time, time.Time, time.Duration) ([]predict.Sample, error) {
	return nil, nil
}

func (h *windowHistory) Window(_ context.Context, svc *policy.Service, start, end time.Time, step time.Duration) ([]observe.Step, error) {
	h.mu.Lock()
	h.reads++
	h.mu.Unlock()
	var out []observe.Step
	for at := start; !at.After(end); at = at.Add(step) {
		o := decision.Observation{Name: "cpu", Query: svc.Metrics[0].Query, Target: 0.6, At: at}
		if v := h.cpu(at); math.IsNaN(v) {
			o.Problem = observe.ProblemNoData
		} else {
			o.Value = v
		}
		out = append(out, observe.Step{At: at, Observations: []decision.Observation{o}})
	}
	return out, nil
}

type gapEnv struct {
	clk *clock
	obs *loadObserver
	act *memActuator
	sc  *scaler.Scaler
}

func newGapEnv(t *testing.T, start time.Time, his scaler.HistoryReader) *gapEnv {
	t.Helper()
	p, err := policy.Parse([]byte(gapPol))
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.New(t)
	neutralPhase(t, st)
	e := &gapEnv{clk: &clock{t: start}, obs: &loadObserver{}, act: &memActuator{ready: actuator.State{Replicas: 4}}}
	e.sc, err = scaler.New(scaler.Config{Policy: p, Store: st, Observer: e.obs, History: his, Actuators: map[string]actuator.Actuator{"api": e.act},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: scaler.NewMetrics(prometheus.NewRegistry()), SettlePoll: time.Millisecond,
		Now: e.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// eval moves the clock by d and evaluates with cpu (or a problem).
func (e *gapEnv) eval(t *testing.T, d time.Duration, cpu float64, problem string) scaler.Result {
	t.Helper()
	e.clk.add(d)
	e.obs.set(cpu, 0, problem)
	res := e.sc.Evaluate(context.Background(), "api", time.Time{})
	e.sc.Wait()
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res
}

// Found by a hostile test: a scale-down on the first valid sample after a
// gap. With the real scaler, controller and decision, four ways into a
// gap (4 replicas at 0.55 before it, 0.1 after): the first valid sample
// never scales down and says why, and no scale-down comes before the
// window is observed again since the gap — then one does.
func TestStabilizationAfterAGap(t *testing.T) {
	t.Parallel()
	steady := func(e *gapEnv, t *testing.T) {
		for range 60 {
			e.eval(t, gapSync, 0.55, "")
		}
	}
	tests := []struct {
		name   string
		before func(e *gapEnv, t *testing.T)
		wait   time.Duration // before the first valid sample
		since  string        // in the first sample's reason
	}{
		{"(a) Prometheus unreachable for 4 sync periods", func(e *gapEnv, t *testing.T) {
			steady(e, t)
			for range 4 {
				e.eval(t, gapSync, 0, observe.ProblemQueryError)
			}
		}, gapSync, "since the data gap at"},
		{"(b) a gap shorter than gapAfter", func(e *gapEnv, t *testing.T) {
			steady(e, t)
			e.eval(t, gapSync, 0, observe.ProblemQueryError)
		}, gapSync, "since the data gap at"},
		{"(c) NaN for 3 minutes while traffic was away", func(e *gapEnv, t *testing.T) {
			steady(e, t)
			for range 90 {
				e.eval(t, gapSync, 0, observe.ProblemNaN)
			}
		}, gapSync, "since the data gap at"},
		{"(d) restart: the first evaluation 3 minutes after the start", func(*gapEnv, *testing.T) {}, 3 * time.Minute, "since the restart at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newGapEnv(t, time.Now().UTC(), nil)
			tc.before(e, t)
			first := e.eval(t, tc.wait, 0.1, "")
			firstAt := e.clk.now()
			if first.Output.Outcome == decision.Scale || len(e.act.applied()) > 0 {
				t.Fatalf("first valid sample after the gap: %s → %d (%s)", first.Output.Outcome, first.Output.Target, first.Output.Reason)
			}
			// Held by the gap, or by the window's pre-gap recommendations
			// (b): either way, not by nothing.
			if !strings.Contains(first.Output.Reason, "stabilization window not yet observed "+tc.since) &&
				!strings.HasPrefix(first.Output.Reason, "holding at 4") {
				t.Fatalf("first sample's reason: %s", first.Output.Reason)
			}
			for {
				res := e.eval(t, gapSync, 0.1, "")
				observed := e.clk.now().Sub(firstAt)
				if res.Output.Outcome == decision.Scale {
					if observed < gapWindow {
						t.Fatalf("scaled down %s after the first sample after the gap, inside the %s window: %s", observed, gapWindow, res.Output.Reason)
					}
					break
				}
				if observed > gapWindow+2*gapSync {
					t.Fatalf("no scale-down %s after the gap: %s", observed, res.Output.Reason)
				}
				if observed < gapWindow && tc.since != "" && !strings.HasPrefix(res.Output.Reason, "holding at 4") &&
					!strings.Contains(res.Output.Reason, fmt.Sprintf(": %d s of 90 s", int(observed.Seconds()))) {
					t.Fatalf("after %s: reason %q does not say how much of the window is observed", observed, res.Output.Reason)
				}
			}
		})
	}
}

// After a restart the window comes from history: with 90 s of history at
// 0.1, the first live sample still holds (and says the window came from
// Prometheus), the second scales down; with a hole in the history 30 s
// ago, only the 28 s since it count, and the live samples cover the rest.
func TestRestartFillsTheWindowFromHistory(t *testing.T) {
	t.Parallel()
	start := time.Now().UTC().Truncate(time.Second)
	tests := []struct {
		name string
		cpu  func(time.Time) float64
		// holds is how long after the first live sample the decision holds.
		holds  time.Duration
		reason string
	}{
		{"the whole window in history", func(time.Time) float64 { return 0.1 }, gapSync,
			"stabilization window not yet observed since the restart at %s: 90 s of 90 s (90 s from Prometheus history); the first valid sample after it never scales down"},
		{"a hole 30 s ago", func(at time.Time) float64 {
			if d := start.Sub(at); d >= 29*time.Second && d <= 31*time.Second {
				return math.NaN()
			}
			return 0.1
		}, gapWindow - 28*time.Second,
			"stabilization window not yet observed since the restart at %s: 28 s of 90 s (28 s from Prometheus history); the first valid sample after it never scales down"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			his := &windowHistory{cpu: tc.cpu}
			e := newGapEnv(t, start, his)
			first := e.eval(t, 0, 0.1, "")
			if want := fmt.Sprintf(tc.reason, start.Format(time.RFC3339)); !strings.HasPrefix(first.Output.Reason, want) || first.Output.Outcome != decision.Stabilizing {
				t.Fatalf("first sample: %s: %s\nwant the reason to start %s", first.Output.Outcome, first.Output.Reason, want)
			}
			for {
				res := e.eval(t, gapSync, 0.1, "")
				after := e.clk.now().Sub(start)
				if res.Output.Outcome == decision.Scale {
					if after < tc.holds {
						t.Fatalf("scaled down %s after the restart, want %s: %s", after, tc.holds, res.Output.Reason)
					}
					if res.Output.Target != 2 {
						t.Fatalf("target %d, want 2", res.Output.Target)
					}
					break
				}
				if after > tc.holds {
					t.Fatalf("still holding %s after the restart: %s", after, res.Output.Reason)
				}
			}
			if his.reads != 1 {
				t.Fatalf("history read %d times, want once for the gap", his.reads)
			}
		})
	}
}

// (a) with a real Prometheus on loopback, stopped for more than 3 sync
// periods and started again while the load fell: the first valid sample
// after it (once Prometheus' rate window is warm again) does not scale
// down, its history over the outage is a hole, and the scale-down comes
// only once the window has been observed since.
func TestRealPrometheusOutage(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_cpu_ratio", Help: "x"})
	g.Set(0.55)
	reg.MustRegister(g)
	target := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer target.Close()
	prom, err := devstack.StartPrometheus(ctx, devstack.ServerOptions{Config: []byte(fmt.Sprintf(`
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: test
    static_configs: [{targets: ['%s']}]
`, strings.TrimPrefix(target.URL, "http://")))})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	p, err := policy.Parse([]byte(`
sync_period: 1s
services:
  api:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 12
    settle_timeout: 2s
    metric_window: 2s
    max_data_age: 3s
    metrics:
      - {name: cpu, query: 'test_cpu_ratio', target: 0.6}
    scale_up: {stabilization_window: 0s, cooldown: 0s}
    scale_down: {stabilization_window: 6s, cooldown: 0s}
`))
	if err != nil {
		t.Fatal(err)
	}
	obs, err := observe.NewPrometheus(prom.URL(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.New(t)
	neutralPhase(t, st)
	act := &memActuator{ready: actuator.State{Replicas: 4}}
	sc, err := scaler.New(scaler.Config{Policy: p, Store: st, Observer: obs, History: obs, Actuators: map[string]actuator.Actuator{"api": act},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: scaler.NewMetrics(prometheus.NewRegistry()), SettlePoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	eval := func() scaler.Result {
		res := sc.Evaluate(ctx, "api", time.Time{})
		sc.Wait()
		return res
	}
	// Observed, holding at 4, for longer than the window.
	validFor := time.Duration(0)
	for validFor < 8*time.Second {
		if res := eval(); res.Observations[0].Valid() {
			validFor += 500 * time.Millisecond
		} else if ctx.Err() != nil {
			t.Fatalf("no valid data: %+v\n%s", res.Observations, prom.LogTail(2000))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(act.applied()) != 0 {
		t.Fatalf("acted at steady 0.55: %+v", act.applied())
	}
	// Prometheus away for 5 s (> 3 sync periods); the load falls meanwhile.
	if err := prom.Stop(); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if res := eval(); res.Output.Outcome != decision.NoData {
			t.Fatalf("with Prometheus down: %s (%s)", res.Output.Outcome, res.Output.Reason)
		}
		time.Sleep(500 * time.Millisecond)
	}
	g.Set(0.1)
	if err := prom.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var firstAt time.Time
	for {
		res := eval()
		now := time.Now()
		if res.Observations[0].Valid() && firstAt.IsZero() {
			firstAt = now
			if res.Output.Outcome == decision.Scale || !strings.Contains(res.Output.Reason, "stabilization window not yet observed since the data gap at") {
				t.Fatalf("first valid sample after the outage: %s (%s)", res.Output.Outcome, res.Output.Reason)
			}
		}
		if res.Output.Outcome == decision.Scale {
			if d := now.Sub(firstAt); firstAt.IsZero() || d < 6*time.Second {
				t.Fatalf("scaled down %s after the first valid sample, inside the 6 s window: %s", d, res.Output.Reason)
			}
			break
		}
		if ctx.Err() != nil || !firstAt.IsZero() && now.Sub(firstAt) > 20*time.Second {
			t.Fatalf("no scale-down after the window: %s (%s)", res.Output.Outcome, res.Output.Reason)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
