package store

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Reads for the Grafana datasource plugin (grafana-plugin/): aggregations a
// dashboard needs over a time range, computed in the database so that a
// year of history or a million events never cross the wire row by row.

// EventCount is the number of scaling events that started in one bucket,
// for one value of the grouping column.
type EventCount struct {
	Bucket time.Time
	Key    string
	Count  int64
}

// EventCountFilter selects and groups events for ScalingEventCounts.
type EventCountFilter struct {
	From, To time.Time     // [From, To), both required
	Bucket   time.Duration // bucket width, at least a second; buckets are aligned on From
	GroupBy  string        // event_type (default), status or service
	Service  string
}

var eventGroupColumns = map[string]string{"": "event_type", "event_type": "event_type", "status": "status", "service": "service_name"}

// ScalingEventCounts counts events per bucket and group, oldest bucket
// first. Empty buckets are absent.
func (s *Store) ScalingEventCounts(ctx context.Context, f EventCountFilter) ([]EventCount, error) {
	col, ok := eventGroupColumns[f.GroupBy]
	if !ok {
		return nil, fmt.Errorf("event counts: group by %q (want event_type, status or service): %w", f.GroupBy, ErrInvalid)
	}
	if f.From.IsZero() || !f.From.Before(f.To) {
		return nil, fmt.Errorf("event counts: empty range %s … %s: %w", f.From.Format(time.RFC3339), f.To.Format(time.RFC3339), ErrInvalid)
	}
	secs := int64(f.Bucket / time.Second)
	if secs < 1 {
		return nil, fmt.Errorf("event counts: bucket %s is under a second: %w", f.Bucket, ErrInvalid)
	}
	rows, err := s.pool.Query(ctx, `SELECT date_bin($1::bigint * interval '1 second', started_at, $2::timestamptz), `+col+`, count(*)
		FROM scaling_events
		WHERE started_at >= $2 AND started_at < $3 AND ($4 = '' OR service_name = $4)
		GROUP BY 1, 2 ORDER BY 1, 2`, secs, f.From, f.To, f.Service)
	if err != nil {
		return nil, fmt.Errorf("event counts: %w", translate(err))
	}
	defer rows.Close()
	var out []EventCount
	for rows.Next() {
		var c EventCount
		if err := rows.Scan(&c.Bucket, &c.Key, &c.Count); err != nil {
			return nil, fmt.Errorf("event counts: %w", translate(err))
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("event counts: %w", translate(err))
	}
	return out, nil
}

// CountScalingEvents counts the events that started in [from, to).
func (s *Store) CountScalingEvents(ctx context.Context, from, to time.Time) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM scaling_events WHERE started_at >= $1 AND started_at < $2`, from, to).Scan(&n); err != nil {
		return 0, fmt.Errorf("count scaling events: %w", translate(err))
	}
	return n, nil
}

// CostAmount is the cost of one group in one bucket.
type CostAmount struct {
	Bucket time.Time // first day of the bucket (From for the total)
	Key    string
	Amount decimal.Decimal
}

// CostDimensionFilter selects and groups cost for CostByDimension.
type CostDimensionFilter struct {
	CostFilter
	From, To time.Time // days, inclusive
	GroupBy  string    // service (default), team, feature, resource, source or "none"
	Bucket   string    // day (default), month or total
}

var costGroupColumns = map[string]string{"": "service_name", "service": "service_name", "team": "team", "feature": "feature",
	"resource": "resource_type", "source": "source", "none": "''"}

var costBuckets = map[string]string{"": "cost_date", "day": "cost_date", "month": "date_trunc('month', cost_date)::date", "total": "$1::date"}

// CostByDimension sums cost per bucket and group (credits subtract), oldest
// bucket first, then by group.
func (s *Store) CostByDimension(ctx context.Context, f CostDimensionFilter) ([]CostAmount, error) {
	col, ok := costGroupColumns[f.GroupBy]
	if !ok {
		return nil, fmt.Errorf("cost by dimension: group by %q (want service, team, feature, resource, source or none): %w", f.GroupBy, ErrInvalid)
	}
	bucket, ok := costBuckets[f.Bucket]
	if !ok {
		return nil, fmt.Errorf("cost by dimension: bucket %q (want day, month or total): %w", f.Bucket, ErrInvalid)
	}
	from, to := f.From.UTC().Truncate(24*time.Hour), f.To.UTC().Truncate(24*time.Hour)
	if to.Before(from) {
		return nil, fmt.Errorf("cost by dimension: %s is before %s: %w", to.Format(time.DateOnly), from.Format(time.DateOnly), ErrInvalid)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+bucket+`, `+col+`, sum(cost_amount)::text
		FROM cost_tracking
		WHERE cost_date BETWEEN $1::date AND $2::date AND currency = $3
			AND ($4 = '' OR service_name = $4) AND ($5 = '' OR team = $5) AND ($6 = '' OR feature = $6)
		GROUP BY 1, 2 ORDER BY 1, 2`, from, to, f.currency(), f.Service, f.Team, f.Feature)
	if err != nil {
		return nil, fmt.Errorf("cost by dimension: %w", translate(err))
	}
	defer rows.Close()
	var out []CostAmount
	for rows.Next() {
		var c CostAmount
		var amount string
		if err := rows.Scan(&c.Bucket, &c.Key, &amount); err != nil {
			return nil, fmt.Errorf("cost by dimension: %w", translate(err))
		}
		if c.Amount, err = parseDecimal(amount); err != nil {
			return nil, fmt.Errorf("cost by dimension: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cost by dimension: %w", translate(err))
	}
	return out, nil
}

// LatestCapacitySamples is the newest capacity sample of every resource and
// service ("" matches all), ordered by resource then service.
func (s *Store) LatestCapacitySamples(ctx context.Context, resource, service string) ([]CapacitySample, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (resource_type, service_name) resource_type, service_name,
			current_usage::float8, max_capacity::float8, unit, projected_exhaustion_at, recorded_at
		FROM capacity_metrics WHERE ($1 = '' OR resource_type = $1) AND ($2 = '' OR service_name = $2)
		ORDER BY resource_type, service_name, recorded_at DESC`, resource, service)
	if err != nil {
		return nil, fmt.Errorf("latest capacity: %w", translate(err))
	}
	defer rows.Close()
	var out []CapacitySample
	for rows.Next() {
		var c CapacitySample
		if err := rows.Scan(&c.Resource, &c.Service, &c.Used, &c.Max, &c.Unit, &c.ProjectedExhaustion, &c.RecordedAt); err != nil {
			return nil, fmt.Errorf("latest capacity: %w", translate(err))
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest capacity: %w", translate(err))
	}
	return out, nil
}

// BenchmarksOfLoadTests is the newest benchmark of each of the load tests,
// by load test id; tests without one are absent.
func (s *Store) BenchmarksOfLoadTests(ctx context.Context, ids []string) (map[string]Benchmark, error) {
	out := make(map[string]Benchmark, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (load_test_id) `+benchmarkColumns+` FROM performance_benchmarks
		WHERE load_test_id = ANY($1::uuid[]) ORDER BY load_test_id, recorded_at DESC, id`, ids)
	if err != nil {
		return nil, fmt.Errorf("benchmarks of load tests: %w", translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		b, err := scanBenchmark(rows)
		if err != nil {
			return nil, fmt.Errorf("benchmarks of load tests: %w", err)
		}
		out[b.LoadTestID] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("benchmarks of load tests: %w", translate(err))
	}
	return out, nil
}

// BenchmarkHistory lists the benchmarks of a name ("" for all) recorded in
// [from, to) (zero bounds are open), oldest first, at most limit (default
// 1000, at most 10000) — the newest ones when there are more.
func (s *Store) BenchmarkHistory(ctx context.Context, name string, from, to time.Time, limit int) ([]Benchmark, error) {
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 10000)
	var fromP, toP *time.Time
	if !from.IsZero() {
		fromP = &from
	}
	if !to.IsZero() {
		toP = &to
	}
	rows, err := s.pool.Query(ctx, `SELECT * FROM (SELECT `+benchmarkColumns+` FROM performance_benchmarks
			WHERE ($1 = '' OR benchmark_name = $1) AND ($2::timestamptz IS NULL OR recorded_at >= $2) AND ($3::timestamptz IS NULL OR recorded_at < $3)
			ORDER BY recorded_at DESC, id LIMIT $4) newest
		ORDER BY recorded_at, id`, name, fromP, toP, limit)
	if err != nil {
		return nil, fmt.Errorf("benchmark history: %w", translate(err))
	}
	defer rows.Close()
	var out []Benchmark
	for rows.Next() {
		b, err := scanBenchmark(rows)
		if err != nil {
			return nil, fmt.Errorf("benchmark history: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("benchmark history: %w", translate(err))
	}
	return out, nil
}

// KnownServices lists, sorted, the services that had scaling events, cost
// or capacity samples in the last `within` — what a query editor offers.
func (s *Store) KnownServices(ctx context.Context, within time.Duration) ([]string, error) {
	since := time.Now().Add(-within)
	rows, err := s.pool.Query(ctx, `SELECT service_name FROM scaling_events WHERE started_at >= $1
		UNION SELECT service_name FROM cost_tracking WHERE cost_date >= $1::date
		UNION SELECT service_name FROM capacity_metrics WHERE recorded_at >= $1
		ORDER BY 1 LIMIT 1000`, since)
	if err != nil {
		return nil, fmt.Errorf("known services: %w", translate(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("known services: %w", translate(err))
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("known services: %w", translate(err))
	}
	return out, nil
}
