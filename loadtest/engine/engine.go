// Package engine runs a load test: k6's six executors over virtual users,
// an arrival-rate scheduler that measures latency from each request's
// scheduled time (coordinated-omission safe) and counts the iterations it
// could not start as dropped, HDR histograms, a per-second time series for
// the report, threshold checks (abortOnFail included), live progress and
// Prometheus metrics.
//
// The entry point is Start; the caller watches Progress, may Cancel, and
// collects the Result with Wait. Partial results survive a cancellation.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wedsync/scaling/loadtest/scenario"
	"github.com/wedsync/scaling/loadtest/threshold"
)

// Options tune a run; the zero value is fine.
type Options struct {
	// Limits default to scenario.DefaultLimits.
	Limits *scenario.Limits
	// Env resolves ${NAME} in request headers; nil is the process
	// environment (the CLI). A server running scenarios submitted by API
	// callers passes NoEnv: otherwise a caller could have the server send
	// its own secrets to a target of the caller's choosing.
	Env func(string) (string, bool)
	// Tick is the resolution of the time series and of abortOnFail checks.
	Tick   time.Duration
	Logger *slog.Logger
}

// Status is how a run ended, as load_tests.status stores it.
type Status string

const (
	StatusRunning   Status = "running"
	StatusCompleted Status = "completed" // ran to its end; thresholds may still have failed (Result.Passed)
	StatusFailed    Status = "failed"    // aborted by an abortOnFail threshold
	StatusCancelled Status = "cancelled" // Cancel, or the context ended; partial results kept
)

// NoEnv resolves no variable: every ${NAME} in a header is an error.
func NoEnv(string) (string, bool) { return "", false }

// ErrCancelled is the cause of a run stopped by Cancel.
var ErrCancelled = errors.New("load test cancelled")

// AbortError is the cause of a run stopped by an abortOnFail threshold.
type AbortError struct{ Metric, Threshold string }

func (e *AbortError) Error() string {
	return fmt.Sprintf("threshold %s %q crossed (abortOnFail)", e.Metric, e.Threshold)
}

// Metric is a k6 summary metric: its type, what its values contain and the
// aggregated values (times in milliseconds).
type Metric struct {
	Type     string             `json:"type"`
	Contains string             `json:"contains"`
	Values   map[string]float64 `json:"values"`
}

// ThresholdResult is one threshold's verdict at the end of the run.
type ThresholdResult struct {
	Metric      string  `json:"metric"`
	Threshold   string  `json:"threshold"`
	OK          bool    `json:"ok"`
	AbortOnFail bool    `json:"abortOnFail,omitempty"`
	Value       float64 `json:"value"`
}

// Point is one tick of the time series. Latencies are in milliseconds and
// meaningless when Requests is 0.
type Point struct {
	T         float64 `json:"t"` // seconds since the start, end of the interval
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	RPS       float64 `json:"rps"`
	P50       float64 `json:"p50"`
	P90       float64 `json:"p90"`
	P95       float64 `json:"p95"`
	P99       float64 `json:"p99"`
	Max       float64 `json:"max"`
	VUs       int64   `json:"vus"`
	Dropped   int64   `json:"dropped"`
	WithinSLO bool    `json:"withinSLO"` // the interval met the run's latency and error thresholds
}

// Model says how one executor measured latency.
type Model struct {
	Scenario string `json:"scenario"`
	Executor string `json:"executor"`
	// Open models measure from the scheduled time (coordinated-omission
	// safe); closed ones from the moment a VU sent the request, which
	// under-reports stalls.
	Open bool `json:"open"`
}

// Result is what a run measured.
type Result struct {
	Name          string            `json:"name"`
	Type          scenario.Type     `json:"type"`
	Target        string            `json:"target"`
	Scenario      scenario.Scenario `json:"scenario"`
	Status        Status            `json:"status"`
	Passed        bool              `json:"passed"`
	FailureReason string            `json:"failureReason,omitempty"`
	StartedAt     time.Time         `json:"startedAt"`
	EndedAt       time.Time         `json:"endedAt"`
	Duration      time.Duration     `json:"duration"`
	Metrics       map[string]Metric `json:"metrics"`
	Thresholds    []ThresholdResult `json:"thresholds"`
	Series        []Point           `json:"series"`
	// Capacity is the most concurrent users sustained for a window of
	// seconds while every second met the latency and error thresholds.
	Capacity int64   `json:"capacity"`
	Models   []Model `json:"models"`
}

// Progress is a live view of a run.
type Progress struct {
	Status     Status
	Elapsed    time.Duration
	Total      time.Duration // nominal length
	VUs        int64
	VUsMax     int64
	TargetRate float64 // open models: arrivals/s scheduled now
	Requests   int64
	Errors     int64
	Dropped    int64
	RPS        float64 // over the last tick
	P95        float64 // ms, whole run so far; NaN before the first response
	ErrorRate  float64
}

// Run is a load test in progress.
type Run struct {
	sc     scenario.Scenario
	tick   time.Duration
	logger *slog.Logger
	reqs   []*preparedRequest
	hosts  []string
	groups []group
	ths    []compiledThreshold
	client *client
	shards []*shard
	execs  []*execRun
	total  time.Duration

	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}

	active    atomic.Int64 // VUs running (closed) or busy (open)
	allocated atomic.Int64 // VUs initialized (k6's vus_max)
	shardSeq  atomic.Int64

	mu       sync.Mutex
	start    time.Time
	lastTick time.Time
	interval *stats
	all      *stats
	series   []Point
	vusMin   int64
	vusPeak  int64
	prog     Progress
	live     liveSnapshot
	result   *Result
}

type compiledThreshold struct {
	metric string // as written in the thresholds map
	name   threshold.MetricName
	group  int // -1: the whole metric; -2: expected_response:true
	expr   threshold.Expr
	abort  bool
	delay  time.Duration
	source string
}

// Check does everything Start does before the first request — validation,
// limits, requests prepared (header variables expanded), thresholds
// compiled — without starting: a caller that records the run first uses it
// so that a bad scenario leaves no trace.
func Check(sc scenario.Scenario, opts Options) error {
	_, err := newRun(sc, opts)
	return err
}

// Start validates the scenario and the limits — before anything is sent —
// then starts the run in the background.
func Start(ctx context.Context, sc scenario.Scenario, opts Options) (*Run, error) {
	r, err := newRun(sc, opts)
	if err != nil {
		return nil, err
	}
	r.client = newClient(&r.sc, int(max(r.sc.PeakVUs(), 2)))
	r.ctx, r.cancel = context.WithCancelCause(ctx)
	r.start = time.Now()
	r.lastTick = r.start
	r.prog = Progress{Status: StatusRunning, Total: r.total, P95: math.NaN()}
	go r.run()
	return r, nil
}

func newRun(sc scenario.Scenario, opts Options) (*Run, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	limits := scenario.DefaultLimits
	if opts.Limits != nil {
		limits = *opts.Limits
	}
	if err := sc.CheckLimits(limits); err != nil {
		return nil, err
	}
	r := &Run{sc: sc, tick: opts.Tick, logger: opts.Logger, done: make(chan struct{}), total: sc.TotalDuration(), vusMin: -1}
	if r.tick <= 0 {
		r.tick = time.Second
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	var err error
	env := opts.Env
	if env == nil {
		env = os.LookupEnv
	}
	if r.reqs, r.hosts, err = prepareRequests(&r.sc, env); err != nil {
		return nil, err
	}
	if err := r.compileThresholds(); err != nil {
		return nil, err
	}
	n := 4 * runtime.GOMAXPROCS(0)
	r.shards = make([]*shard, n)
	for i := range r.shards {
		r.shards[i] = &shard{cur: newStats(len(r.groups)), spare: newStats(len(r.groups))}
	}
	r.interval, r.all = newStats(len(r.groups)), newStats(len(r.groups))
	for _, name := range r.sc.ExecutorNames() {
		r.execs = append(r.execs, r.newExecRun(name, r.sc.Scenarios[name]))
	}
	return r, nil
}

func (r *Run) compileThresholds() error {
	groupIdx := map[string]int{}
	keys := make([]string, 0, len(r.sc.Thresholds))
	for k := range r.sc.Thresholds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m, err := threshold.ParseMetricName(k)
		if err != nil {
			return fmt.Errorf("thresholds.%s: %w", k, err)
		}
		g := -1
		if len(m.Tags) == 1 && m.Tags[0].Key == "expected_response" && m.Tags[0].Value == "true" && m.Name == "http_req_duration" {
			g = -2
		} else if len(m.Tags) > 0 {
			key := threshold.MetricName{Tags: m.Tags}.String()
			idx, ok := groupIdx[key]
			if !ok {
				idx = len(r.groups)
				groupIdx[key] = idx
				r.groups = append(r.groups, group{tags: m.Tags})
			}
			g = idx
		}
		for i, t := range r.sc.Thresholds[k] {
			e, err := threshold.Parse(t.Threshold)
			if err != nil {
				return fmt.Errorf("thresholds.%s[%d]: %w", k, i, err)
			}
			ct := compiledThreshold{metric: k, name: m, group: g, expr: e, abort: t.AbortOnFail, source: t.Threshold}
			if t.DelayAbortEval != nil {
				ct.delay = t.DelayAbortEval.D()
			}
			r.ths = append(r.ths, ct)
		}
	}
	return nil
}

// Cancel stops the run: in-flight requests are abandoned, what was measured
// is kept, and the status is cancelled.
func (r *Run) Cancel() { r.cancel(ErrCancelled) }

// Done is closed when the run has ended and its Result is ready.
func (r *Run) Done() <-chan struct{} { return r.done }

// Wait blocks until the run ends and returns its result.
func (r *Run) Wait() (*Result, error) {
	<-r.done
	return r.result, nil
}

// Scenario is the validated scenario being run.
func (r *Run) Scenario() scenario.Scenario { return r.sc }

// StartedAt is when the run started.
func (r *Run) StartedAt() time.Time { return r.start }

// Progress returns the latest view of the run (updated every tick).
func (r *Run) Progress() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.prog
	if p.Status == StatusRunning {
		p.Elapsed = time.Since(r.start)
		p.VUs = r.active.Load()
		p.VUsMax = r.allocated.Load()
		p.TargetRate = r.targetRate(p.Elapsed)
	}
	return p
}

func (r *Run) targetRate(elapsed time.Duration) float64 {
	var rate float64
	for _, x := range r.execs {
		rate += x.rateAt(elapsed - x.startOffset)
	}
	return rate
}

func (r *Run) run() {
	var wg sync.WaitGroup
	for _, x := range r.execs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x.run(r.ctx, r.start)
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	t := time.NewTicker(r.tick)
	defer t.Stop()
loop:
	for {
		select {
		case now := <-t.C:
			r.collect(now)
		case <-finished:
			break loop
		}
	}
	end := time.Now()
	r.collect(end)
	r.client.close()
	r.finish(end)
	r.cancel(nil)
	close(r.done)
}

// collect swaps every shard's stats, merges them into the interval and the
// whole run, appends a point and checks the abortOnFail thresholds.
func (r *Run) collect(now time.Time) {
	iv := r.interval
	for _, sh := range r.shards {
		sh.mu.Lock()
		sh.cur, sh.spare = sh.spare, sh.cur
		sh.mu.Unlock()
		iv.merge(sh.spare)
		sh.spare.reset()
	}
	iv.sent += r.client.stdSent.Swap(0)
	iv.recv += r.client.stdRecv.Swap(0)
	vus := r.active.Load()

	r.mu.Lock()
	dt := now.Sub(r.lastTick)
	r.lastTick = now
	elapsed := now.Sub(r.start)
	if dt > 0 && (iv.reqs > 0 || dt >= r.tick/2) {
		p := Point{T: elapsed.Seconds(), Requests: iv.reqs, Errors: iv.fails, RPS: float64(iv.reqs) / dt.Seconds(), VUs: vus, Dropped: iv.dropped}
		if iv.reqs > 0 {
			p.P50, p.P90, p.P95, p.P99, p.Max = iv.dur.percentile(50), iv.dur.percentile(90), iv.dur.percentile(95), iv.dur.percentile(99), float64(iv.dur.max)/1000
			p.WithinSLO = r.withinSLO(iv, dt)
		}
		r.series = append(r.series, p)
	}
	r.all.merge(iv)
	if r.vusMin < 0 || vus < r.vusMin {
		r.vusMin = vus
	}
	r.vusPeak = max(r.vusPeak, vus)
	all := r.all
	r.prog.Requests, r.prog.Errors, r.prog.Dropped = all.reqs, all.fails, all.dropped
	r.prog.RPS = 0
	if dt > 0 {
		r.prog.RPS = float64(iv.reqs) / dt.Seconds()
	}
	r.prog.P95 = all.dur.value("p(95)")
	if all.reqs > 0 {
		r.prog.ErrorRate = float64(all.fails) / float64(all.reqs)
	}
	var abort *AbortError
	oks := make([]bool, len(r.ths))
	for i, th := range r.ths {
		v := r.value(all, th, elapsed)
		oks[i] = th.expr.Eval(v)
		if th.abort && !oks[i] && elapsed >= th.delay && abort == nil {
			abort = &AbortError{Metric: th.metric, Threshold: th.source}
		}
	}
	r.updateLive(all, vus, elapsed, oks)
	r.mu.Unlock()
	iv.reset()
	if abort != nil {
		r.logger.Warn("aborting load test", "reason", abort.Error())
		r.cancel(abort)
	}
}

// withinSLO evaluates the run's latency and error thresholds (or the
// spec's targets when it has none) on one interval.
func (r *Run) withinSLO(iv *stats, dt time.Duration) bool {
	seen := false
	for _, th := range r.ths {
		if th.group != -1 || (th.name.Name != "http_req_duration" && th.name.Name != "http_req_failed") {
			continue
		}
		seen = true
		if !th.expr.Eval(r.value(iv, th, dt)) {
			return false
		}
	}
	if !seen {
		return iv.dur.percentile(95) < 2000 && float64(iv.fails)/float64(iv.reqs) < 0.01
	}
	return true
}

// value is the aggregated value a threshold looks at, over st, which
// covers a span of elapsed (for counter rates).
func (r *Run) value(st *stats, th compiledThreshold, elapsed time.Duration) float64 {
	agg := th.expr.Agg
	reqs, fails, dur := st.reqs, st.fails, st.dur
	switch {
	case th.group == -2:
		dur = st.ok
		reqs, fails = st.reqs-st.fails, 0
	case th.group >= 0:
		g := &st.groups[th.group]
		reqs, fails, dur = g.reqs, g.fails, g.dur
	}
	counter := func(n int64) float64 {
		if agg == "rate" {
			if elapsed <= 0 {
				return math.NaN()
			}
			return float64(n) / elapsed.Seconds()
		}
		return float64(n)
	}
	switch th.name.Name {
	case "http_req_duration":
		return dur.value(agg)
	case "iteration_duration":
		return st.iter.value(agg)
	case "http_req_failed":
		if reqs == 0 {
			return math.NaN()
		}
		return float64(fails) / float64(reqs)
	case "http_reqs":
		return counter(reqs)
	case "iterations":
		return counter(st.iters)
	case "dropped_iterations":
		return counter(st.dropped)
	case "data_sent":
		return counter(st.sent)
	case "data_received":
		return counter(st.recv)
	case "vus":
		return float64(r.active.Load())
	case "vus_max":
		return float64(r.allocated.Load())
	}
	return math.NaN()
}

func (r *Run) finish(end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := r.all
	elapsed := end.Sub(r.start)
	res := &Result{Name: r.sc.Name, Type: r.sc.Type, Target: r.sc.Target, Scenario: r.sc,
		StartedAt: r.start, EndedAt: end, Duration: elapsed, Series: r.series, Status: StatusCompleted, Passed: true}
	var abort *AbortError
	switch cause := context.Cause(r.ctx); {
	case errors.As(cause, &abort):
		res.Status, res.FailureReason, res.Passed = StatusFailed, "aborted: "+abort.Error(), false
	case cause != nil:
		res.Status, res.FailureReason = StatusCancelled, cause.Error()
	}
	secs := elapsed.Seconds()
	rate := func(n int64) float64 {
		if secs <= 0 {
			return 0
		}
		return float64(n) / secs
	}
	stats := trendStats(r.sc.SummaryTrendStats)
	trendValues := func(t *trend) map[string]float64 {
		v := map[string]float64{}
		for _, s := range stats {
			v[s] = zeroNaN(t.value(s))
		}
		return v
	}
	failRate := 0.0
	if all.reqs > 0 {
		failRate = float64(all.fails) / float64(all.reqs)
	}
	vusMin := max(r.vusMin, 0)
	res.Metrics = map[string]Metric{
		"http_reqs":         {Type: threshold.Counter, Contains: "default", Values: map[string]float64{"count": float64(all.reqs), "rate": rate(all.reqs)}},
		"http_req_duration": {Type: threshold.Trend, Contains: "time", Values: trendValues(all.dur)},
		"http_req_duration{expected_response:true}": {Type: threshold.Trend, Contains: "time", Values: trendValues(all.ok)},
		"http_req_failed":    {Type: threshold.Rate, Contains: "default", Values: map[string]float64{"rate": failRate, "passes": float64(all.fails), "fails": float64(all.reqs - all.fails)}},
		"iterations":         {Type: threshold.Counter, Contains: "default", Values: map[string]float64{"count": float64(all.iters), "rate": rate(all.iters)}},
		"iteration_duration": {Type: threshold.Trend, Contains: "time", Values: trendValues(all.iter)},
		"vus":                {Type: threshold.Gauge, Contains: "default", Values: map[string]float64{"value": float64(r.active.Load()), "min": float64(vusMin), "max": float64(r.vusPeak)}},
		"vus_max":            {Type: threshold.Gauge, Contains: "default", Values: map[string]float64{"value": float64(r.allocated.Load()), "min": float64(r.allocated.Load()), "max": float64(r.allocated.Load())}},
		"data_sent":          {Type: threshold.Counter, Contains: "data", Values: map[string]float64{"count": float64(all.sent), "rate": rate(all.sent)}},
		"data_received":      {Type: threshold.Counter, Contains: "data", Values: map[string]float64{"count": float64(all.recv), "rate": rate(all.recv)}},
	}
	open := false
	for _, x := range r.execs {
		res.Models = append(res.Models, Model{Scenario: x.name, Executor: x.ex.Executor, Open: x.ex.OpenModel()})
		open = open || x.ex.OpenModel()
	}
	if open || all.dropped > 0 {
		res.Metrics["dropped_iterations"] = Metric{Type: threshold.Counter, Contains: "default", Values: map[string]float64{"count": float64(all.dropped), "rate": rate(all.dropped)}}
	}
	for i, g := range r.groups {
		gs := &all.groups[i]
		key := g.key()
		res.Metrics["http_req_duration"+key] = Metric{Type: threshold.Trend, Contains: "time", Values: trendValues(gs.dur)}
		fr := 0.0
		if gs.reqs > 0 {
			fr = float64(gs.fails) / float64(gs.reqs)
		}
		res.Metrics["http_req_failed"+key] = Metric{Type: threshold.Rate, Contains: "default", Values: map[string]float64{"rate": fr, "passes": float64(gs.fails), "fails": float64(gs.reqs - gs.fails)}}
		res.Metrics["http_reqs"+key] = Metric{Type: threshold.Counter, Contains: "default", Values: map[string]float64{"count": float64(gs.reqs), "rate": rate(gs.reqs)}}
	}
	var crossed []string
	for _, th := range r.ths {
		v := r.value(all, th, elapsed)
		ok := th.expr.Eval(v)
		res.Thresholds = append(res.Thresholds, ThresholdResult{Metric: th.metric, Threshold: th.source, OK: ok, AbortOnFail: th.abort, Value: zeroNaN(v)})
		if !ok {
			res.Passed = false
			crossed = append(crossed, th.metric+" "+th.source)
		}
	}
	if res.Status == StatusCompleted && !res.Passed {
		res.FailureReason = fmt.Sprintf("thresholds crossed: %v", crossed)
	}
	res.Capacity = capacity(r.series)
	r.prog.Status = res.Status
	r.prog.Elapsed = elapsed
	r.prog.VUs = 0
	r.result = res
}

// trendStats are the values written for each trend: the scenario's
// summaryTrendStats (k6's default otherwise) plus p(99), which the
// benchmarks need.
func trendStats(custom []string) []string {
	stats := custom
	if len(stats) == 0 {
		stats = []string{"avg", "min", "med", "max", "p(90)", "p(95)"}
	}
	out := append([]string(nil), stats...)
	for _, need := range []string{"med", "p(90)", "p(95)", "p(99)", "max"} {
		found := false
		for _, s := range out {
			found = found || s == need
		}
		if !found {
			out = append(out, need)
		}
	}
	return out
}

func zeroNaN(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// capacity is the most concurrent users held for a window of consecutive
// ticks (5, fewer in short runs) that all met the thresholds.
func capacity(series []Point) int64 {
	w := min(5, max(1, len(series)/2))
	var best int64
	for i := 0; i+w <= len(series); i++ {
		low := int64(math.MaxInt64)
		ok := true
		for _, p := range series[i : i+w] {
			if !p.WithinSLO || p.Requests == 0 {
				ok = false
				break
			}
			low = min(low, p.VUs)
		}
		if ok {
			best = max(best, low)
		}
	}
	return best
}
