package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

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
	// Owner is the lease holder of the autoscaler replica that runs the
	// test ("" for a run no autoscaler owns, such as wedsync-load's). The
	// lease must be live: a test born under a dead lease would be rescued
	// at once.
	Owner string
	// MaxDuration is the longest the run can last (0: unknown). A test that
	// names no owner is rescued once it has run well past it.
	MaxDuration time.Duration
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
	Owner              string        // "" when no autoscaler replica owns it
	MaxDuration        time.Duration // 0: unknown
	// CancelRequestedAt is when a cancel was first asked for (nil: never);
	// the owner's runner acts on it.
	CancelRequestedAt *time.Time
	CancelRequestedBy string
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
	duration_seconds::float8, created_at, coalesce(owner, ''), coalesce(max_duration_ms, 0), cancel_requested_at,
	coalesce(cancel_requested_by, '')`

func scanLoadTest(row pgx.Row) (LoadTest, error) {
	var t LoadTest
	var maxMS int64
	err := row.Scan(&t.ID, &t.Name, &t.Type, &t.Status, &t.TargetURL, &t.Config, &t.Results, &t.BaselineComparison,
		&t.PassedCriteria, &t.FailureReason, &t.InitiatedBy, &t.StartedAt, &t.CompletedAt, &t.DurationSeconds, &t.CreatedAt,
		&t.Owner, &maxMS, &t.CancelRequestedAt, &t.CancelRequestedBy)
	if err != nil {
		return LoadTest{}, translate(err)
	}
	t.MaxDuration = time.Duration(maxMS) * time.Millisecond
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
// A test with an owner is refused with ErrNoLease unless the owner's
// lease is live.
func (s *Store) StartLoadTest(ctx context.Context, t NewLoadTest) (LoadTest, error) {
	if t.MaxDuration < 0 {
		return LoadTest{}, fmt.Errorf("start load test %s: max duration %s is negative: %w", t.Name, t.MaxDuration, ErrInvalid)
	}
	var maxMS *int64
	if t.MaxDuration > 0 {
		ms := t.MaxDuration.Milliseconds()
		maxMS = &ms
	}
	var lt LoadTest
	err := s.audited(ctx, func(db DBTX) (string, error) {
		var err error
		lt, err = scanLoadTest(db.QueryRow(ctx, `INSERT INTO load_tests (test_name, test_type, status, target_url, config, initiated_by, started_at,
				owner, max_duration_ms)
			SELECT $1::text, $2::text, 'running', $3::text, $4::jsonb, nullif($5::text, ''), now(), nullif($6::text, ''), $7::bigint
			WHERE $6::text = '' OR EXISTS (SELECT 1 FROM autoscaler_leases WHERE holder = $6 AND expires_at >= now())
			RETURNING `+loadTestColumns,
			t.Name, t.Type, t.TargetURL, jsonOrEmpty(t.Config), t.InitiatedBy, t.Owner, maxMS))
		return lt.ID, err
	})
	if errors.Is(err, ErrNotFound) {
		return LoadTest{}, fmt.Errorf("start load test %s: %s: %w", t.Name, t.Owner, ErrNoLease)
	}
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

// Who may still be running an unfinished load test: its owner while the
// owner's lease is live; a test with no owner (wedsync-load's, or written
// before owners existed) until it has run well past its longest duration.
const (
	// OwnerlessLoadTestGrace is how long past its longest duration an
	// ownerless test may still be running (the end is being recorded).
	OwnerlessLoadTestGrace = 2 * time.Minute
	// LegacyLoadTestMaxDuration stands in for the longest duration of a
	// test recorded without one (before migration 0011): generous, since
	// a soak test may run for hours on purpose.
	LegacyLoadTestMaxDuration = 24 * time.Hour
)

// ErrNoLease: the would-be owner of a load test holds no live lease (it
// expired, or was never taken), so the test would be rescued at once.
var ErrNoLease = errors.New("holds no live lease")

// ErrNotOwned: the load test runs under no autoscaler replica's lease, so
// no replica can be asked to stop it.
var ErrNotOwned = errors.New("runs under no autoscaler replica's lease")

// loadTestLease is what the rules need of an owner's lease.
type loadTestLease struct {
	expiresAt time.Time
	live      bool
}

// deadReason says why whatever ran an unfinished test has stopped, or ""
// if it may still be running. leases holds the owners' leases (a missing
// one was never taken or was removed); now is the database's clock.
func deadReason(t LoadTest, leases map[string]loadTestLease, now time.Time) string {
	if t.Owner != "" {
		l, ok := leases[t.Owner]
		switch {
		case !ok:
			return fmt.Sprintf("the autoscaler replica %s that ran it stopped (it holds no lease)", t.Owner)
		case !l.live:
			return fmt.Sprintf("the autoscaler replica %s that ran it stopped (lease expired at %s)", t.Owner, l.expiresAt.UTC().Format(time.RFC3339))
		}
		return ""
	}
	started := t.CreatedAt
	if t.StartedAt != nil {
		started = *t.StartedAt
	}
	longest := t.MaxDuration
	if longest <= 0 {
		longest = LegacyLoadTestMaxDuration
	}
	if now.Before(started.Add(longest + OwnerlessLoadTestGrace)) {
		return ""
	}
	return fmt.Sprintf("no autoscaler replica owns it and it was still unfinished %s after its longest run (%s) should have ended: whatever ran it stopped",
		OwnerlessLoadTestGrace, longest)
}

// ownerLeases reads the leases of the owners of ts, and the database's clock.
func ownerLeases(ctx context.Context, db DBTX, ts []LoadTest) (map[string]loadTestLease, time.Time, error) {
	var holders []string
	for _, t := range ts {
		if t.Owner != "" {
			holders = append(holders, t.Owner)
		}
	}
	var now time.Time
	if err := db.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return nil, now, fmt.Errorf("database clock: %w", translate(err))
	}
	out := map[string]loadTestLease{}
	if len(holders) == 0 {
		return out, now, nil
	}
	rows, err := db.Query(ctx, `SELECT holder, expires_at, expires_at >= now() FROM autoscaler_leases WHERE holder = ANY($1::text[])`, holders)
	if err != nil {
		return nil, now, fmt.Errorf("owners' leases: %w", translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var l loadTestLease
		if err := rows.Scan(&h, &l.expiresAt, &l.live); err != nil {
			return nil, now, fmt.Errorf("owners' leases: %w", translate(err))
		}
		out[h] = l
	}
	return out, now, translate(rows.Err())
}

// clip cuts s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// CancelLoadTest asks for a load test to be cancelled, from any replica.
// While its owner's lease is live the request is recorded on the row (the
// first request is kept: asking twice is asking once) and the owner's
// runner stops the run, whose partial results are then recorded as
// cancelled; the returned test is still running, with CancelRequestedAt
// set. If whatever ran it has stopped, it is marked cancelled at once, the
// reason saying why. A finished test is refused with a ConflictError; a
// live one no replica owns with ErrNotOwned.
func (s *Store) CancelLoadTest(ctx context.Context, id, by string) (LoadTest, error) {
	by = clip(by, 200)
	var out LoadTest
	// The request is written with the audit row of the call that made it.
	err := s.inAuditedTx(ctx, func(tx pgx.Tx) (string, error) {
		cur, err := scanLoadTest(tx.QueryRow(ctx, `SELECT `+loadTestColumns+` FROM load_tests WHERE id = $1::uuid FOR UPDATE`, id))
		if err != nil {
			return "", fmt.Errorf("load test %s: %w", id, err)
		}
		if cur.Status != LoadTestPending && cur.Status != LoadTestRunning {
			return "", &ConflictError{What: "load test " + id, State: string(cur.Status)}
		}
		leases, now, err := ownerLeases(ctx, tx, []LoadTest{cur})
		if err != nil {
			return "", err
		}
		reason := deadReason(cur, leases, now)
		switch {
		case reason != "":
			if by != "" {
				reason = "cancelled by " + by + "; " + reason
			}
			out, err = scanLoadTest(tx.QueryRow(ctx, `UPDATE load_tests SET status = 'cancelled', completed_at = now(), failure_reason = $2,
					cancel_requested_at = coalesce(cancel_requested_at, now()), cancel_requested_by = coalesce(cancel_requested_by, nullif($3, ''))
				WHERE id = $1::uuid RETURNING `+loadTestColumns, id, reason, by))
		case cur.Owner == "":
			return "", fmt.Errorf("load test %s: %w", id, ErrNotOwned)
		default:
			out, err = scanLoadTest(tx.QueryRow(ctx, `UPDATE load_tests
				SET cancel_requested_at = coalesce(cancel_requested_at, now()), cancel_requested_by = coalesce(cancel_requested_by, nullif($2, ''))
				WHERE id = $1::uuid RETURNING `+loadTestColumns, id, by))
		}
		if err != nil {
			return "", fmt.Errorf("cancel load test %s: %w", id, err)
		}
		return id, nil
	})
	return out, err
}

// RescueLoadTests ends the unfinished load tests whatever ran them has
// stopped (the owner's lease expired; no owner and well past the longest
// run): failed with the reason, or cancelled if a cancel had been asked
// for. Results already written are kept. Several replicas may rescue at
// once: each test is ended by one of them.
func (s *Store) RescueLoadTests(ctx context.Context) ([]LoadTest, error) {
	var out []LoadTest
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Locked so that the owner's own finish and another rescuer wait
		// (or skip) rather than both ending the test.
		rows, err := tx.Query(ctx, `SELECT `+loadTestColumns+` FROM load_tests WHERE status IN ('pending', 'running')
			ORDER BY created_at FOR UPDATE SKIP LOCKED`)
		if err != nil {
			return fmt.Errorf("unfinished load tests: %w", translate(err))
		}
		ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LoadTest, error) { return scanLoadTest(r) })
		if err != nil {
			return fmt.Errorf("unfinished load tests: %w", translate(err))
		}
		if len(ts) == 0 {
			return nil
		}
		leases, now, err := ownerLeases(ctx, tx, ts)
		if err != nil {
			return err
		}
		for _, t := range ts {
			reason := deadReason(t, leases, now)
			if reason == "" {
				continue
			}
			status := LoadTestFailed
			if t.CancelRequestedAt != nil {
				status, reason = LoadTestCancelled, "cancel requested by "+t.CancelRequestedBy+"; "+reason
			}
			done, err := scanLoadTest(tx.QueryRow(ctx, `UPDATE load_tests SET status = $2, failure_reason = $3, completed_at = now()
				WHERE id = $1::uuid RETURNING `+loadTestColumns, t.ID, status, reason))
			if err != nil {
				return fmt.Errorf("rescue load test %s: %w", t.ID, err)
			}
			out = append(out, done)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LoadTestsByID reads the load tests of ids that exist, in no order: what
// a runner polls for the tests it runs.
func (s *Store) LoadTestsByID(ctx context.Context, ids []string) ([]LoadTest, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+loadTestColumns+` FROM load_tests WHERE id = ANY($1::text[]::uuid[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("load tests: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LoadTest, error) { return scanLoadTest(r) })
	if err != nil {
		return nil, fmt.Errorf("load tests: %w", translate(err))
	}
	return out, nil
}
