package recommend_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/recommend"
	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

const impactPolicy = `
services:
  api:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 20
    price_per_replica_monthly: 36.50
    metrics:
      - {name: cpu, query: 'service:cpu_utilization:ratio{service="api"}', target: 0.6}
      - {name: load, type: load, query: 'service:http_requests:rate{service="api"}', target: 0.6, capacity_per_replica: 100}
    billing:
      - {service: vercel}
      - {source: focus-aws, service: Amazon Elastic Compute Cloud, tags: {app: api}}
  search:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 1
    max_replicas: 10
    price_per_replica_monthly: 50
    metrics: [{name: cpu, query: x, target: 0.6}]
  worker:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 1
    max_replicas: 10
    price_per_replica_monthly: 10
    metrics: [{name: cpu, query: x, target: 0.6}]
    billing: [{service: twilio}]
`

// The replayed fleet: api was rightsized on day D (at 14:00). Its load
// trace has a daily pattern (busy 08:00–20:00) and grows by a quarter after
// D; the day of the change itself spikes. Its cost rows are written as the
// exporter writes them: Vercel's API (service vercel, products as
// resources) and a FOCUS file (ServiceName, attribution tags) that also
// bills another app; a manual row under the policy name `api`, which no
// billing line names, must not count.
type replay struct {
	day                   time.Time // D
	loadBefore, loadAfter [2]int    // quiet, busy requests/s
}

func (r replay) load(at time.Time) int {
	busy := 0
	if h := at.UTC().Hour(); h >= 8 && h < 20 {
		busy = 1
	}
	switch day := at.UTC().Truncate(24 * time.Hour); {
	case day.Before(r.day):
		return r.loadBefore[busy]
	case day.Equal(r.day):
		return 500 // the change's own day: in neither window
	}
	return r.loadAfter[busy]
}

func (r replay) openMetrics() string {
	var b strings.Builder
	b.WriteString("# TYPE service:http_requests:rate gauge\n")
	for at := r.day.AddDate(0, 0, -9); at.Before(r.day.AddDate(0, 0, 9)); at = at.Add(5 * time.Minute) {
		fmt.Fprintf(&b, "service:http_requests:rate{service=\"api\",source=\"app\"} %d %d\n", r.load(at), at.Unix())
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// costs are the daily amounts per line, by day offset from D: before D the
// service ran on 6 replicas, after it on 4 (serving more load).
func (r replay) costs(offset int) (vercel, aws string) {
	if offset < 0 {
		return fmt.Sprintf("%d.%06d", 41+offset%3, 123457+offset*1111), fmt.Sprintf("%d.%02d", 17, 40-offset)
	}
	return fmt.Sprintf("%d.%06d", 33+offset%2, 654321+offset*77), fmt.Sprintf("%d.%02d", 12, 5+offset)
}

func TestMeasuredImpactOnReplayedRecommendation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC()
	r := replay{day: now.Truncate(24*time.Hour).AddDate(0, 0, -9), loadBefore: [2]int{60, 120}, loadAfter: [2]int{80, 145}}
	prom, err := devstack.StartPrometheusWithHistory(ctx, r.openMetrics(), devstack.ServerOptions{Args: []string{"--storage.tsdb.retention.time=90d"}})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	dsn := storetest.DSN(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// Cost rows, one exporter refresh per source, 8 days either side of D.
	var days []time.Time
	var vercelRows, awsRows, manualRows []store.CostRecord
	for off := -8; off <= 8; off++ {
		day := r.day.AddDate(0, 0, off)
		days = append(days, day)
		v, a := r.costs(off)
		vercelRows = append(vercelRows,
			store.CostRecord{Date: day, Service: "vercel", ResourceType: "Function Duration", Amount: decimal.RequireFromString(v)},
			store.CostRecord{Date: day, Service: "vercel", ResourceType: "Fast Data Transfer", Amount: decimal.RequireFromString("0.000003")})
		awsRows = append(awsRows,
			store.CostRecord{Date: day, Service: "Amazon Elastic Compute Cloud", ResourceType: "Compute", ResourceID: "i-api",
				Amount: decimal.RequireFromString(a), Tags: map[string]string{"app": "api", "env": "prod"}},
			// A credit on the same line nets (FOCUS ChargeCategory Credit).
			store.CostRecord{Date: day, Service: "Amazon Elastic Compute Cloud", ResourceType: "Compute", ResourceID: "i-api",
				ChargeCategory: "Credit", Amount: decimal.RequireFromString("-0.50"), Tags: map[string]string{"app": "api", "env": "prod"}},
			store.CostRecord{Date: day, Service: "Amazon Elastic Compute Cloud", ResourceType: "Compute", ResourceID: "i-search",
				Amount: decimal.RequireFromString("99.99"), Tags: map[string]string{"app": "search"}})
		manualRows = append(manualRows, store.CostRecord{Date: day, Service: "api", Amount: decimal.RequireFromString("1000")})
	}
	for src, rows := range map[string][]store.CostRecord{"vercel": vercelRows, "focus-aws": awsRows, "manual": manualRows} {
		if _, err := st.ReplaceCosts(ctx, src, store.CostScope{Days: days}, rows); err != nil {
			t.Fatal(err)
		}
	}

	// Implemented recommendations: api (mapped, with cost rows), search
	// (unmapped), worker (mapped to lines no row matches).
	implemented := r.day.Add(14 * time.Hour)
	ids := map[string]string{}
	for _, svc := range []string{"api", "search", "worker"} {
		rec, err := st.OfferRecommendation(ctx, store.Recommendation{Type: "rightsizing", Service: svc, Title: "rightsize " + svc,
			EstimatedMonthlyImpact: decimal.RequireFromString("-73.00"), Confidence: decimal.RequireFromString("0.8"), Effort: "low", Priority: "medium"})
		if err != nil {
			t.Fatal(err)
		}
		st.MoveRecommendation(ctx, rec.ID, []string{"pending"}, "approved", "ops", "")
		if _, err := st.MoveRecommendation(ctx, rec.ID, []string{"approved"}, "implemented", "", ""); err != nil {
			t.Fatal(err)
		}
		ids[svc] = rec.ID
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE optimization_recommendations SET implemented_at = $1`, implemented); err != nil {
		t.Fatal(err)
	}

	p, err := policy.Parse([]byte(impactPolicy))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := api.NewClient(api.Config{Address: prom.URL()})
	g := recommend.New(recommend.Config{Policy: p, Store: st, Prom: promv1.NewAPI(c), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Current: levels{"api": 4, "search": 1, "worker": 1}, Now: func() time.Time { return now }})
	if _, err := g.Generate(ctx); err != nil {
		t.Fatal(err)
	}

	// The test's own arithmetic, in exact rationals: the mean daily cost of
	// the 7 whole days before D and after D, the load means of the trace,
	// and (after − before × load after / load before) × 30.
	rat := func(s string) *big.Rat { x, _ := new(big.Rat).SetString(s); return x }
	sum := func(from, to int) *big.Rat {
		total := new(big.Rat)
		for off := from; off <= to; off++ {
			v, a := r.costs(off)
			for _, x := range []string{v, "0.000003", a, "-0.50"} {
				total.Add(total, rat(x))
			}
		}
		return total.Quo(total, big.NewRat(7, 1))
	}
	meanLoad := func(l [2]int) *big.Rat { return big.NewRat(int64(l[0]+l[1]), 2) } // 12 quiet and 12 busy hours a day
	before, after := sum(-7, -1), sum(1, 7)
	cf := new(big.Rat).Mul(before, new(big.Rat).Quo(meanLoad(r.loadAfter), meanLoad(r.loadBefore)))
	want := new(big.Rat).Mul(new(big.Rat).Sub(after, cf), big.NewRat(30, 1))
	wantCents := roundCents(want)

	got, err := st.GetRecommendation(ctx, ids["api"])
	if err != nil {
		t.Fatal(err)
	}
	if !got.ActualImpact.Valid || got.ActualImpact.Decimal.StringFixed(2) != wantCents {
		t.Fatalf("measured impact = %v (%s), want %s (exact %s); basis %s", got.ActualImpact, got.MeasureNote, wantCents, want.FloatString(8), got.MeasureBasis)
	}
	// Not normalised by load, the same rows would show a different figure:
	// the load term is really in the stored one.
	if raw := roundCents(new(big.Rat).Mul(new(big.Rat).Sub(after, before), big.NewRat(30, 1))); raw == wantCents {
		t.Fatalf("the load change does not move the figure (%s): the test cannot tell normalisation", raw)
	}
	if got.MeasuredAt == nil || !got.ActualImpactConfidence.Valid || got.MeasureNote != "" {
		t.Fatalf("measurement = %+v", got)
	}
	if cf := got.ActualImpactConfidence.Decimal; !cf.IsPositive() || cf.GreaterThan(decimal.NewFromInt(1)) {
		t.Fatalf("confidence %s", cf)
	}
	var basis struct {
		Before struct {
			DaysWithRows int     `json:"days_with_rows"`
			Load         float64 `json:"mean_load"`
		} `json:"before"`
		After struct {
			Load float64 `json:"mean_load"`
		} `json:"after"`
	}
	if err := json.Unmarshal(got.MeasureBasis, &basis); err != nil || basis.Before.DaysWithRows != 7 || basis.Before.Load != 90 || basis.After.Load != 112.5 {
		t.Fatalf("basis %s (%v)", got.MeasureBasis, err)
	}
	t.Logf("api: measured %s/month (confidence %s), exact %s; estimate %s", got.ActualImpact.Decimal.StringFixed(2),
		got.ActualImpactConfidence.Decimal, want.FloatString(6), got.EstimatedMonthlyImpact)

	// Unmapped, or mapped to lines with no rows: unmeasured, with why.
	for svc, note := range map[string]string{"search": "unmapped", "worker": "no cost rows"} {
		u, _ := st.GetRecommendation(ctx, ids[svc])
		if u.ActualImpact.Valid || u.MeasuredAt != nil || !strings.Contains(u.MeasureNote, note) {
			t.Errorf("%s: impact %v, note %q; want unmeasured, %q", svc, u.ActualImpact, u.MeasureNote, note)
		}
	}

	// A second pass (or another replica) keeps the first figure.
	if _, err := conn.Exec(ctx, `INSERT INTO cost_tracking (cost_date, source, service_name, resource_type, cost_amount)
		VALUES ($1, 'vercel', 'vercel', 'late revision', 500)`, r.day.AddDate(0, 0, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Generate(ctx); err != nil {
		t.Fatal(err)
	}
	again, _ := st.GetRecommendation(ctx, ids["api"])
	if again.ActualImpact.Decimal.StringFixed(2) != wantCents || !again.MeasuredAt.Equal(*got.MeasuredAt) {
		t.Fatalf("measured again: %s at %v", again.ActualImpact.Decimal, again.MeasuredAt)
	}
}

// roundCents rounds half away from zero, as money is rounded here.
func roundCents(x *big.Rat) string {
	c := new(big.Rat).Mul(x, big.NewRat(100, 1))
	n, d := c.Num(), c.Denom()
	q, m := new(big.Int).QuoRem(new(big.Int).Abs(n), d, new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(d) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if n.Sign() < 0 {
		q.Neg(q)
	}
	return new(big.Rat).SetFrac(q, big.NewInt(100)).FloatString(2)
}
