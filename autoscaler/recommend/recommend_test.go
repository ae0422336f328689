package recommend_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/recommend"
	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

const pol = `
recommendations: {cache_monthly_cost: 20}
services:
  api:
    control: alerts_only
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 20
    price_per_replica_monthly: 36.50
    metrics: [{name: cpu, query: x, target: 0.6}]
  search:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 1
    max_replicas: 10
    price_per_replica_monthly: 50
    metrics: [{name: cpu, query: x, target: 0.6}]
  busy:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 1
    max_replicas: 10
    price_per_replica_monthly: 20
    metrics: [{name: cpu, query: x, target: 0.6}]
  web:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 30
    price_per_replica_monthly: 10
    metrics: [{name: cpu, query: x, target: 0.6}]
  unpriced:
    control: alerts_only
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 1
    max_replicas: 10
    metrics: [{name: cpu, query: x, target: 0.6}]
  reports:
    mode: vertical
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    tiers:
      - {name: ci_small, capacity: 2, price_monthly: 15}
      - {name: ci_medium, capacity: 4, price_monthly: 60}
      - {name: ci_large, capacity: 8, price_monthly: 120}
    metrics: [{name: cpu, query: x, target: 0.6}]
  database:
    mode: vertical
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    tiers:
      - {name: ci_small, capacity: 2, price_monthly: 15}
      - {name: ci_medium, capacity: 4, price_monthly: 60}
    metrics: [{name: cpu, query: x, target: 0.6}]
  queue:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 1
    max_replicas: 20
    price_per_replica_monthly: 10
    metrics: [{name: backlog, query: x, target: 0.6}]
    queue:
      arrival_rate_query: 'wedsync_queue_arrival_rate{queue="email"}'
      backlog_query: 'wedsync_queue_backlog{queue="email"}'
      per_worker_rate: 2
      drain_within: 10m
`

type levels map[string]int

func (l levels) Current(_ context.Context, name string) (actuator.State, int, error) {
	return actuator.State{Replicas: l[name]}, l[name], nil
}

// Bounds: web runs under an earlier rightsizing's floor of 8 (the file
// and the phase allow 2: a recommendation may lower it).
func (l levels) Bounds(_ context.Context, name string) (recommend.InForce, bool, error) {
	switch name {
	case "web":
		return recommend.InForce{Min: 8, Max: 30, Hard: recommend.Limits{Min: 2, Max: 30}}, true, nil
	}
	return recommend.InForce{}, false, nil
}

// history writes seven days of 5-minute samples, backfilled into a real
// Prometheus with promtool (what `tsdb create-blocks-from openmetrics` is for).
func history(t *testing.T, now time.Time) string {
	var b strings.Builder
	series := []struct {
		name, labels string
		value        func(i int) float64
	}{
		// api: CPU around 20 % with a p95 of 25 %, memory peaking at 40 %.
		{"service:cpu_utilization:ratio", `service="api",source="demo"`, func(i int) float64 {
			if i%20 == 0 {
				return 0.25
			}
			return 0.2
		}},
		{"service:memory_utilization:ratio", `service="api",source="demo"`, func(i int) float64 { return 0.3 + 0.1*float64(i%2) }},
		// search: idle the whole week.
		{"service:cpu_utilization:ratio", `service="search",source="demo"`, func(int) float64 { return 0.08 }},
		{"service:memory_utilization:ratio", `service="search",source="demo"`, func(int) float64 { return 0.2 }},
		// busy: only 2 hours of history, too little to say anything.
		{"service:cpu_utilization:ratio", `service="busy",source="demo"`, func(int) float64 { return 0.95 }},
		{"service:memory_utilization:ratio", `service="busy",source="demo"`, func(int) float64 { return 0.5 }},
		// database CPU stays above 60 %.
		{"db:cpu_utilization:ratio", `service="database",source="node"`, func(i int) float64 { return 0.7 + 0.05*float64(i%3) }},
		// web: level-controlled, at its floor of 8 for the 8 quiet hours of
		// every day (work 8 × 0.15 = 1.2 replicas), at 20 and 60 % the rest.
		{"service:cpu_utilization:ratio", `service="web",source="demo"`, func(i int) float64 {
			if i%288 < 96 {
				return 0.15
			}
			return 0.6
		}},
		{"service:memory_utilization:ratio", `service="web",source="demo"`, func(int) float64 { return 0.5 }},
		{"service:replicas:count", `service="web",source="demo"`, func(i int) float64 {
			if i%288 < 96 {
				return 8
			}
			return 20
		}},
		// unpriced: oversized like api, but nothing says what a replica costs.
		{"service:cpu_utilization:ratio", `service="unpriced",source="demo"`, func(int) float64 { return 0.35 }},
		{"service:memory_utilization:ratio", `service="unpriced",source="demo"`, func(int) float64 { return 0.35 }},
		// reports: a database on ci_large at CPU p95 15 %, max 20 %: on
		// ci_small (4× less) 60 % and 80 %, under the 70 % target.
		{"db:cpu_utilization:ratio", `service="reports",source="node"`, func(i int) float64 {
			if i%50 == 0 {
				return 0.2
			}
			return 0.1 + 0.05*float64(i%2)
		}},
		{"wedsync_queue_arrival_rate", `queue="email"`, func(int) float64 { return 7 }},
		{"wedsync_queue_backlog", `queue="email"`, func(int) float64 { return 1200 }},
	}
	byName := map[string][]string{}
	var order []string
	for _, s := range series {
		if _, ok := byName[s.name]; !ok {
			order = append(order, s.name)
		}
		n := 7 * 24 * 12
		start := 0
		if strings.Contains(s.labels, "busy") {
			start = n - 24 // 2 hours
		}
		for i := start; i < n; i++ {
			at := now.Add(-time.Duration(n-i) * 5 * time.Minute)
			byName[s.name] = append(byName[s.name], fmt.Sprintf("%s{%s} %g %d", s.name, s.labels, s.value(i), at.Unix()))
		}
	}
	for _, name := range order {
		fmt.Fprintf(&b, "# TYPE %s gauge\n", name)
		for _, l := range byName[name] {
			b.WriteString(l + "\n")
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

func TestGenerateFromRealHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().Truncate(time.Minute)
	prom, err := devstack.StartPrometheusWithHistory(ctx, history(t, now), devstack.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	c, _ := api.NewClient(api.Config{Address: prom.URL()})
	p, err := policy.Parse([]byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.New(t)
	lv := levels{"api": 6, "search": 4, "busy": 2, "database": 0, "queue": 2, "web": 20, "unpriced": 6, "reports": 2}
	g := recommend.New(recommend.Config{Policy: p, Store: st, Prom: promv1.NewAPI(c), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Current: lv, Bounds: lv, Now: func() time.Time { return now }})
	recs, err := g.Generate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.Recommendation{}
	for _, r := range recs {
		got[r.Service+"/"+r.Type] = r
	}
	want := []struct {
		key, after, impact, effort string
	}{
		// api: CPU p95 25 % → ceil(6 × 0.25 / 0.7) = 3; memory max 40 % → ceil(6 × 0.4 × 1.15) = 3;
		// the floor (2) is already below.
		{"api/rightsizing", `{"replicas": 3, "max_replicas": 20, "min_replicas": 2}`, "-109.50", "low"},
		// search: idle for the week → its minimum.
		{"search/idle_resource", `{"replicas": 1, "max_replicas": 10, "min_replicas": 1}`, "-150.00", "low"},
		// web: p05 of the work 1.2 replicas → a floor of ceil(1.2 / 0.7) = 2, replicas stay at 20;
		// (2 − 8) × $10 × 0.333, the share of the week spent at the floor.
		{"web/rightsizing", `{"replicas": 20, "max_replicas": 30, "min_replicas": 2}`, "-19.98", "low"},
		// reports: down two tiers; the floor follows it.
		{"reports/database_tier", `{"tier": "ci_small", "max_tier": "ci_large", "min_tier": "ci_small"}`, "-105.00", "medium"},
		// database: a cache saves the next tier (60 − 15) less its own price (20).
		{"database/caching", `{"tier": "ci_small", "cache": true}`, "-25.00", "medium"},
		// queue: 7/s at 2/s per worker and 70 % → 5; 1200 in 10 min at 2/s → 1; 6 workers.
		{"queue/queue_workers", `{"replicas": 6, "max_replicas": 20, "min_replicas": 1}`, "40.00", "low"},
	}
	for _, w := range want {
		r, ok := got[w.key]
		if !ok {
			t.Errorf("no %s recommendation; got %v", w.key, keys(got))
			continue
		}
		if string(r.RecommendedConfig) != w.after || r.EstimatedMonthlyImpact.Decimal.StringFixed(2) != w.impact || r.Effort != w.effort {
			t.Errorf("%s: %s impact %s effort %s; want %s %s %s (%s)", w.key, r.RecommendedConfig, r.EstimatedMonthlyImpact.Decimal, r.Effort, w.after, w.impact, w.effort, r.Description)
		}
	}
	if _, ok := got["busy/rightsizing"]; ok {
		t.Error("recommended on 2 hours of history (KRR's minimum is 3)")
	}
	// An unpriced service's saving is unknown: offered with a null impact,
	// never as $0.00.
	if r, ok := got["unpriced/rightsizing"]; !ok || r.EstimatedMonthlyImpact.Valid {
		t.Errorf("unpriced service: offered %v, impact %v; want offered with unknown impact", ok, r.EstimatedMonthlyImpact)
	}
	if len(recs) != len(want)+1 {
		t.Errorf("%d recommendations: %v", len(recs), keys(got))
	}
	// The schedule running again refreshes, never duplicates.
	if _, err := g.Generate(ctx); err != nil {
		t.Fatal(err)
	}
	all, _ := st.ListRecommendations(ctx, store.RecommendationFilter{})
	if len(all) != len(recs) {
		t.Fatalf("%d recommendations after a second pass, want %d", len(all), len(recs))
	}
}

func keys(m map[string]store.Recommendation) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Every type Decide makes is one the schema's CHECK accepts.
func TestTypesAcceptedByStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	for _, typ := range recommend.Types {
		r := store.Recommendation{Type: typ, Service: "check-" + typ, Title: typ, CurrentConfig: []byte(`{}`), RecommendedConfig: []byte(`{}`),
			Effort: "low", Priority: "low"}
		if _, err := st.OfferRecommendation(ctx, r); err != nil {
			t.Errorf("type %s refused: %v", typ, err)
		}
	}
}
