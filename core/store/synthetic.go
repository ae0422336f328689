package store

import (
	"context"
	"fmt"
	"time"
)

// SeedSyntheticEvents fills scaling_events with n finished events spread
// evenly over [from, to) across the given services — history for
// benchmarks and for trying dashboards. One statement, generated in the
// database: a million rows take seconds, not minutes.
func (s *Store) SeedSyntheticEvents(ctx context.Context, n int, services []string, from, to time.Time) error {
	if n <= 0 || len(services) == 0 || !from.Before(to) {
		return fmt.Errorf("seed events: need n > 0, services and from < to")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO scaling_events (event_type, service_name, trigger_reason, trigger_metrics,
			before_config, after_config, status, error_message, initiated_by, cost_impact_monthly, started_at, completed_at)
		SELECT CASE WHEN i % 3 = 0 THEN 'scale_down' ELSE 'scale_up' END,
			($1::text[])[1 + i % cardinality($1::text[])],
			CASE WHEN i % 3 = 0 THEN 'resource_underutilization' ELSE 'high_cpu_usage' END,
			'{"synthetic": true}',
			jsonb_build_object('replicas', 2 + i % 5), jsonb_build_object('replicas', 3 + i % 5),
			CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'completed' END,
			CASE WHEN i % 50 = 0 THEN 'synthetic failure' END,
			'autoscaler',
			round(((i % 7) - 3) * 36.5, 2),
			$2::timestamptz + (i * ($3::timestamptz - $2::timestamptz) / $4::int),
			$2::timestamptz + (i * ($3::timestamptz - $2::timestamptz) / $4::int) + interval '2 seconds'
		FROM generate_series(0, $4::int - 1) AS i`, services, from, to, n)
	if err != nil {
		return fmt.Errorf("seed events: %w", translate(err))
	}
	_, err = s.pool.Exec(ctx, `ANALYZE scaling_events`)
	return translate(err)
}

// SeedSyntheticCosts fills cost_tracking with one row per day, service and
// resource over [from, to) (source "synthetic"), amounts growing slowly
// with a weekly rhythm — history for benchmarks and dashboards.
func (s *Store) SeedSyntheticCosts(ctx context.Context, services, resources []string, from, to time.Time) error {
	if len(services) == 0 || len(resources) == 0 || !from.Before(to) {
		return fmt.Errorf("seed costs: need services, resources and from < to")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO cost_tracking (cost_date, source, service_name, resource_type, team, feature, cost_amount, currency)
		SELECT d::date, 'synthetic', svc, res,
			'team-' || (1 + abs(hashtext(svc)) % 5), 'feature-' || (1 + abs(hashtext(res)) % 4),
			round((10 + abs(hashtext(svc || res)) % 90) * (1 + (d::date - $3::date) / 365.0 * 0.5)
				* (1 + 0.1 * extract(isodow FROM d)::int / 7.0), 6),
			'USD'
		FROM generate_series($3::date, $4::date - 1, interval '1 day') AS d,
			unnest($1::text[]) AS svc, unnest($2::text[]) AS res
		ON CONFLICT DO NOTHING`, services, resources, from, to)
	if err != nil {
		return fmt.Errorf("seed costs: %w", translate(err))
	}
	_, err = s.pool.Exec(ctx, `ANALYZE cost_tracking`)
	return translate(err)
}
