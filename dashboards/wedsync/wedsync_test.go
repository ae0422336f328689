package wedsync_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/wedsync/scaling/dashboards/panelquery"
	"github.com/wedsync/scaling/dashboards/wedsync"
	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
)

var update = flag.Bool("update", false, "rewrite dist/ from the dashboards' code")

const dist = "../dist"

// TestDistIsUpToDate: dist/ is exactly what the code renders (no
// hand-edited JSON); -update rewrites it.
func TestDistIsUpToDate(t *testing.T) {
	t.Parallel()
	files, err := wedsync.Render()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dist, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	onDisk, _ := filepath.Glob(filepath.Join(dist, "*.json"))
	if len(onDisk) != len(files) {
		t.Errorf("dist/ holds %d files, the code renders %d", len(onDisk), len(files))
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil || string(got) != string(want) {
			t.Errorf("dist/%s is not what the code renders: run `go test ./wedsync -update` (or go run ./cmd/dashgen)", name)
		}
	}
	if len(files) != 5 {
		t.Errorf("%d dashboards, want 5", len(files))
	}
}

func allQueries(t *testing.T) []panelquery.Query {
	t.Helper()
	files, err := wedsync.Render()
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []panelquery.Query
	for _, n := range names {
		qs, err := panelquery.Extract(files[n])
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) == 0 {
			t.Errorf("%s has no queries", n)
		}
		out = append(out, qs...)
	}
	return out
}

// known is every metric name some part of the system produces: our rules
// (rules/dist), the exporter, the
// autoscaler, wedsync-load, the standard exporters we configure and
// Prometheus itself. Read from the sources, so a renamed metric fails here.
func known(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	add := func(origin string, names ...string) {
		for _, n := range names {
			out[n] = origin
		}
	}
	for _, f := range glob(t, "../../rules/dist/production/*.rules.yml") {
		var doc struct {
			Groups []struct {
				Rules []struct {
					Record string `yaml:"record"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range doc.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					add(f, r.Record)
				}
			}
		}
	}
	scan := func(pattern string, re *regexp.Regexp, prefix string, histogram bool) {
		for _, f := range glob(t, pattern) {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
				n := prefix + m[1]
				add(f, n)
				if histogram {
					add(f, n+"_bucket", n+"_sum", n+"_count")
				}
			}
		}
	}
	scan("../../exporter/collector/*.go", regexp.MustCompile(`desc\(\s*"([a-z0-9_]+)"`), "wedsync_", false)
	scan("../../exporter/*/*.go", regexp.MustCompile(`NewDesc\(\s*"([a-z0-9_:]+)"`), "", false)
	scan("../../autoscaler/*/*.go", regexp.MustCompile(`Namespace:\s*"wedsync",\s*Subsystem:\s*"autoscaler",\s*Name:\s*"([a-z0-9_]+)"`), "wedsync_autoscaler_", true)
	scan("../../loadtest/engine/*.go", regexp.MustCompile(`NewDesc\(\s*"(wedsync_load_[a-z0-9_]+)"`), "", false)
	add("Prometheus", "up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped")
	add("node_exporter", "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
		"node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_load1")
	add("postgres_exporter", "pg_up", "pg_stat_activity_count", "pg_settings_max_connections", "pg_database_size_bytes")
	return out
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("nothing matches %s (%v)", pattern, err)
	}
	return m
}

// metricNames parses a PromQL expression (Prometheus's own parser) and
// returns the metric names it selects.
func metricNames(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
			names = append(names, name)
		}
		return nil
	})
	return names, nil
}

// TestPromQLNamesProducedMetrics: every Prometheus expression of every
// panel parses, and each metric it names is produced by our exporter, our
// rules, the autoscaler, wedsync-load, or an exporter we configure.
func TestPromQLNamesProducedMetrics(t *testing.T) {
	t.Parallel()
	k := known(t)
	for _, want := range []string{"service:http_request_duration_seconds:p95", "wedsync_users", "wedsync_autoscaler_decisions_total", "wedsync_load_vus", "job:up:avg_1h"} {
		if _, ok := k[want]; !ok {
			t.Fatalf("the scan of the sources missed %s: the test itself is broken", want)
		}
	}
	r := panelquery.Range{From: time.Now().Add(-time.Hour), To: time.Now(), Step: time.Minute}
	n := 0
	for _, q := range allQueries(t) {
		if q.Datasource != "prometheus" {
			continue
		}
		n++
		names, err := metricNames(panelquery.Expand(q.Expr, r))
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", q, q.Expr, err)
			continue
		}
		for _, name := range names {
			if _, ok := k[name]; !ok {
				t.Errorf("%s: metric %s is produced by nothing we run", q, name)
			}
		}
	}
	if n < 30 {
		t.Errorf("only %d Prometheus queries found", n)
	}
}

// TestPluginQueriesAreValid: every plugin query of every dashboard has a
// query type the plugin serves and a model it accepts.
func TestPluginQueriesAreValid(t *testing.T) {
	t.Parallel()
	used := map[string]bool{}
	for _, q := range allQueries(t) {
		if q.Datasource == "prometheus" {
			continue
		}
		if q.Datasource != wedsync.PluginType {
			t.Errorf("%s: datasource %s", q, q.Datasource)
			continue
		}
		if !slices.Contains(models.QueryTypes, q.QueryType) {
			t.Errorf("%s: query type %s is not the plugin's", q, q.QueryType)
			continue
		}
		used[q.QueryType] = true
		if err := models.Decode(q.JSON, modelFor(q.QueryType)); err != nil {
			t.Errorf("%s: the plugin refuses the model %s: %v", q, q.JSON, err)
		}
	}
	for _, qt := range []string{"health", "scaling_annotations", "scaling_events", "recommendations", "cost_breakdown", "capacity_forecast", "load_test_results", "benchmarks", "budgets", "cost_alerts", "growth_progress"} {
		if !used[qt] {
			t.Errorf("no dashboard uses %s", qt)
		}
	}
}

func modelFor(qt string) models.Validator {
	switch qt {
	case models.QueryScalingEvents, models.QueryScalingAnnotations:
		return &models.EventsQuery{}
	case models.QueryScalingEventSummary:
		return &models.EventSummaryQuery{}
	case models.QueryGrowthPhases, models.QueryGrowthProgress:
		return &models.GrowthQuery{}
	case models.QueryCostCurrent, models.QueryCostTrend:
		return &models.CostQuery{}
	case models.QueryCostBreakdown:
		return &models.CostBreakdownQuery{}
	case models.QueryCostProjection:
		return &models.CostProjectionQuery{}
	case models.QueryBudgets:
		return &models.BudgetsQuery{}
	case models.QueryCostAlerts:
		return &models.CostAlertsQuery{}
	case models.QueryRecommendations:
		return &models.RecommendationsQuery{}
	case models.QueryLoadTests:
		return &models.LoadTestsQuery{}
	case models.QueryLoadTestResults:
		return &models.LoadTestResultsQuery{}
	case models.QueryBenchmarks:
		return &models.BenchmarksQuery{}
	case models.QueryCapacityForecast, models.QueryCapacityExhaustion:
		return &models.CapacityQuery{}
	}
	return &models.HealthQuery{}
}

// TestActionsUseForwardedRoutes: every table action calls a resource route
// the plugin serves, through Grafana's datasource resource path.
func TestActionsUseForwardedRoutes(t *testing.T) {
	t.Parallel()
	files, err := wedsync.Render()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"url": "(/api/datasources/uid/wedsync-scaling/resources/[^"]+)"`)
	allowed := regexp.MustCompile(`^/api/datasources/uid/wedsync-scaling/resources/(recommendations/\$\{__data\.fields\.id\}/(approve|implement)|events/\$\{__data\.fields\.id\}/rollback|load-tests(/\$\{__data\.fields\.id\}/cancel)?)$`)
	n := 0
	for name, b := range files {
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			n++
			if !allowed.MatchString(m[1]) {
				t.Errorf("%s: action URL %s is not a route of the plugin", name, m[1])
			}
		}
	}
	if n != 5 {
		t.Errorf("%d actions, want 5 (approve, implement, rollback, cancel, run again)", n)
	}
	var d map[string]any
	if err := json.Unmarshal(files["scaling.json"], &d); err != nil {
		t.Fatal(err)
	}
}
