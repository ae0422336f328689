package wedsync_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/dashboards/panelquery"
	"github.com/wedsync/scaling/dashboards/wedsync"
	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
	"github.com/wedsync/scaling/grafana-plugin/pkg/plugin"
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
	for _, r := range recordingRules(t) {
		add(r.file, r.Record)
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
	for _, want := range []string{"service:http_request_duration_seconds:p95", "wedsync_users", "wedsync_autoscaler_decisions_total", "wedsync_load_vus", "job:up:avg_1h",
		// Read by the learned bands, the SLO panels and the p50 beside the p95.
		"baseline:level", "baseline:upper_band", "baseline:lower_band", "baseline:expected",
		"slo:period_error_budget_remaining:ratio", "slo:current_burn_rate:ratio", "service:http_request_duration_seconds:p50"} {
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

// actionJSON is a rendered table action and the panel it is on.
type actionJSON struct {
	Title     string `json:"title"`
	Variables []struct {
		Key string `json:"key"`
	} `json:"variables"`
	Fetch struct {
		Method  string     `json:"method"`
		URL     string     `json:"url"`
		Body    string     `json:"body"`
		Headers [][]string `json:"headers"`
	} `json:"fetch"`
}

type actionPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		QueryType string `json:"queryType"`
		Status    string `json:"status"`
	} `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Actions []actionJSON `json:"actions"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
}

func renderedActions(t *testing.T) map[string][]actionPanel {
	t.Helper()
	files, err := wedsync.Render()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]actionPanel{}
	for name, b := range files {
		var d struct {
			Panels []actionPanel `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = d.Panels
	}
	return out
}

// TestActionsUseForwardedRoutes: every table action calls a resource route
// the plugin serves (plugin.ActionRoutes, the owner), through Grafana's
// datasource resource path, with the row's id and an Idempotency-Key.
func TestActionsUseForwardedRoutes(t *testing.T) {
	t.Parallel()
	routes := plugin.ActionRoutes()
	prefix := "/api/datasources/uid/" + wedsync.PluginUID + "/resources"
	n := 0
	for name, panels := range renderedActions(t) {
		for _, p := range panels {
			for _, a := range p.FieldConfig.Defaults.Actions {
				n++
				path, ok := strings.CutPrefix(a.Fetch.URL, prefix)
				route := a.Fetch.Method + " " + strings.ReplaceAll(path, "${__data.fields.id}", "{id}")
				if !ok || !slices.Contains(routes, route) {
					t.Errorf("%s %q %q: %s %s is not a route of the plugin (%v)", name, p.Title, a.Title, a.Fetch.Method, a.Fetch.URL, routes)
				}
				if !slices.ContainsFunc(a.Fetch.Headers, func(h []string) bool { return len(h) == 2 && h[0] == "Idempotency-Key" && h[1] != "" }) {
					t.Errorf("%s %q %q: no Idempotency-Key", name, p.Title, a.Title)
				}
			}
		}
	}
	if n != 8 {
		t.Errorf("%d actions, want 8 (approve, implement, reject, retry, rollback of failed, rollback of completed, cancel, run again)", n)
	}
}

// TestRejectAsksForAReason: the API refuses a rejection without a reason,
// so the action asks the person for one (an action variable) and sends it.
func TestRejectAsksForAReason(t *testing.T) {
	t.Parallel()
	found := 0
	for name, panels := range renderedActions(t) {
		for _, p := range panels {
			for _, a := range p.FieldConfig.Defaults.Actions {
				if !strings.HasSuffix(a.Fetch.URL, "/reject") {
					continue
				}
				found++
				var body map[string]string
				if err := json.Unmarshal([]byte(a.Fetch.Body), &body); err != nil || body["reason"] != "${reason}" ||
					len(a.Variables) != 1 || a.Variables[0].Key != "reason" {
					t.Errorf("%s %q: body %q, variables %+v", name, p.Title, a.Fetch.Body, a.Variables)
				}
			}
		}
	}
	if found != 1 {
		t.Errorf("%d reject actions, want 1", found)
	}
}

// TestEventActionsMatchTheirStatus: Grafana's table actions apply to every
// row, so an event action is only on a table filtered to the statuses the
// API takes for it — retry: failed; rollback: completed or failed — and
// both are offered.
func TestEventActionsMatchTheirStatus(t *testing.T) {
	t.Parallel()
	takes := map[string][]string{
		"retry":    {string(store.StatusFailed)},
		"rollback": {string(store.StatusCompleted), string(store.StatusFailed)},
	}
	offered := map[string]map[string]bool{"retry": {}, "rollback": {}}
	for name, panels := range renderedActions(t) {
		for _, p := range panels {
			for _, a := range p.FieldConfig.Defaults.Actions {
				verb := a.Fetch.URL[strings.LastIndex(a.Fetch.URL, "/")+1:]
				if !strings.Contains(a.Fetch.URL, "/events/") {
					continue
				}
				ok := len(p.Targets) == 1 && p.Targets[0].QueryType == "scaling_events" && slices.Contains(takes[verb], p.Targets[0].Status)
				if !ok {
					t.Errorf("%s %q: %s offered on %+v, want one scaling_events query with status in %v", name, p.Title, verb, p.Targets, takes[verb])
					continue
				}
				offered[verb][p.Targets[0].Status] = true
				if a.Fetch.Body != `{"dry_run": false}` {
					t.Errorf("%s %q: %s body %s", name, p.Title, verb, a.Fetch.Body)
				}
			}
		}
	}
	for verb, statuses := range takes {
		for _, st := range statuses {
			if !offered[verb][st] {
				t.Errorf("%s is not offered on %s events", verb, st)
			}
		}
	}
}

// panelJSON is what the tests below read of a rendered panel.
type panelJSON struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Repeat  string `json:"repeat"`
	Targets []struct {
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
		Instant      bool   `json:"instant"`
	} `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit       string `json:"unit"`
			Thresholds struct {
				Steps []struct {
					Value *float64 `json:"value"`
					Color string   `json:"color"`
				} `json:"steps"`
			} `json:"thresholds"`
		} `json:"defaults"`
		Overrides []struct {
			Matcher struct {
				ID      string `json:"id"`
				Options string `json:"options"`
			} `json:"matcher"`
			Properties []struct {
				ID    string `json:"id"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
}

type renderedDashboard struct {
	Panels     []panelJSON `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			IncludeAll bool   `json:"includeAll"`
			AllValue   string `json:"allValue"`
		} `json:"list"`
	} `json:"templating"`
}

func rendered(t *testing.T, file string) renderedDashboard {
	t.Helper()
	files, err := wedsync.Render()
	if err != nil {
		t.Fatal(err)
	}
	var d renderedDashboard
	if err := json.Unmarshal(files[file], &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return d
}

func panelTitled(t *testing.T, d renderedDashboard, file, title string) panelJSON {
	t.Helper()
	for _, p := range d.Panels {
		if p.Title == title {
			return p
		}
	}
	t.Fatalf("%s has no panel %q", file, title)
	return panelJSON{}
}

// selector is one vector selector of an expression: its metric name and
// label matchers (label → "op value").
type selector struct {
	name     string
	matchers map[string]string
}

func selectors(t *testing.T, expr string) []selector {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("%q does not parse: %v", expr, err)
	}
	var out []selector
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			s := selector{name: vs.Name, matchers: map[string]string{}}
			for _, m := range vs.LabelMatchers {
				if m.Name != labels.MetricName {
					s.matchers[m.Name] = m.Type.String() + m.Value
				}
			}
			out = append(out, s)
		}
		return nil
	})
	return out
}

// recordingRule is one recording rule of rules/dist/production.
type recordingRule struct {
	file   string
	Record string            `yaml:"record"`
	Labels map[string]string `yaml:"labels"`
}

// recordingRules reads every recording rule the production rules define.
func recordingRules(t *testing.T) []recordingRule {
	t.Helper()
	var out []recordingRule
	for _, f := range glob(t, "../../rules/dist/production/*.rules.yml") {
		var doc struct {
			Groups []struct {
				Rules []recordingRule `yaml:"rules"`
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
					r.file = f
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// recordedSignals are the signal labels the rules record baseline:level
// with (rules/dist/production).
func recordedSignals(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, r := range recordingRules(t) {
		if r.Record == "baseline:level" && r.Labels["signal"] != "" {
			out[r.Labels["signal"]] = true
		}
	}
	return out
}

// TestLearnedBands: Overview and Scaling draw, in a row repeated per
// $service, every signal against its learned band: the series, the
// midline and the band's edges of that signal (a signal the rules record),
// with the area between the edges filled (fillBelowTo from the upper edge
// to the lower's display name).
func TestLearnedBands(t *testing.T) {
	t.Parallel()
	recorded := recordedSignals(t)
	if len(wedsync.Signals) != 4 {
		t.Errorf("%d signals, want 4 (request rate, p95 latency, error ratio, CPU)", len(wedsync.Signals))
	}
	for _, s := range wedsync.Signals {
		if !recorded[s.Name] {
			t.Errorf("signal %q: the rules record no baseline:level with it (they record %v)", s.Name, recorded)
		}
	}
	for _, file := range []string{"overview.json", "scaling.json"} {
		d := rendered(t, file)
		hasVar := false
		for _, v := range d.Templating.List {
			hasVar = hasVar || (v.Name == "service" && v.IncludeAll && v.AllValue == ".+")
		}
		if !hasVar {
			t.Errorf("%s: no $service variable (with All as .+)", file)
		}
		// The panels of the repeated row: from it to the next row.
		var inRow []panelJSON
		for i, p := range d.Panels {
			if p.Type == "row" && p.Repeat == "service" {
				for _, q := range d.Panels[i+1:] {
					if q.Type == "row" {
						break
					}
					inRow = append(inRow, q)
				}
				break
			}
		}
		if len(inRow) == 0 {
			t.Errorf("%s: no row repeated per service", file)
			continue
		}
		for _, s := range wedsync.Signals {
			var p *panelJSON
			for i := range inRow {
				for _, tg := range inRow[i].Targets {
					for _, sel := range selectors(t, tg.Expr) {
						if sel.name == "baseline:level" && sel.matchers["signal"] == `=`+s.Name {
							p = &inRow[i]
						}
					}
				}
			}
			if p == nil {
				t.Errorf("%s: no panel of the repeated row draws baseline:level{signal=%q}", file, s.Name)
				continue
			}
			legend := map[string]string{} // metric → legend
			for _, tg := range p.Targets {
				for _, sel := range selectors(t, tg.Expr) {
					if sel.matchers["signal"] != `=`+s.Name {
						t.Errorf("%s / %s: %s selects signal %q, want %q", file, p.Title, sel.name, sel.matchers["signal"], "="+s.Name)
					}
					if sel.matchers["service"] != `=~$service` {
						t.Errorf("%s / %s: %s is not limited to $service", file, p.Title, sel.name)
					}
					legend[sel.name] = tg.LegendFormat
				}
			}
			for _, m := range []string{"baseline:level", "baseline:expected", "baseline:upper_band", "baseline:lower_band"} {
				if legend[m] == "" {
					t.Errorf("%s / %s: does not draw %s (with a legend)", file, p.Title, m)
				}
			}
			if p.FieldConfig.Defaults.Unit != s.Unit {
				t.Errorf("%s / %s: unit %q, want %q", file, p.Title, p.FieldConfig.Defaults.Unit, s.Unit)
			}
			fill := ""
			for _, o := range p.FieldConfig.Overrides {
				if o.Matcher.ID != "byName" || o.Matcher.Options != legend["baseline:upper_band"] {
					continue
				}
				for _, pr := range o.Properties {
					if pr.ID == "custom.fillBelowTo" {
						fill, _ = pr.Value.(string)
					}
				}
			}
			if fill == "" || fill != legend["baseline:lower_band"] {
				t.Errorf("%s / %s: the upper band (%q) fills below to %q, want the lower band (%q)", file, p.Title,
					legend["baseline:upper_band"], fill, legend["baseline:lower_band"])
			}
		}
	}
}

// TestErrorBudgetPanel: the Overview shows every SLO's remaining error
// budget as a share, red once overspent (below 0) and orange below 25 %.
func TestErrorBudgetPanel(t *testing.T) {
	t.Parallel()
	d := rendered(t, "overview.json")
	p := panelTitled(t, d, "overview.json", "Error budget remaining")
	if len(p.Targets) != 1 || !p.Targets[0].Instant {
		t.Fatalf("want one instant query, have %+v", p.Targets)
	}
	sels := selectors(t, p.Targets[0].Expr)
	if len(sels) != 1 || sels[0].name != "slo:period_error_budget_remaining:ratio" {
		t.Errorf("reads %v, want slo:period_error_budget_remaining:ratio", sels)
	}
	if !strings.Contains(p.Targets[0].Expr, "by (service, slo)") || !strings.Contains(p.Targets[0].LegendFormat, "{{slo}}") {
		t.Errorf("%q (%q) does not keep service and slo apart", p.Targets[0].Expr, p.Targets[0].LegendFormat)
	}
	if p.FieldConfig.Defaults.Unit != "percentunit" {
		t.Errorf("unit %q, want percentunit", p.FieldConfig.Defaults.Unit)
	}
	var got []string
	for _, st := range p.FieldConfig.Defaults.Thresholds.Steps {
		v := "base"
		if st.Value != nil {
			v = strconv.FormatFloat(*st.Value, 'g', -1, 64)
		}
		got = append(got, v+":"+st.Color)
	}
	if want := []string{"base:red", "0:orange", "0.25:green"}; !slices.Equal(got, want) {
		t.Errorf("thresholds %v, want %v", got, want)
	}
}

// TestLatencyPanelsShowP50: the response-time panels draw p50 beside p95.
func TestLatencyPanelsShowP50(t *testing.T) {
	t.Parallel()
	for file, title := range map[string]string{"overview.json": "API p95 latency against 2 s", "scaling.json": "p95 latency"} {
		p := panelTitled(t, rendered(t, file), file, title)
		reads := map[string]bool{}
		for _, tg := range p.Targets {
			for _, sel := range selectors(t, tg.Expr) {
				reads[sel.name] = true
			}
		}
		for _, m := range []string{"service:http_request_duration_seconds:p95", "service:http_request_duration_seconds:p50"} {
			if !reads[m] {
				t.Errorf("%s / %s does not read %s", file, title, m)
			}
		}
	}
}
