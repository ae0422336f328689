package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"

	"github.com/wedsync/scaling/loadtest/report"
)

// maxChartPoints bounds each series: a two-week trace has 20,160 minutes,
// more than a chart's width can show.
const maxChartPoints = 1500

// p95Cap is where a chart draws a p95 that is beyond it (or infinite: every
// request of the minute refused).
const p95Cap = 10.0

var colors = map[string]string{Reactive: "#e45756", Level: "#72b7b2", Predictive: "#4c78a8", Scheduled: "#54a24b", HPA: "#b279a2"}

var page = template.Must(template.New("replay").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Replay of {{.R.Service}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 12px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e3e5ee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.chart-box { border: 1px solid #e3e5ee; border-radius: 6px; padding: 8px; margin: 12px 0; max-width: 1100px; }
.chart-box h3 { font-size: 14px; margin: 0 0 4px; }
svg.chart { width: 100%; height: 300px; display: block; }
svg .grid { stroke: #eee; } svg .axis { stroke: #999; } svg text { font-size: 10px; fill: #555; }
svg .series { fill: none; stroke-width: 1.2; }
.legend span { margin-right: 14px; font-size: 12px; } .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.note { color: #666; font-size: 12px; }
</style></head><body>
<h1>Replay of {{.R.Service}}</h1>
<p class="note">Trace of {{.R.TraceDuration}} from {{.R.TraceStart.Format "2006-01-02 15:04 MST"}} at {{.R.TraceStep}} steps;
{{.R.CapacityPerReplica}} req/s per replica, ready after {{.R.ReadyAfter}}. Every strategy runs the autoscaler's own decision code on a simulated fleet.</p>
<table id="strategies">
<tr><th>strategy</th><th>SLO-violation minutes (p95 &gt; 2 s)</th><th>replica-hours</th><th>actions</th><th>flaps</th><th>forecast MAPE</th><th>refused requests</th></tr>
{{range .Rows}}<tr data-strategy="{{.Name}}"><td>{{.Name}}</td><td>{{printf "%.0f" .R.SLOViolationMinutes}}</td><td>{{printf "%.1f" .R.ReplicaHours}}</td><td>{{.R.Actions}}</td><td>{{.R.Flaps}}</td><td>{{.MAPE}}</td><td>{{printf "%.0f" .R.Refused}}</td></tr>
{{end}}</table>
<noscript><p>The charts are drawn by a small script in this file; enable JavaScript to see them.</p></noscript>
<div class="chart-box"><h3>Offered load and capacity per strategy (req/s)</h3><div id="chart-capacity" data-chart="capacity"></div></div>
<div class="chart-box"><h3>p95 latency per strategy (s; refused requests count as failed, shown at {{.Cap}} s)</h3><div id="chart-p95" data-chart="p95"></div></div>
<script>
const DATA = {{.Data}};
{{.Lib}}
WedsyncCharts.draw("chart-capacity", DATA.t, DATA.capacity, { x: "time" });
WedsyncCharts.draw("chart-p95", DATA.t, DATA.p95, { x: "time" });
</script>
</body></html>
`))

type chartSeries struct {
	Name   string     `json:"name"`
	Color  string     `json:"color"`
	Values []*float64 `json:"values"`
}

// WriteHTML renders the report as one self-contained page: the summary
// table and two charts (load with each strategy's capacity, each
// strategy's p95).
func (r *Report) WriteHTML(w io.Writer) error {
	names := r.Sorted()
	if len(names) == 0 {
		return fmt.Errorf("html: no strategy in the report")
	}
	n := len(r.Strategies[names[0]].Minutes)
	k := max(1, (n+maxChartPoints-1)/maxChartPoints)
	var data struct {
		T        []int64       `json:"t"`
		Capacity []chartSeries `json:"capacity"`
		P95      []chartSeries `json:"p95"`
	}
	load := chartSeries{Name: "offered load", Color: "#333333"}
	caps := make([]chartSeries, len(names))
	lats := make([]chartSeries, len(names))
	for i, name := range names {
		caps[i] = chartSeries{Name: name, Color: colors[name]}
		lats[i] = chartSeries{Name: name, Color: colors[name]}
	}
	for b := 0; b*k < n; b++ {
		lo, hi := b*k, min((b+1)*k, n)
		data.T = append(data.T, r.Strategies[names[0]].Minutes[lo].At.Unix())
		var l float64
		for _, m := range r.Strategies[names[0]].Minutes[lo:hi] {
			l = math.Max(l, m.Load)
		}
		load.Values = append(load.Values, num(l))
		for i, name := range names {
			ms := r.Strategies[name].Minutes
			var c, p float64
			seen := false
			for _, m := range ms[lo:min(hi, len(ms))] {
				c += m.Capacity
				if !math.IsNaN(m.P95) {
					p, seen = math.Max(p, math.Min(m.P95, p95Cap)), true
				}
			}
			caps[i].Values = append(caps[i].Values, num(c/float64(hi-lo)))
			if seen {
				lats[i].Values = append(lats[i].Values, num(p))
			} else {
				lats[i].Values = append(lats[i].Values, nil)
			}
		}
	}
	data.Capacity = append([]chartSeries{load}, caps...)
	data.P95 = lats
	b, err := json.Marshal(data) // escapes <, >, & for the script context
	if err != nil {
		return err
	}
	type row struct {
		Name string
		R    *Result
		MAPE string
	}
	var rows []row
	for _, name := range names {
		s := r.Strategies[name]
		mape := "–"
		if s.ForecastMAPE != nil {
			mape = fmt.Sprintf("%.1f %%", 100**s.ForecastMAPE)
		}
		rows = append(rows, row{name, s, mape})
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, map[string]any{"R": r, "Rows": rows, "Data": template.JS(b), "Lib": template.JS(report.ChartLibraryJS),
		"Cap": p95Cap}); err != nil {
		return fmt.Errorf("render replay report: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func num(v float64) *float64 {
	v = math.Round(v*1000) / 1000
	return &v
}
