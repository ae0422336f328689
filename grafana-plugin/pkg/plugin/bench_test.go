package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/grafana-plugin/fixture"
	"github.com/wedsync/scaling/grafana-plugin/pkg/plugin"
)

// bareSQL is the statement the store runs for a case, read row by row into
// the same Go types: the yardstick the plugin's overhead is measured against.
type bareSQL struct {
	sql  string
	args []any
	scan func(pgx.Rows) error
}

func (b bareSQL) run(ctx context.Context, c *pgx.Conn) error {
	rows, err := c.Query(ctx, b.sql, b.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := b.scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func pct(ds []time.Duration, p float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[int(p*float64(len(s)-1))].Microseconds()) / 1000
}

// BenchmarkQueryData measures QueryData (decode, store, frames) against the
// bare SQL of the same query on the same database, alternating the two so
// that both see the same noise. Figures: p50/p95 in ms and their ratios.
//
//	go test -run '^$' -bench BenchmarkQueryData -benchtime 200x ./pkg/plugin
func BenchmarkQueryData(b *testing.B) {
	ctx := context.Background()
	dsn := storetest.DSN(b)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Hour)
	services := make([]string, 50)
	for i := range services {
		services[i] = fmt.Sprintf("svc-%02d", i)
	}
	today := now.Truncate(24 * time.Hour)
	yearAgo := today.AddDate(0, 0, -364)
	if err := st.SeedSyntheticCosts(ctx, services, []string{"compute", "storage", "bandwidth", "ai_tokens"}, yearAgo, today.Add(24*time.Hour)); err != nil {
		b.Fatal(err)
	}
	monthAgo := now.Add(-30 * 24 * time.Hour)
	if err := st.SeedSyntheticEvents(ctx, 1_000_000, services, monthAgo, now); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	ds := plugin.New(ctx, fixture.Settings(dsn, "", ""), plugin.WithClock(func() time.Time { return now }))
	defer ds.Dispose()

	var (
		tm                     time.Time
		key                    string
		amount                 string
		count                  int64
		id, typ, svc, reason   string
		status, by, user, emsg string
		rbOf, rbBy             string
		metrics, before, after []byte
		cost                   pgtype.Text
		evEnd, evRolled        pgtype.Timestamptz
		durMS                  pgtype.Int8
	)
	// The peer reads every column into the destinations pgx reads fastest
	// (jsonb as bytes, no reflection), as the store does.
	scanEvent := func(r pgx.Rows) error {
		return r.Scan(&id, &typ, &svc, &reason, &metrics, &before, &after,
			&status, &by, &user, &cost, &emsg, &rbOf, &rbBy, &tm, &evEnd, &evRolled, &durMS)
	}
	eventSQL := `SELECT id::text, event_type, service_name, trigger_reason, trigger_metrics, before_config, after_config,
	status, initiated_by, coalesce(initiated_user_id, ''), cost_impact_monthly::text, coalesce(error_message, ''),
	coalesce(rollback_of::text, ''), coalesce(rolled_back_by::text, ''), started_at, completed_at, rolled_back_at, duration_ms
		FROM scaling_events
		WHERE ($1 = '' OR service_name = $1) AND ($2 = '' OR status = $2) AND ($3 = '' OR event_type = $3)
		  AND ($4::timestamptz IS NULL OR started_at >= $4) AND ($5::timestamptz IS NULL OR started_at < $5)
		  AND ($6::timestamptz IS NULL OR (started_at, id) < ($6, $7::uuid))
		ORDER BY started_at DESC, id DESC LIMIT $8`
	bucket := int64((30 * 24 * time.Hour / 1000).Seconds()) + 1 // what bucketWidth gives for 1000 points
	cases := []struct {
		name      string
		queryType string
		model     string
		from      time.Time
		points    int64
		bare      bareSQL
		maxIter   int // slow cases stop there, whatever b.N
	}{
		{"cost_breakdown_12m_x_50_services_daily", "cost_breakdown", `{"groupBy": "service", "interval": "day"}`, yearAgo, 1000, bareSQL{
			sql: `SELECT cost_date, service_name, sum(cost_amount)::text FROM cost_tracking
				WHERE cost_date BETWEEN $1::date AND $2::date AND currency = $3
					AND ($4 = '' OR service_name = $4) AND ($5 = '' OR team = $5) AND ($6 = '' OR feature = $6)
				GROUP BY 1, 2 ORDER BY 1, 2`,
			args: []any{yearAgo, today, "USD", "", "", ""},
			scan: func(r pgx.Rows) error { return r.Scan(&tm, &key, &amount) }}, 0},
		{"cost_breakdown_12m_x_50_services_monthly", "cost_breakdown", `{"groupBy": "service", "interval": "month"}`, yearAgo, 1000, bareSQL{
			sql: `SELECT date_trunc('month', cost_date)::date, service_name, sum(cost_amount)::text FROM cost_tracking
				WHERE cost_date BETWEEN $1::date AND $2::date AND currency = $3
					AND ($4 = '' OR service_name = $4) AND ($5 = '' OR team = $5) AND ($6 = '' OR feature = $6)
				GROUP BY 1, 2 ORDER BY 1, 2`,
			args: []any{yearAgo, today, "USD", "", "", ""},
			scan: func(r pgx.Rows) error { return r.Scan(&tm, &key, &amount) }}, 0},
		{"scaling_events_1M_in_30d_table_1000", "scaling_events", `{"limit": 1000}`, monthAgo, 1000, bareSQL{
			sql: eventSQL, args: []any{"", "", "", monthAgo, now, nil, nil, 1000}, scan: scanEvent}, 0},
		{"scaling_events_1M_in_30d_annotations_1000", "scaling_annotations", `{"limit": 1000}`, monthAgo, 1000, bareSQL{
			sql: eventSQL, args: []any{"", "", "", monthAgo, now, nil, nil, 1000}, scan: scanEvent}, 0},
		{"scaling_event_summary_1M_in_30d", "scaling_event_summary", `{}`, monthAgo, 1000, bareSQL{
			sql: `SELECT date_bin($1::bigint * interval '1 second', started_at, $2::timestamptz), event_type, count(*)
				FROM scaling_events
				WHERE started_at >= $2 AND started_at < $3 AND ($4 = '' OR service_name = $4)
				GROUP BY 1, 2 ORDER BY 1, 2`,
			args: []any{bucket, monthAgo, now, ""},
			scan: func(r pgx.Rows) error { return r.Scan(&tm, &key, &count) }}, 30},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := &backend.QueryDataRequest{Queries: []backend.DataQuery{{RefID: "A", QueryType: c.queryType, JSON: json.RawMessage(c.model),
				TimeRange: backend.TimeRange{From: c.from, To: now}, Interval: time.Minute, MaxDataPoints: c.points}}}
			// Warm both paths (plans, caches) before measuring.
			for range 3 {
				if r, err := ds.QueryData(ctx, req); err != nil || r.Responses["A"].Error != nil {
					b.Fatalf("QueryData: %v %v", err, r.Responses["A"].Error)
				}
				if err := c.bare.run(ctx, conn); err != nil {
					b.Fatal(err)
				}
			}
			plug, bare := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				if c.maxIter > 0 && i >= c.maxIter {
					break
				}
				t0 := time.Now()
				r, err := ds.QueryData(ctx, req)
				plug = append(plug, time.Since(t0))
				if err != nil || r.Responses["A"].Error != nil {
					b.Fatalf("QueryData: %v %v", err, r.Responses["A"].Error)
				}
				t0 = time.Now()
				if err := c.bare.run(ctx, conn); err != nil {
					b.Fatal(err)
				}
				bare = append(bare, time.Since(t0))
			}
			b.StopTimer()
			p50, p95, s50, s95 := pct(plug, 0.5), pct(plug, 0.95), pct(bare, 0.5), pct(bare, 0.95)
			b.ReportMetric(p50, "p50_ms")
			b.ReportMetric(p95, "p95_ms")
			b.ReportMetric(s50, "sql_p50_ms")
			b.ReportMetric(s95, "sql_p95_ms")
			b.ReportMetric(p50/s50, "ratio_p50")
			b.ReportMetric(p95/s95, "ratio_p95")
		})
	}
}
