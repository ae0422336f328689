// Package replay runs the autoscaler's real decision code — policy,
// package decision, the controller state of package control, the
// forecasters of package predict — over a load trace in simulated time, with
// the actuator and Prometheus replaced by a simulated fleet (package
// fleetsim, the demo fleet's queueing) and by the normalized series the
// rules would record from it. Each strategy (reactive on alerts only,
// level-triggered, predictive, scheduled + predictive, and an emulation of
// Kubernetes HPA's defaults) runs on the same trace and is judged by
// SLO-violation minutes, replica-hours, actions, flaps and forecast error.
package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wedsync/scaling/autoscaler/control"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/observe"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/predict"
	"github.com/wedsync/scaling/autoscaler/replay/fleetsim"
	"github.com/wedsync/scaling/core/config"
	"github.com/wedsync/scaling/rules"
)

// Strategy names, in report order.
const (
	Reactive   = "reactive"
	Level      = "level"
	Predictive = "predictive"
	Scheduled  = "scheduled"
	HPA        = "hpa"
)

// Strategies are every strategy, in report order.
var Strategies = []string{Reactive, Level, Predictive, Scheduled, HPA}

// Config is one replay.
type Config struct {
	Policy  *policy.File
	Service string
	Trace   Trace
	// CapacityPerReplica: requests per second one replica serves at 100 %
	// busy; ReadyAfter: how long a new replica takes to become ready.
	CapacityPerReplica float64
	ReadyAfter         time.Duration
	// Profile holds the rules' timings (rate window, evaluation interval)
	// and the alert thresholds the reactive strategy is driven by.
	Profile *rules.Profile
	// Arrivals of the simulated traffic (default Poisson).
	Arrivals fleetsim.Arrivals
	// SLOLatency: a minute whose p95 (refused requests counted as failed)
	// is above this is an SLO-violation minute (default 2 s).
	SLOLatency time.Duration
	// Strategies to run (default all).
	Strategies []string
	// Baseline, when set, is the policy the reactive strategy runs (the
	// policy as it was before, under alerts-only control): "today" compared
	// with the policy being replayed. Default: the replayed policy itself.
	Baseline *policy.File
	// Warmup: the first part of the trace is replayed — the fleet runs, the
	// forecasters learn from it as from Prometheus history — but not
	// counted in any figure. A seasonal forecaster needs a week of history
	// before it forecasts anything, as it would in production.
	Warmup time.Duration
	// Gaps are injected outages of Prometheus: over each, every metric
	// reads query_error, as the observer does when Prometheus is away.
	Gaps []Gap
	// Review, when set, is called every ReviewEvery of simulated time with
	// the minutes since its last call and the service's policy in force; a
	// policy it returns is in force from that instant (a bounds override
	// written by an implemented recommendation, as the live scaler reads it
	// on its next evaluation). The controller's state and the fleet carry
	// on. It must return a validated policy (ApplyDefaults, Validate).
	Review      func(now time.Time, last []Minute, p *policy.Service) (*policy.Service, error)
	ReviewEvery time.Duration
}

// Gap is an outage over [From, To), offsets from the trace's start.
type Gap struct{ From, To time.Duration }

func (c *Config) inGap(off time.Duration) bool {
	for _, g := range c.Gaps {
		if off >= g.From && off < g.To {
			return true
		}
	}
	return false
}

// Result is one strategy's outcome.
type Result struct {
	SLOViolationMinutes float64  `json:"slo_violation_minutes"`
	ReplicaHours        float64  `json:"replica_hours"`
	Actions             int      `json:"actions"`
	Flaps               int      `json:"flaps"`
	ForecastMAPE        *float64 `json:"forecast_mape"`
	Refused             float64  `json:"refused_requests"`
	MaxReplicas         int      `json:"max_replicas"`
	// RecoveryRounds is, over every run of SLO-violation minutes, the most
	// scaling rounds it took before the SLO was met again. A round is an
	// action and what follows it until its replicas are ready: actions (and
	// raises) started while a round's replicas provision belong to it.
	RecoveryRounds int     `json:"recovery_rounds"`
	P95MaxSeconds  float64 `json:"p95_max_seconds"`
	// Minutes is the per-minute series (for the chart); Log the actions.
	Minutes []Minute    `json:"-"`
	Log     []ActionLog `json:"-"`
	// Decisions counts evaluations; DecideTime their total time (the
	// controller and decision only).
	Decisions  int           `json:"-"`
	DecideTime time.Duration `json:"-"`
}

// Minute is one simulated minute.
type Minute struct {
	At       time.Time
	Load     float64 // offered, req/s
	Capacity float64 // ready replicas × capacity per replica
	P95      float64 // seconds, refused requests counted as failed (+Inf when all were refused)
	Replicas int     // ready
	// CPU is the busy share of the ready slots, averaged over the minute.
	CPU float64
	// ReplicaSeconds are the replicas asked for (and paid for, ready or
	// provisioning), summed over the minute's seconds.
	ReplicaSeconds int
}

// ActionLog is one action of a strategy.
type ActionLog struct {
	At       time.Time
	From, To int
	Reason   string
}

// Report is a whole replay.
type Report struct {
	Service            string             `json:"service"`
	Warmup             string             `json:"warmup,omitempty"`
	TraceStart         time.Time          `json:"trace_start"`
	TraceStep          string             `json:"trace_step"`
	TraceDuration      string             `json:"trace_duration"`
	CapacityPerReplica float64            `json:"capacity_per_replica"`
	ReadyAfter         string             `json:"ready_after"`
	Strategies         map[string]*Result `json:"strategies"`
	Order              []string           `json:"-"`
}

// Validate checks a replay's configuration; every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Policy == nil || c.Policy.Services[c.Service] == nil {
		errs = append(errs, fmt.Errorf("--service: %q is not in the policy file", c.Service))
	} else if p := c.Policy.Services[c.Service]; p.Mode != policy.Horizontal {
		errs = append(errs, fmt.Errorf("--service: %s scales vertically; the replay simulates a fleet of replicas", c.Service))
	} else {
		for _, m := range p.Metrics {
			if _, err := classify(m); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if !(c.CapacityPerReplica > 0) || math.IsInf(c.CapacityPerReplica, 0) {
		errs = append(errs, fmt.Errorf("--capacity-per-replica: must be a positive number of requests per second, got %v", c.CapacityPerReplica))
	}
	if c.ReadyAfter < 0 {
		errs = append(errs, fmt.Errorf("--ready-after: must not be negative, got %s", c.ReadyAfter))
	}
	if len(c.Trace.Rates) < 2 {
		errs = append(errs, errors.New("--trace: needs at least two points"))
	}
	if c.Review != nil && c.ReviewEvery <= 0 {
		errs = append(errs, fmt.Errorf("review_every: must be positive with a review, got %s", c.ReviewEvery))
	}
	if c.Profile == nil {
		errs = append(errs, errors.New("profile: required"))
	}
	if c.Warmup < 0 || len(c.Trace.Rates) >= 2 && c.Warmup >= c.Trace.Duration() {
		errs = append(errs, fmt.Errorf("--warmup: %s must be in [0, the trace's %s)", c.Warmup, c.Trace.Duration()))
	}
	for i, g := range c.Gaps {
		if g.From < 0 || g.To <= g.From || len(c.Trace.Rates) >= 2 && g.To > c.Trace.Duration() {
			errs = append(errs, fmt.Errorf("gaps[%d]: [%s, %s) must be a non-empty range within the trace's %s", i, g.From, g.To, c.Trace.Duration()))
		}
	}
	for _, s := range c.Strategies {
		if !isStrategy(s) {
			errs = append(errs, fmt.Errorf("--strategies: %q is not one of %s", s, strings.Join(Strategies, ", ")))
		}
	}
	return errors.Join(errs...)
}

func isStrategy(s string) bool {
	for _, k := range Strategies {
		if k == s {
			return true
		}
	}
	return false
}

// Run replays every strategy on the trace, concurrently (each is
// deterministic and independent).
func Run(ctx context.Context, c Config) (*Report, error) {
	if c.SLOLatency == 0 {
		c.SLOLatency = 2 * time.Second
	}
	if len(c.Strategies) == 0 {
		c.Strategies = Strategies
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rep := &Report{Service: c.Service, TraceStart: c.Trace.Start, TraceStep: c.Trace.Step.String(), TraceDuration: c.Trace.Duration().String(),
		CapacityPerReplica: c.CapacityPerReplica, ReadyAfter: c.ReadyAfter.String(), Strategies: map[string]*Result{}, Order: c.Strategies}
	if c.Warmup > 0 {
		rep.Warmup = c.Warmup.String()
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for _, name := range c.Strategies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.run(ctx, name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("strategy %s: %w", name, err))
				return
			}
			rep.Strategies[name] = res
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return rep, nil
}

// strategyPolicy is the service's policy as a strategy runs it.
func (c *Config) strategyPolicy(name string) (*policy.Service, time.Duration, error) {
	base := c.Policy.Services[c.Service]
	p := *base
	sync := c.Policy.SyncPeriod.D()
	switch name {
	case Reactive:
		if c.Baseline != nil {
			b := c.Baseline.Services[c.Service]
			if b == nil {
				return nil, 0, fmt.Errorf("--baseline.config.file: service %q is not in it", c.Service)
			}
			p, sync = *b, c.Baseline.SyncPeriod.D()
		}
		p.Control, p.Predictive, p.Schedules = policy.AlertsOnly, nil, nil
	case Level:
		p.Control, p.Predictive, p.Schedules = policy.Level, nil, nil
	case Predictive, Scheduled:
		p.Control = policy.Level
		if p.Predictive == nil {
			pr, err := defaultPredictive(&p)
			if err != nil {
				return nil, 0, err
			}
			p.Predictive = pr
		} else {
			pr := *p.Predictive
			pr.ForecastOnly = false // the replay judges what prediction would do
			p.Predictive = &pr
		}
		if name == Predictive {
			p.Schedules = nil
		}
	case HPA:
		p, sync = *hpaPolicy(base), 15*time.Second
	}
	f := &policy.File{SyncPeriod: config.Duration(sync), AlertTTL: c.Policy.AlertTTL, Services: map[string]*policy.Service{c.Service: &p}}
	// Re-validated so that the strategy's schedules are compiled and its
	// defaults applied exactly as the loader would.
	f.ApplyDefaults()
	if err := f.Validate(); err != nil {
		return nil, 0, fmt.Errorf("strategy policy: %w", err)
	}
	return f.Services[c.Service], sync, nil
}

// defaultPredictive gives a policy without a predictive section one, on
// its first load metric, with both forecasters.
func defaultPredictive(p *policy.Service) (*policy.Predictive, error) {
	for _, m := range p.Metrics {
		if m.Type == policy.MetricLoad {
			pr := &policy.Predictive{Driver: m.Name}
			return pr, nil
		}
	}
	return nil, fmt.Errorf("the policy has no metric of type load to forecast: add one (e.g. service:http_requests:rate) or a predictive section")
}

// hpaPolicy is the service as Kubernetes' HPA would run it with its
// defaults on CPU: tolerance 10 %, no up window and 4 pods or 100 % per
// 15 s, a 300 s down window and 100 % per 15 s, no cooldown, 15 s sync.
func hpaPolicy(base *policy.Service) *policy.Service {
	p := *base
	p.Control, p.Predictive, p.Schedules, p.MonthlyCostCeiling = policy.Level, nil, nil, nil
	tol := 0.1
	p.Tolerance = &tol
	p.Metrics = nil
	for _, m := range base.Metrics {
		if m.Type == policy.Utilization && strings.Contains(m.Query, "cpu_utilization") {
			p.Metrics = append(p.Metrics, m)
			break
		}
	}
	if len(p.Metrics) == 0 {
		p.Metrics = []policy.Metric{{Name: "cpu", Type: policy.Utilization, Query: "service:cpu_utilization:ratio", Target: 0.6}}
	}
	zero, five := config.Duration(0), config.Duration(300*time.Second)
	period := config.Duration(15 * time.Second)
	p.ScaleUp = policy.Behavior{StabilizationWindow: &zero, Cooldown: &zero, Select: policy.SelectMax,
		Policies: []policy.RatePolicy{{Type: policy.Pods, Value: 4, Period: period}, {Type: policy.Percent, Value: 100, Period: period}}}
	p.ScaleDown = policy.Behavior{StabilizationWindow: &five, Cooldown: &zero, Select: policy.SelectMax,
		Policies: []policy.RatePolicy{{Type: policy.Percent, Value: 100, Period: period}}}
	return &p
}

// signal is what a policy metric reads in the simulation.
type signal int

const (
	sigCPU signal = iota
	sigLoad
	sigP50
	sigP95
	sigP99
	sigErrors
)

// classify maps a policy metric onto the normalized series it reads.
func classify(m policy.Metric) (signal, error) {
	q := m.Query
	switch {
	case m.Type == policy.MetricLoad || strings.Contains(q, "http_requests:rate") || strings.Contains(q, "http_requests_total"):
		return sigLoad, nil
	case strings.Contains(q, "cpu_utilization"):
		return sigCPU, nil
	case strings.Contains(q, ":p95"):
		return sigP95, nil
	case strings.Contains(q, ":p99"):
		return sigP99, nil
	case strings.Contains(q, ":p50"):
		return sigP50, nil
	case strings.Contains(q, "errors"):
		return sigErrors, nil
	}
	return 0, fmt.Errorf("metric %s: the replay cannot simulate %q (it knows CPU utilization, request rate, p50/p95/p99 latency and the error ratio of the normalized series)", m.Name, q)
}

// flapWindow: two actions in opposite directions this close are a flap.
const flapWindow = 10 * time.Minute

// run simulates one strategy second by second.
func (c *Config) run(ctx context.Context, name string) (*Result, error) {
	p, sync, err := c.strategyPolicy(name)
	if err != nil {
		return nil, err
	}
	sigs := make([]signal, len(p.Metrics))
	for i, m := range p.Metrics {
		sigs[i], _ = classify(m)
	}
	lo, hi := p.Bounds()
	start := c.Trace.Start
	initial := min(max(steadyReplicas(p, c.Trace, c.CapacityPerReplica), lo), hi)
	fleet, err := fleetsim.New(fleetsim.Config{CapacityPerReplica: c.CapacityPerReplica, ReadyAfter: c.ReadyAfter, Replicas: initial,
		MaxReplicas: max(hi, initial) * 2, Arrivals: c.Arrivals})
	if err != nil {
		return nil, err
	}
	sim := newSignals(c.Profile, sync)
	alerts := newAlertSim(c.Profile)
	// The fleet starts settled: the day before the trace counts as observed.
	ctl := control.New(c.Service, start)
	ctl.AssumeObserved(start.Add(-24*time.Hour), start)
	hist := newStepHistory(p)
	res := &Result{}
	var (
		minute      []fleetsim.Tick
		minuteSecs  int
		reviewed    int // minutes already given to Review
		replicaSecs float64
		inflight    *ActionLog
		lastDir     int
		lastActAt   time.Time
		kicked      bool
	)
	const dt = time.Second
	total := c.Trace.Duration()
	for off := time.Duration(0); off < total; off += dt {
		if off%(time.Hour) == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		now := start.Add(off)
		if c.Review != nil && off > 0 && off%c.ReviewEvery == 0 {
			np, err := c.Review(now, res.Minutes[reviewed:], p)
			if err != nil {
				return nil, fmt.Errorf("review at %s: %w", now.Format(time.RFC3339), err)
			}
			reviewed = len(res.Minutes)
			if np != nil {
				p = np
			}
		}
		rate := c.Trace.At(now)
		tk := fleet.Step(off, dt, rate)
		sim.add(tk)
		if off == c.Warmup && off > 0 {
			ctl.Tracker = predict.Tracker{} // forecasts are scored from here on
			minute, minuteSecs = minute[:0], 0
		}
		counted := off >= c.Warmup
		if counted {
			minute = append(minute, tk)
			minuteSecs += fleet.Desired() * int(dt/time.Second)
			replicaSecs += float64(fleet.Desired()) * dt.Seconds()
			res.Refused += tk.Refused
			res.MaxReplicas = max(res.MaxReplicas, fleet.Desired())
		}
		if len(minute) == 60 {
			q := fleetsim.Quantile(minute, 0.95, math.Inf(1))
			if q > c.SLOLatency.Seconds() {
				res.SLOViolationMinutes++
			}
			if !math.IsNaN(q) && !math.IsInf(q, 0) {
				res.P95MaxSeconds = math.Max(res.P95MaxSeconds, q)
			}
			var arrived, cpu float64
			for _, m := range minute {
				arrived += m.Arrived
				cpu += m.CPU()
			}
			res.Minutes = append(res.Minutes, Minute{At: now.Add(-59 * time.Second), Load: arrived / 60, Capacity: float64(fleet.Ready()) * c.CapacityPerReplica,
				P95: q, Replicas: fleet.Ready(), CPU: cpu / float64(len(minute)), ReplicaSeconds: minuteSecs})
			minute, minuteSecs = minute[:0], 0
		}
		if inflight != nil && fleet.Ready() == inflight.To {
			ready := time.Duration(0)
			if inflight.To > inflight.From {
				ready = now.Sub(inflight.At)
			}
			ctl.Finished(now, ready)
			inflight = nil
		}
		evalTick := off%c.Profile.EvaluationInterval.D() == 0
		if evalTick && name == Reactive {
			kicked = alerts.step(off, sim.signals()) || kicked
		}
		if off%sync != 0 && !kicked {
			continue
		}
		kicked = false
		// One action at a time, until it shows — but a scale-up under level
		// control may be raised while it provisions, as the live scaler does.
		extending := inflight != nil && inflight.To > inflight.From && p.Control == policy.Level
		if inflight != nil && !extending {
			continue
		}
		obs := sim.observe(p, sigs, now)
		if c.inGap(off) {
			for i := range obs {
				obs[i].Problem, obs[i].Detail = observe.ProblemQueryError, "injected gap: Prometheus unreachable"
			}
		}
		if load, ok := sim.value(sigLoad); ok && off%sync == 0 {
			hist.add(now, load)
		}
		if ctl.NeedsRefit(p, now) {
			// Live, this runs in the background; it is not decision time.
			ctl.MarkRefit(now)
			m, ferr := hist.fit(now)
			ctl.SetSeasonal(now, m, ferr)
		}
		t0 := time.Now()
		current := fleet.Ready()
		if extending {
			current = inflight.To
		}
		in, _ := ctl.Gather(p, now, current, obs, sync, 3*sync)
		in.Ready = fleet.Ready()
		if name == Reactive {
			up, down, slo := alerts.directions()
			in.Allow, in.SLOBreached = &decision.Directions{Up: up, Down: down}, slo
		}
		out := decision.Decide(p, in)
		ctl.Record(p, now, out)
		res.DecideTime += time.Since(t0)
		res.Decisions++
		if out.Outcome != decision.Scale || extending && out.Target <= current {
			continue
		}
		if err := fleet.SetDesired(off, out.Target); err != nil {
			return nil, err
		}
		ctl.Acted(p, now, current, out.Target)
		if extending {
			inflight.To = out.Target
			if counted {
				res.Actions++
				res.Log = append(res.Log, ActionLog{At: now, From: current, To: out.Target, Reason: "raised in flight: " + out.Reason})
			}
			continue
		}
		a := ActionLog{At: now, From: current, To: out.Target, Reason: out.Reason}
		dir := 1
		if out.Target < current {
			dir = -1
		}
		if counted {
			res.Log = append(res.Log, a)
			res.Actions++
			if lastDir != 0 && dir != lastDir && now.Sub(lastActAt) < flapWindow {
				res.Flaps++
			}
		}
		lastDir, lastActAt = dir, now
		inflight = &a
	}
	res.ReplicaHours = replicaSecs / 3600
	res.RecoveryRounds = recoveryRounds(res.Minutes, res.Log, c.SLOLatency.Seconds(), c.ReadyAfter+sync)
	if e, n := ctl.Tracker.MAPE(control.Combined); n > 0 {
		res.ForecastMAPE = &e
	}
	return res, nil
}

// recoveryRounds counts, for each run of SLO-violation minutes, the
// scaling rounds started from its first minute until the first minute
// within the SLO — a new round when an action starts after the previous
// round's replicas were ready (round) — and returns the largest count.
func recoveryRounds(ms []Minute, log []ActionLog, slo float64, round time.Duration) int {
	worst := 0
	for i := 0; i < len(ms); i++ {
		if !(ms[i].P95 > slo) {
			continue
		}
		j := i
		for j < len(ms) && ms[j].P95 > slo {
			j++
		}
		from, to := ms[i].At, ms[len(ms)-1].At.Add(time.Minute)
		if j < len(ms) {
			to = ms[j].At
		}
		n := 0
		var started time.Time
		for _, a := range log {
			if a.At.Before(from) || !a.At.Before(to) {
				continue
			}
			if n == 0 || !a.At.Before(started.Add(round)) {
				n++
				started = a.At
			}
		}
		worst = max(worst, n)
		i = j
	}
	return worst
}

// steadyReplicas is what the policy's target calls for at the trace's
// first minute of load: every strategy starts from the same settled fleet.
func steadyReplicas(p *policy.Service, tr Trace, capacity float64) int {
	target := 0.0
	for _, m := range p.Metrics {
		if m.Type == policy.MetricLoad || m.Type == policy.Utilization {
			target = m.Target
			break
		}
	}
	if target <= 0 || target > 1 {
		target = 0.6
	}
	n := max(1, min(len(tr.Rates), int(time.Minute/tr.Step)))
	var sum float64
	for _, r := range tr.Rates[:n] {
		sum += r
	}
	x := sum / float64(n) / (capacity * target)
	// A fleet within the tolerance of the target is settled: round to it.
	if r := math.Round(x); r >= 1 && math.Abs(x/r-1) <= *p.Tolerance {
		return int(r)
	}
	return max(1, int(math.Ceil(x-1e-9)))
}

// Sorted lists the strategies of a report in order.
func (r *Report) Sorted() []string {
	out := append([]string(nil), r.Order...)
	sort.SliceStable(out, func(i, j int) bool { return index(out[i]) < index(out[j]) })
	return out
}

func index(s string) int {
	for i, k := range Strategies {
		if k == s {
			return i
		}
	}
	return len(Strategies)
}
