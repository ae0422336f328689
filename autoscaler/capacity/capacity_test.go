package capacity_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/wedsync/scaling/autoscaler/capacity"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// history: 180 days, one sample a day (promtool 2.42 writes a 2-hour block
// per window that holds samples: daily keeps it to 180 blocks). Users grow 10 % a month from 600; database
// connections climb linearly from 30 to 80 of 100; storage stays flat; api
// runs 4 replicas of max 12 with traffic growing 1 % a day from 100 req/s.
func history(now time.Time) (string, time.Time) {
	type ser struct {
		head string
		at   func(d float64) float64
	}
	series := []ser{
		{`wedsync_users{state="total"}`, func(d float64) float64 { return math.Round(600 * math.Pow(1.1, d/30)) }},
		{`wedsync_capacity_used{resource="database_connections",service="database",unit="connections"}`, func(d float64) float64 { return 30 + 50*d/180 }},
		{`wedsync_capacity_limit{resource="database_connections",service="database",unit="connections"}`, func(float64) float64 { return 100 }},
		{`wedsync_capacity_used{resource="database_storage",service="database",unit="bytes"}`, func(float64) float64 { return 2e9 }},
		{`wedsync_capacity_limit{resource="database_storage",service="database",unit="bytes"}`, func(float64) float64 { return 8e9 }},
		{`wedsync_autoscaler_replicas{service="api"}`, func(float64) float64 { return 4 }},
		{`service:http_requests:rate{service="api",source="app"}`, func(d float64) float64 { return 100 * math.Pow(1.01, d) }},
	}
	var b strings.Builder
	names := map[string]bool{}
	start := now.Add(-180 * 24 * time.Hour)
	for _, s := range series {
		name := s.head[:strings.IndexByte(s.head, '{')]
		if !names[name] {
			names[name] = true
			fmt.Fprintf(&b, "# TYPE %s gauge\n", name)
		}
		for d := 0; d <= 180; d++ {
			at := start.AddDate(0, 0, d)
			fmt.Fprintf(&b, "%s %g %d\n", s.head, s.at(float64(d)), at.Unix())
		}
	}
	b.WriteString("# EOF\n")
	// OpenMetrics wants one block per metric family: group the lines.
	return group(b.String()), start.Add(100 * 24 * time.Hour)
}

func group(om string) string {
	var order []string
	lines := map[string][]string{}
	cur := ""
	for _, l := range strings.Split(om, "\n") {
		switch {
		case strings.HasPrefix(l, "# TYPE "):
			cur = strings.Fields(l)[2]
			if _, ok := lines[cur]; !ok {
				order = append(order, cur)
			}
			lines[cur] = append(lines[cur], "")
		case l == "" || l == "# EOF":
		default:
			name := l[:strings.IndexAny(l, "{ ")]
			lines[name] = append(lines[name], l)
		}
	}
	var b strings.Builder
	for _, n := range order {
		fmt.Fprintf(&b, "# TYPE %s gauge\n", n)
		for _, l := range lines[n] {
			if l != "" {
				b.WriteString(l + "\n")
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

func TestForecastsFromRealHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC()
	om, _ := history(now)
	prom, err := devstack.StartPrometheusWithHistory(ctx, om, devstack.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	st := storetest.New(t)
	// A load test of api measured 400 req/s on the 4 replicas of the time.
	rps := 400.0
	if _, err := st.RecordBenchmark(ctx, store.NewBenchmark{Name: "api", TestType: "stress", ThroughputRPS: &rps}); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse([]byte(`
services:
  api:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 12
    metrics: [{name: cpu, query: x, target: 0.6}]
`))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := api.NewClient(api.Config{Address: prom.URL()})
	pl := &capacity.Planner{Prom: promv1.NewAPI(c), Store: st, Policy: pol, Now: func() time.Time { return now }}
	fs, err := pl.Forecasts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]capacity.Forecast{}
	for _, f := range fs {
		by[f.Resource+"/"+f.Service] = f
	}
	// Users: ≈ 600 × 1.1⁶ ≈ 1063 now, past the startup phase's 1,000 already.
	u := by["users/"]
	if u.Current < 1000 || u.Limit != 1000 || u.Exhaustion == nil || *u.ExhaustsIn != 0 || !strings.Contains(u.Advice, "startup phase") {
		t.Errorf("users = %+v", u)
	}
	// Connections: 80 of 100, +50 per 180 days → the limit in ≈ 72 days.
	dc := by["database_connections/database"]
	if dc.Exhaustion == nil || *dc.ExhaustsIn < 60 || *dc.ExhaustsIn > 85 || !strings.Contains(dc.Advice, "connection") {
		t.Errorf("connections = %+v", dc)
	}
	if s := by["database_storage/database"]; s.Exhaustion != nil || s.Advice != "" {
		t.Errorf("flat storage runs out: %+v", s)
	}
	// Replicas: 100 req/s per replica (400 on 4); traffic ≈ 100 × 1.01^270
	// ≈ 1470 req/s in 90 days → 1470 / 70 ≈ 21 replicas > 12.
	r := by["replicas/api"]
	if !strings.Contains(r.Advice, "100 req/s per replica") || !strings.Contains(r.Advice, "raise max_replicas of api from 12") {
		t.Errorf("replicas = %+v", r)
	}
	if len(u.Points) != 12 {
		t.Errorf("weekly points over 90 days: %d", len(u.Points))
	}
}
