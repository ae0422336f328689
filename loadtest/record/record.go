// Package record keeps load tests in PostgreSQL: the load_tests row goes
// running → completed / failed / cancelled with its results, the run's
// figures become a performance_benchmarks row, the run is compared with
// its benchmark's baseline and a regression raises an alert through
// Alertmanager. It is what the autoscaler's load-test API calls, with the
// engine, and what wedsync-load uses.
package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/loadtest/engine"
	"github.com/wedsync/scaling/loadtest/scenario"
	"github.com/wedsync/scaling/loadtest/summary"
)

// Recorder writes runs and imports to the store.
type Recorder struct {
	Store    *store.Store
	Alerter  Alerter // nil: no alert
	Criteria Criteria
	Logger   *slog.Logger
	// Owner is the lease holder of the autoscaler replica the runs started
	// here belong to ("" for none, as wedsync-load's): another replica ends
	// them only once that lease has expired (store.RescueLoadTests).
	Owner string
}

func (rc *Recorder) logger() *slog.Logger {
	if rc.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return rc.Logger
}

func (rc *Recorder) criteria() Criteria {
	if rc.Criteria == (Criteria{}) {
		return DefaultCriteria
	}
	return rc.Criteria
}

// Outcome is what was recorded.
type Outcome struct {
	LoadTest   store.LoadTest
	Benchmark  *store.Benchmark
	Comparison *Comparison // nil without a baseline
	// AlertErr is set when the regression alert could not be raised; the
	// rows are written all the same.
	AlertErr error
}

// Regressed reports whether the run regressed against its baseline.
func (o Outcome) Regressed() bool { return o.Comparison != nil && o.Comparison.Regressed }

// Results is what load_tests.results holds.
type Results struct {
	Figures    Figures                  `json:"figures"`
	Thresholds []engine.ThresholdResult `json:"thresholds,omitempty"`
	Models     []engine.Model           `json:"models,omitempty"`
	// Capacity is the most concurrent users sustained within the thresholds
	// (runs of ours); for imports, the peak VUs of the summary.
	Capacity       *int64         `json:"capacity,omitempty"`
	CapacitySource string         `json:"capacity_source,omitempty"`
	Source         string         `json:"source"` // wedsync-load, or the k6 summary shape imported
	Summary        summary.Data   `json:"summary"`
	Extra          map[string]any `json:"extra,omitempty"`
}

// Figures are the headline numbers, in the benchmark's units.
type Figures struct {
	P50MS         *float64 `json:"p50_ms"`
	P90MS         *float64 `json:"p90_ms"`
	P95MS         *float64 `json:"p95_ms"`
	P99MS         *float64 `json:"p99_ms"`
	MaxMS         *float64 `json:"max_ms"`
	ThroughputRPS *float64 `json:"throughput_rps"`
	ErrorRate     *float64 `json:"error_rate"`
	Requests      int64    `json:"requests"`
	DurationS     float64  `json:"duration_s"`
	DataSent      *float64 `json:"data_sent_bytes,omitempty"`
	DataReceived  *float64 `json:"data_received_bytes,omitempty"`
	Dropped       *float64 `json:"dropped_iterations,omitempty"`
}

func figuresOf(d summary.Data) Figures {
	f := d.Figures()
	out := Figures{P50MS: f.P50, P90MS: f.P90, P95MS: f.P95, P99MS: f.P99, MaxMS: f.Max, ThroughputRPS: f.Throughput, ErrorRate: f.ErrorRate,
		Requests: f.Requests, DurationS: f.Duration}
	get := func(metric, key string) *float64 {
		if v, ok := d.Metrics[metric].Values[key]; ok && !math.IsNaN(v) {
			return &v
		}
		return nil
	}
	out.DataSent, out.DataReceived, out.Dropped = get("data_sent", "count"), get("data_received", "count"), get("dropped_iterations", "count")
	return out
}

func benchmarkOf(name, typ string, f Figures, users *int64) store.NewBenchmark {
	return store.NewBenchmark{Name: name, TestType: typ, P50: f.P50MS, P90: f.P90MS, P95: f.P95MS, P99: f.P99MS, Max: f.MaxMS,
		ThroughputRPS: f.ThroughputRPS, ErrorRate: f.ErrorRate, ConcurrentUsers: users}
}

// Begin records a validated scenario as running. Call it before the first
// request is sent.
func (rc *Recorder) Begin(ctx context.Context, sc scenario.Scenario, initiatedBy string) (store.LoadTest, error) {
	return rc.Store.StartLoadTest(ctx, store.NewLoadTest{Name: sc.Name, Type: string(sc.Type), TargetURL: sc.Target, Config: sc.JSON(),
		InitiatedBy: initiatedBy, Owner: rc.Owner, MaxDuration: LongestRun(sc)})
}

// LongestRun is the longest a run of the validated scenario can last: the
// last executor's end plus its graceful stop and ramp-down, which the
// engine lets in-flight iterations use.
func LongestRun(sc scenario.Scenario) time.Duration {
	var d time.Duration
	for _, e := range sc.Scenarios {
		end := e.NominalDuration()
		for _, p := range []*scenario.Duration{e.StartTime, e.GracefulStop, e.GracefulRampDown} {
			if p != nil {
				end += p.D()
			}
		}
		d = max(d, end)
	}
	return d
}

// Finish records a run's result: final status, results, benchmark and the
// comparison with the baseline; a regression raises the alert. A run that
// did not complete is recorded (partial results kept) but neither compared
// nor alerted on.
func (rc *Recorder) Finish(ctx context.Context, loadTestID string, res *engine.Result) (Outcome, error) {
	data := summary.FromResult(res)
	figures := figuresOf(data)
	users := res.Capacity
	results := Results{Figures: figures, Thresholds: res.Thresholds, Models: res.Models, Capacity: &users,
		CapacitySource: "most users sustained within the thresholds", Source: "wedsync-load", Summary: data}
	bench := benchmarkOf(res.Name, string(res.Type), figures, &users)
	status := map[engine.Status]store.LoadTestStatus{engine.StatusCompleted: store.LoadTestCompleted, engine.StatusFailed: store.LoadTestFailed,
		engine.StatusCancelled: store.LoadTestCancelled}[res.Status]
	passed := res.Passed
	o := store.LoadTestOutcome{Status: status, PassedCriteria: &passed, FailureReason: res.FailureReason, CompletedAt: res.EndedAt}
	if status == store.LoadTestCancelled {
		o.PassedCriteria = nil
	}
	return rc.finish(ctx, o, results, bench, func(o store.LoadTestOutcome, b *store.NewBenchmark) (store.LoadTest, *store.Benchmark, error) {
		return rc.Store.FinishLoadTest(ctx, loadTestID, o, b)
	}, res.Target)
}

// ImportMeta names an imported summary (k6 summaries do not say what was
// tested).
type ImportMeta struct {
	Name        string
	Type        scenario.Type
	Target      string
	InitiatedBy string
	// EndedAt is when the run ended (default now); it started
	// testRunDurationMs earlier.
	EndedAt time.Time
}

// Import records a k6 summary of either shape as a completed load test
// with its benchmark, compared with the baseline like a run of ours.
func (rc *Recorder) Import(ctx context.Context, data summary.Data, format summary.Format, m ImportMeta) (Outcome, error) {
	if m.Name == "" {
		return Outcome{}, errors.New("import: a name is required (the benchmark it belongs to)")
	}
	if m.Type == "" {
		m.Type = scenario.TypeCustom
	}
	if m.EndedAt.IsZero() {
		m.EndedAt = time.Now()
	}
	// setup() data is the script's own (often a login token): not ours to keep.
	data.SetupData = nil
	figures := figuresOf(data)
	f := data.Figures()
	results := Results{Figures: figures, Capacity: f.Users, CapacitySource: "peak VUs of the imported summary", Source: "k6 " + string(format), Summary: data}
	for name, met := range data.Metrics {
		for expr, ok := range met.Thresholds {
			results.Thresholds = append(results.Thresholds, engine.ThresholdResult{Metric: name, Threshold: expr, OK: ok.OK})
		}
	}
	bench := benchmarkOf(m.Name, string(m.Type), figures, f.Users)
	o := store.LoadTestOutcome{Status: store.LoadTestCompleted, PassedCriteria: f.ThresholdsPassed, CompletedAt: m.EndedAt}
	if o.PassedCriteria != nil && !*o.PassedCriteria {
		o.FailureReason = "thresholds crossed"
	}
	started := m.EndedAt.Add(-time.Duration(f.Duration * float64(time.Second)))
	cfg, _ := json.Marshal(map[string]any{"imported": string(format), "summaryTrendStats": data.Options.SummaryTrendStats})
	lt := store.NewLoadTest{Name: m.Name, Type: string(m.Type), TargetURL: m.Target, Config: cfg, InitiatedBy: m.InitiatedBy}
	return rc.finish(ctx, o, results, bench, func(o store.LoadTestOutcome, b *store.NewBenchmark) (store.LoadTest, *store.Benchmark, error) {
		return rc.Store.RecordFinishedLoadTest(ctx, lt, started, o, b)
	}, m.Target)
}

func (rc *Recorder) finish(ctx context.Context, o store.LoadTestOutcome, results Results, bench store.NewBenchmark,
	write func(store.LoadTestOutcome, *store.NewBenchmark) (store.LoadTest, *store.Benchmark, error), target string) (Outcome, error) {
	var cmp *Comparison
	if o.Status == store.LoadTestCompleted {
		base, err := rc.Store.BaselineBenchmark(ctx, bench.Name)
		switch {
		case err == nil:
			c := Compare(base, bench, rc.criteria())
			cmp = &c
			b, _ := json.Marshal(c)
			o.BaselineComparison = b
		case !errors.Is(err, store.ErrNotFound):
			return Outcome{}, err
		}
	}
	rb, err := json.Marshal(results)
	if err != nil {
		return Outcome{}, fmt.Errorf("results: %w", err)
	}
	o.Results = rb
	lt, b, err := write(o, &bench)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{LoadTest: lt, Benchmark: b, Comparison: cmp}
	if cmp != nil && cmp.Regressed {
		rc.logger().Warn("load test regressed", "benchmark", bench.Name, "load_test_id", lt.ID, "regressions", cmp.Regressions())
		if rc.Alerter != nil {
			out.AlertErr = rc.Alerter.Regression(ctx, Regression{Benchmark: bench.Name, TestType: bench.TestType, LoadTestID: lt.ID, Target: target, Comparison: *cmp})
		}
	} else if cmp != nil && rc.Alerter != nil {
		// A run that compares clean ends the benchmark's regression alert.
		if r, ok := rc.Alerter.(Recoverer); ok {
			out.AlertErr = r.Recovered(ctx, bench.Name, bench.TestType, lt.ID)
		}
	}
	return out, nil
}

// Compare compares a recorded load test with the baseline of its benchmark,
// or with another load test when otherID is set.
func (rc *Recorder) Compare(ctx context.Context, loadTestID, otherID string) (Comparison, error) {
	cur, err := rc.Store.LoadTestBenchmark(ctx, loadTestID)
	if err != nil {
		return Comparison{}, err
	}
	var base store.Benchmark
	if otherID != "" {
		base, err = rc.Store.LoadTestBenchmark(ctx, otherID)
	} else {
		base, err = rc.Store.BaselineBenchmark(ctx, cur.Name)
	}
	if err != nil {
		return Comparison{}, err
	}
	return Compare(base, cur.NewBenchmark, rc.criteria()), nil
}

// MarkBaseline makes a load test's benchmark the baseline of its name.
func (rc *Recorder) MarkBaseline(ctx context.Context, loadTestID string) (store.Benchmark, error) {
	b, err := rc.Store.LoadTestBenchmark(ctx, loadTestID)
	if err != nil {
		return store.Benchmark{}, err
	}
	return rc.Store.SetBaseline(ctx, b.ID)
}

// Recorded is a run being recorded.
type Recorded struct {
	Run      *engine.Run
	LoadTest store.LoadTest
	rc       *Recorder
}

// Start validates the scenario and the limits, records it as running, and
// starts the run: the one call the autoscaler's load-test API needs. Wait
// records the end, whatever it is — also after Cancel.
func (rc *Recorder) Start(ctx context.Context, sc scenario.Scenario, opts engine.Options, initiatedBy string) (*Recorded, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if err := engine.Check(sc, opts); err != nil {
		return nil, err
	}
	lt, err := rc.Begin(ctx, sc, initiatedBy)
	if err != nil {
		return nil, err
	}
	run, err := engine.Start(ctx, sc, opts)
	if err != nil {
		_, _, ferr := rc.Store.FinishLoadTest(context.WithoutCancel(ctx), lt.ID, store.LoadTestOutcome{Status: store.LoadTestFailed, FailureReason: err.Error()}, nil)
		return nil, errors.Join(err, ferr)
	}
	return &Recorded{Run: run, LoadTest: lt, rc: rc}, nil
}

// Wait waits for the run and records its outcome. The recording is not
// cancelled with the run's context: a cancelled run is recorded as such.
func (r *Recorded) Wait(ctx context.Context) (*engine.Result, Outcome, error) {
	res, err := r.Run.Wait()
	if err != nil {
		return nil, Outcome{}, err
	}
	out, err := r.rc.Finish(context.WithoutCancel(ctx), r.LoadTest.ID, res)
	return res, out, err
}
