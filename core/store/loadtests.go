package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// LoadTestStatus is where a load test is in its life.
type LoadTestStatus string

const (
	LoadTestPending   LoadTestStatus = "pending"
	LoadTestRunning   LoadTestStatus = "running"
	LoadTestCompleted LoadTestStatus = "completed"
	LoadTestFailed    LoadTestStatus = "failed"
	LoadTestCancelled LoadTestStatus = "cancelled"
)

// NewLoadTest is what is known of a load test when it starts.
type NewLoadTest struct {
	Name        string
	Type        string // baseline, stress, spike, volume, endurance, custom
	TargetURL   string
	Config      json.RawMessage // the scenario as run
	InitiatedBy string
}

// LoadTest is a row of load_tests.
type LoadTest struct {
	ID                 string
	Name               string
	Type               string
	Status             LoadTestStatus
	TargetURL          string
	Config             json.RawMessage
	Results            json.RawMessage // nil until finished
	BaselineComparison json.RawMessage // nil without a baseline
	PassedCriteria     *bool
	FailureReason      string
	InitiatedBy        string
	StartedAt          *time.Time
	CompletedAt        *time.Time
	DurationSeconds    *float64
	CreatedAt          time.Time
}

// LoadTestOutcome is how a load test ended.
type LoadTestOutcome struct {
	Status             LoadTestStatus // completed, failed or cancelled
	Results            json.RawMessage
	BaselineComparison json.RawMessage
	PassedCriteria     *bool
	FailureReason      string
	CompletedAt        time.Time // zero: now
}

// NewBenchmark is one performance_benchmarks row. Nil figures are unknown
// (an imported summary may lack a percentile). Latencies in milliseconds.
type NewBenchmark struct {
	LoadTestID      string // may be empty
	Name            string
	TestType        string
	P50, P90, P95   *float64
	P99, Max        *float64
	ThroughputRPS   *float64
	ErrorRate       *float64
	ConcurrentUsers *int64
}

// Benchmark is a row of performance_benchmarks.
type Benchmark struct {
	ID string
	NewBenchmark
	IsBaseline bool
	RecordedAt time.Time
}

const loadTestColumns = `id::text, test_name, test_type, status, target_url, config, results, baseline_comparison,
	passed_criteria, coalesce(failure_reason, ''), coalesce(initiated_by, ''), started_at, completed_at,
	duration_seconds::float8, created_at`

func scanLoadTest(row pgx.Row) (LoadTest, error) {
	var t LoadTest
	err := row.Scan(&t.ID, &t.Name, &t.Type, &t.Status, &t.TargetURL, &t.Config, &t.Results, &t.BaselineComparison,
		&t.PassedCriteria, &t.FailureReason, &t.InitiatedBy, &t.StartedAt, &t.CompletedAt, &t.DurationSeconds, &t.CreatedAt)
	if err != nil {
		return LoadTest{}, translate(err)
	}
	return t, nil
}

const benchmarkColumns = `id::text, coalesce(load_test_id::text, ''), benchmark_name, test_type, p50_ms, p90_ms, p95_ms, p99_ms, max_ms,
	throughput_rps, error_rate, concurrent_users::bigint, is_baseline, recorded_at`

func scanBenchmark(row pgx.Row) (Benchmark, error) {
	var b Benchmark
	err := row.Scan(&b.ID, &b.LoadTestID, &b.Name, &b.TestType, &b.P50, &b.P90, &b.P95, &b.P99, &b.Max,
		&b.ThroughputRPS, &b.ErrorRate, &b.ConcurrentUsers, &b.IsBaseline, &b.RecordedAt)
	if err != nil {
		return Benchmark{}, translate(err)
	}
	return b, nil
}

// StartLoadTest records a load test as running, before its first request.
func (s *Store) StartLoadTest(ctx context.Context, t NewLoadTest) (LoadTest, error) {
	var lt LoadTest
	err := s.audited(ctx, func(db DBTX) (string, error) {
		var err error
		lt, err = scanLoadTest(db.QueryRow(ctx, `INSERT INTO load_tests (test_name, test_type, status, target_url, config, initiated_by, started_at)
			VALUES ($1, $2, 'running', $3, $4, nullif($5, ''), now()) RETURNING `+loadTestColumns,
			t.Name, t.Type, t.TargetURL, jsonOrEmpty(t.Config), t.InitiatedBy))
		return lt.ID, err
	})
	if err != nil {
		return LoadTest{}, fmt.Errorf("start load test %s: %w", t.Name, err)
	}
	return lt, nil
}

func (o *LoadTestOutcome) check(id string) error {
	switch o.Status {
	case LoadTestCompleted, LoadTestFailed, LoadTestCancelled:
	default:
		return fmt.Errorf("finish load test %s: status %q is not final: %w", id, o.Status, ErrInvalid)
	}
	if o.Status == LoadTestFailed && o.FailureReason == "" {
		o.FailureReason = "failed without a message"
	}
	return nil
}

func loadTestNullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func loadTestCompletedAt(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// FinishLoadTest moves a running load test to its final status and, in
// the same transaction, writes its benchmark (when b is not nil). A test
// that is not running is refused with a ConflictError.
func (s *Store) FinishLoadTest(ctx context.Context, id string, o LoadTestOutcome, b *NewBenchmark) (LoadTest, *Benchmark, error) {
	if err := o.check(id); err != nil {
		return LoadTest{}, nil, err
	}
	if b != nil {
		if err := b.validate(); err != nil {
			return LoadTest{}, nil, err
		}
	}
	var lt LoadTest
	var bench *Benchmark
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		lt, err = scanLoadTest(tx.QueryRow(ctx, `UPDATE load_tests
			SET status = $2, results = $3, baseline_comparison = $4, passed_criteria = $5, failure_reason = nullif($6, ''),
			    completed_at = coalesce($7, now())
			WHERE id = $1::uuid AND status = 'running'
			RETURNING `+loadTestColumns, id, o.Status, loadTestNullJSON(o.Results), loadTestNullJSON(o.BaselineComparison), o.PassedCriteria,
			o.FailureReason, loadTestCompletedAt(o.CompletedAt)))
		if err == ErrNotFound {
			cur, gerr := s.getLoadTest(ctx, tx, id)
			if gerr != nil {
				return gerr
			}
			return &ConflictError{What: "load test " + id, State: string(cur.Status)}
		}
		if err != nil {
			return fmt.Errorf("finish load test %s: %w", id, err)
		}
		if b != nil {
			nb := *b
			nb.LoadTestID = lt.ID
			got, err := insertBenchmark(ctx, tx, nb)
			if err != nil {
				return err
			}
			bench = &got
		}
		return nil
	})
	if err != nil {
		return LoadTest{}, nil, err
	}
	return lt, bench, nil
}

// RecordFinishedLoadTest writes a load test that ran elsewhere (an imported
// k6 summary) with its benchmark, in one transaction.
func (s *Store) RecordFinishedLoadTest(ctx context.Context, t NewLoadTest, startedAt time.Time, o LoadTestOutcome, b *NewBenchmark) (LoadTest, *Benchmark, error) {
	if err := o.check("(import)"); err != nil {
		return LoadTest{}, nil, err
	}
	if b != nil {
		if err := b.validate(); err != nil {
			return LoadTest{}, nil, err
		}
	}
	var lt LoadTest
	var bench *Benchmark
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		lt, err = scanLoadTest(tx.QueryRow(ctx, `INSERT INTO load_tests (test_name, test_type, status, target_url, config, initiated_by,
				started_at, completed_at, results, baseline_comparison, passed_criteria, failure_reason)
			VALUES ($1, $2, $3, $4, $5, nullif($6, ''), $7, coalesce($8, now()), $9, $10, $11, nullif($12, ''))
			RETURNING `+loadTestColumns, t.Name, t.Type, o.Status, t.TargetURL, jsonOrEmpty(t.Config), t.InitiatedBy,
			startedAt, loadTestCompletedAt(o.CompletedAt), loadTestNullJSON(o.Results), loadTestNullJSON(o.BaselineComparison), o.PassedCriteria, o.FailureReason))
		if err != nil {
			return fmt.Errorf("record load test %s: %w", t.Name, err)
		}
		if b != nil {
			nb := *b
			nb.LoadTestID = lt.ID
			got, err := insertBenchmark(ctx, tx, nb)
			if err != nil {
				return err
			}
			bench = &got
		}
		return nil
	})
	if err != nil {
		return LoadTest{}, nil, err
	}
	return lt, bench, nil
}

// GetLoadTest reads one load test.
func (s *Store) GetLoadTest(ctx context.Context, id string) (LoadTest, error) {
	return s.getLoadTest(ctx, s.pool, id)
}

func (s *Store) getLoadTest(ctx context.Context, db DBTX, id string) (LoadTest, error) {
	lt, err := scanLoadTest(db.QueryRow(ctx, `SELECT `+loadTestColumns+` FROM load_tests WHERE id = $1::uuid`, id))
	if err != nil {
		return LoadTest{}, fmt.Errorf("load test %s: %w", id, err)
	}
	return lt, nil
}

// LoadTestFilter selects load tests, newest first.
type LoadTestFilter struct {
	Name     string
	Type     string
	Status   LoadTestStatus
	From, To time.Time // created_at range; zero = unbounded
	Limit    int       // default 100, at most 1000
}

// ListLoadTests lists load tests matching f, newest first.
func (s *Store) ListLoadTests(ctx context.Context, f LoadTestFilter) ([]LoadTest, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	from, to := optTime(f.From), optTime(f.To)
	rows, err := s.pool.Query(ctx, `SELECT `+loadTestColumns+` FROM load_tests
		WHERE ($1 = '' OR test_name = $1) AND ($2 = '' OR test_type = $2) AND ($3 = '' OR status = $3)
		  AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6)
		ORDER BY created_at DESC, id LIMIT $4`, f.Name, f.Type, string(f.Status), limit, from, to)
	if err != nil {
		return nil, fmt.Errorf("list load tests: %w", translate(err))
	}
	defer rows.Close()
	var out []LoadTest
	for rows.Next() {
		lt, err := scanLoadTest(rows)
		if err != nil {
			return nil, fmt.Errorf("list load tests: %w", err)
		}
		out = append(out, lt)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list load tests: %w", translate(err))
	}
	return out, nil
}

// validate refuses figures the columns' CHECKs would let through or
// misread: NaN passes "p50_ms >= 0" in PostgreSQL, where NaN sorts above
// every number.
func (b *NewBenchmark) validate() error {
	if b.Name == "" {
		return fmt.Errorf("benchmark: name is empty: %w", ErrInvalid)
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"p50_ms", b.P50}, {"p90_ms", b.P90}, {"p95_ms", b.P95}, {"p99_ms", b.P99}, {"max_ms", b.Max}, {"throughput_rps", b.ThroughputRPS}, {"error_rate", b.ErrorRate}} {
		if f.v == nil {
			continue
		}
		if math.IsNaN(*f.v) || math.IsInf(*f.v, 0) || *f.v < 0 {
			return fmt.Errorf("benchmark %s: %s = %v: %w", b.Name, f.name, *f.v, ErrInvalid)
		}
	}
	if b.ErrorRate != nil && *b.ErrorRate > 1 {
		return fmt.Errorf("benchmark %s: error_rate = %v is above 1: %w", b.Name, *b.ErrorRate, ErrInvalid)
	}
	if b.ConcurrentUsers != nil && (*b.ConcurrentUsers < 0 || *b.ConcurrentUsers > math.MaxInt32) {
		return fmt.Errorf("benchmark %s: concurrent_users = %d: %w", b.Name, *b.ConcurrentUsers, ErrInvalid)
	}
	return nil
}

func insertBenchmark(ctx context.Context, db DBTX, b NewBenchmark) (Benchmark, error) {
	var ltID *string
	if b.LoadTestID != "" {
		ltID = &b.LoadTestID
	}
	out, err := scanBenchmark(db.QueryRow(ctx, `INSERT INTO performance_benchmarks
		(load_test_id, benchmark_name, test_type, p50_ms, p90_ms, p95_ms, p99_ms, max_ms, throughput_rps, error_rate, concurrent_users)
		VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING `+benchmarkColumns,
		ltID, b.Name, b.TestType, b.P50, b.P90, b.P95, b.P99, b.Max, b.ThroughputRPS, b.ErrorRate, b.ConcurrentUsers))
	if err != nil {
		return Benchmark{}, fmt.Errorf("record benchmark %s: %w", b.Name, err)
	}
	return out, nil
}

// RecordBenchmark writes a benchmark on its own.
func (s *Store) RecordBenchmark(ctx context.Context, b NewBenchmark) (Benchmark, error) {
	if err := b.validate(); err != nil {
		return Benchmark{}, err
	}
	return insertBenchmark(ctx, s.pool, b)
}

// BaselineBenchmark is the baseline of a benchmark name; ErrNotFound if
// none was marked.
func (s *Store) BaselineBenchmark(ctx context.Context, name string) (Benchmark, error) {
	b, err := scanBenchmark(s.pool.QueryRow(ctx, `SELECT `+benchmarkColumns+` FROM performance_benchmarks
		WHERE benchmark_name = $1 AND is_baseline`, name))
	if err != nil {
		return Benchmark{}, fmt.Errorf("baseline of %s: %w", name, err)
	}
	return b, nil
}

// LoadTestBenchmark is the benchmark written for a load test.
func (s *Store) LoadTestBenchmark(ctx context.Context, loadTestID string) (Benchmark, error) {
	b, err := scanBenchmark(s.pool.QueryRow(ctx, `SELECT `+benchmarkColumns+` FROM performance_benchmarks
		WHERE load_test_id = $1::uuid ORDER BY recorded_at DESC, id LIMIT 1`, loadTestID))
	if err != nil {
		return Benchmark{}, fmt.Errorf("benchmark of load test %s: %w", loadTestID, err)
	}
	return b, nil
}

// GetBenchmark reads one benchmark.
func (s *Store) GetBenchmark(ctx context.Context, id string) (Benchmark, error) {
	b, err := scanBenchmark(s.pool.QueryRow(ctx, `SELECT `+benchmarkColumns+` FROM performance_benchmarks WHERE id = $1::uuid`, id))
	if err != nil {
		return Benchmark{}, fmt.Errorf("benchmark %s: %w", id, err)
	}
	return b, nil
}

// ListBenchmarks lists a benchmark name's rows (all names for ""), newest first.
func (s *Store) ListBenchmarks(ctx context.Context, name string, limit int) ([]Benchmark, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT `+benchmarkColumns+` FROM performance_benchmarks
		WHERE ($1 = '' OR benchmark_name = $1) ORDER BY recorded_at DESC, id LIMIT $2`, name, limit)
	if err != nil {
		return nil, fmt.Errorf("list benchmarks: %w", translate(err))
	}
	defer rows.Close()
	var out []Benchmark
	for rows.Next() {
		b, err := scanBenchmark(rows)
		if err != nil {
			return nil, fmt.Errorf("list benchmarks: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list benchmarks: %w", translate(err))
	}
	return out, nil
}

// SetBaseline makes a benchmark the baseline of its name, replacing the
// previous one in the same transaction. A benchmark of a load test that
// did not complete is refused with a ConflictError: a cancelled or aborted
// run is no yardstick.
func (s *Store) SetBaseline(ctx context.Context, benchmarkID string) (Benchmark, error) {
	var out Benchmark
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b, err := scanBenchmark(tx.QueryRow(ctx, `SELECT `+benchmarkColumns+` FROM performance_benchmarks WHERE id = $1::uuid`, benchmarkID))
		if err != nil {
			return fmt.Errorf("benchmark %s: %w", benchmarkID, err)
		}
		if b.LoadTestID != "" {
			var status LoadTestStatus
			if err := tx.QueryRow(ctx, `SELECT status FROM load_tests WHERE id = $1::uuid`, b.LoadTestID).Scan(&status); err != nil {
				return fmt.Errorf("load test %s: %w", b.LoadTestID, translate(err))
			}
			if status != LoadTestCompleted {
				return &ConflictError{What: "load test " + b.LoadTestID, State: string(status)}
			}
		}
		// Two concurrent SetBaseline calls on one name would both clear
		// and both set; the lock orders them.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('wedsync_baseline:' || $1, 0))`, b.Name); err != nil {
			return fmt.Errorf("baseline lock: %w", translate(err))
		}
		if _, err := tx.Exec(ctx, `UPDATE performance_benchmarks SET is_baseline = false WHERE benchmark_name = $1 AND is_baseline AND id <> $2::uuid`,
			b.Name, b.ID); err != nil {
			return fmt.Errorf("clear baseline of %s: %w", b.Name, translate(err))
		}
		out, err = scanBenchmark(tx.QueryRow(ctx, `UPDATE performance_benchmarks SET is_baseline = true WHERE id = $1::uuid RETURNING `+benchmarkColumns, b.ID))
		if err != nil {
			return fmt.Errorf("set baseline %s: %w", b.ID, err)
		}
		return nil
	})
	return out, err
}
