package wedsync_test

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/dashboards/panelquery"
	"github.com/wedsync/scaling/grafana-plugin/fixture"
	"github.com/wedsync/scaling/grafana-plugin/pkg/plugin"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// series is one synthetic series the backfill writes.
type series struct {
	name   string
	labels map[string]string
}

func (s series) key() string {
	ks := make([]string, 0, len(s.labels))
	for k := range s.labels {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = fmt.Sprintf("%s=%q", k, s.labels[k])
	}
	return s.name + "{" + strings.Join(parts, ",") + "}"
}

// seriesFor derives, from a query's selectors, series that satisfy them:
// equality matchers give their value, the others a value they accept; the
// labels every panel groups by get a value too.
func seriesFor(t *testing.T, expr string) []series {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	var out []series
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		s := series{name: vs.Name, labels: map[string]string{"service": "api", "job": "wedsync", "instance": "host:9100",
			"state": "total", "phase": "growth", "budget": "platform-monthly", "resource": "database_connections",
			"quantile": "0.95", "outcome": "scale", "metric": "http_req_duration", "threshold": "p(95)<300", "source": "app"}}
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName {
				continue
			}
			switch m.Type {
			case labels.MatchEqual:
				s.labels[m.Name] = m.Value
			case labels.MatchNotEqual:
				if s.labels[m.Name] == m.Value || s.labels[m.Name] == "" {
					s.labels[m.Name] = "scale_up"
				}
			case labels.MatchRegexp:
				if !m.Matches(s.labels[m.Name]) {
					s.labels[m.Name] = strings.Trim(m.Value, "^$")
				}
			case labels.MatchNotRegexp:
				s.labels[m.Name] = "x"
			}
		}
		out = append(out, s)
		return nil
	})
	return out
}

// openMetrics writes the backfill: series ending in _1h hourly over 400
// days, the others every 5 minutes over 8 days (every dashboard range holds
// some of it); counters grow, ratios stay in 0.2…0.6, the rest in 1…100.
func openMetrics(all map[string]series, now time.Time) []byte {
	b := make([]byte, 0, 8<<20)
	byName := map[string][]series{}
	for _, s := range all {
		byName[s.name] = append(byName[s.name], s)
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		typ := "gauge"
		if strings.HasSuffix(name, "_total") {
			typ = "counter"
		}
		b = fmt.Appendf(b, "# TYPE %s %s\n", strings.TrimSuffix(name, "_total"), typ)
		step, span := 5*time.Minute, 8*24*time.Hour
		if strings.HasSuffix(name, "_1h") {
			step, span = time.Hour, 400*24*time.Hour
		}
		ratio := strings.Contains(name, "ratio") || strings.Contains(name, "utilization") || strings.Contains(name, "connections")
		constOne := name == "up" || strings.Contains(name, ":up:") || strings.Contains(name, "passing")
		ss := byName[name]
		sort.Slice(ss, func(i, j int) bool { return ss[i].key() < ss[j].key() })
		for _, s := range ss {
			key := s.key()
			n := int(span / step)
			for i := 0; i <= n; i++ {
				at := now.Add(-time.Duration(n-i) * step)
				var v float64
				switch {
				case typ == "counter":
					v = float64(i) * 3
				case constOne:
					v = 1
				case ratio:
					v = 0.4 + 0.2*math.Sin(float64(i)/24)
				case strings.Contains(name, "eta_seconds"):
					v = 40 * 86400
				default:
					v = 50 + 40*math.Sin(float64(i)/24)
				}
				b = append(b, key...)
				b = append(b, ' ')
				b = strconv.AppendFloat(b, v, 'g', -1, 64)
				b = append(b, ' ')
				b = strconv.AppendInt(b, at.Unix(), 10)
				b = append(b, '\n')
			}
		}
	}
	return append(b, "# EOF\n"...)
}

// TestEveryPanelQueryReturnsData runs every query of every dashboard as
// Grafana would: the Prometheus ones against a real Prometheus holding
// backfilled history of every series they read, the plugin ones against
// the plugin on a real PostgreSQL holding the fixture's rows. Each must
// give data back.
func TestEveryPanelQueryReturnsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Minute)
	qs := allQueries(t)
	all := map[string]series{}
	for _, q := range qs {
		if q.Datasource != "prometheus" {
			continue
		}
		for _, s := range seriesFor(t, panelquery.Expand(q.Expr, panelquery.Range{Step: time.Minute, To: now, From: now.Add(-time.Hour)})) {
			all[s.key()] = s
		}
	}
	start := time.Now()
	phase := func(what string) { t.Logf("%s after %s", what, time.Since(start).Round(time.Millisecond)) }
	dir := t.TempDir()
	in := filepath.Join(dir, "history.om")
	if err := os.WriteFile(in, openMetrics(all, now.Add(-time.Minute)), 0o644); err != nil {
		t.Fatal(err)
	}
	phase("openmetrics")
	promDir, err := devstack.TempDir("wedsync-prometheus-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(promDir)
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: run `make deps`")
	}
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=800h", in, filepath.Join(promDir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	phase("backfill")
	prom, err := devstack.StartPrometheus(ctx, devstack.ServerOptions{Dir: promDir, Config: []byte("global: {scrape_interval: 15s}\n")})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()

	phase("prometheus")
	dsn := storetest.DSN(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := fixture.Seed(ctx, st, now, fixture.Options{}); err != nil {
		t.Fatal(err)
	}
	api := &fixture.API{Token: "t0k3n-0123456789", Store: st}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	ds := plugin.New(ctx, fixture.Settings(dsn, srv.URL, api.Token))
	defer ds.Dispose()

	// Rows the database stamps itself (load tests, benchmarks) are from
	// after the seed: query at the real now.
	runner := panelquery.Runner{PrometheusURL: prom.URL(), Now: time.Now(), Plugin: func(ctx context.Context, q panelquery.Query, r panelquery.Range) (int, error) {
		resp, err := ds.QueryData(ctx, &backend.QueryDataRequest{
			PluginContext: backend.PluginContext{DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{UID: fixture.UID}},
			Queries: []backend.DataQuery{{RefID: q.RefID, QueryType: q.QueryType, JSON: q.JSON,
				TimeRange: backend.TimeRange{From: r.From, To: r.To}, Interval: r.Step, MaxDataPoints: 200}}})
		if err != nil {
			return 0, err
		}
		dr := resp.Responses[q.RefID]
		if dr.Error != nil {
			return 0, dr.Error
		}
		rows := 0
		for _, f := range dr.Frames {
			rows += f.Rows()
		}
		return rows, nil
	}}
	phase("fixture")
	results := runner.Run(ctx, qs)
	phase("queries")
	var prometheus, plugins int
	for _, r := range results {
		if r.Query.Datasource == "prometheus" {
			prometheus++
		} else {
			plugins++
		}
		if r.Err != nil || r.Points == 0 {
			t.Errorf("%s (%s%s): %d points, err %v", r.Query, r.Query.QueryType, r.Query.Expr, r.Points, r.Err)
		}
	}
	t.Logf("%d Prometheus and %d plugin queries returned data (%d series backfilled)", prometheus, plugins, len(all))
}
