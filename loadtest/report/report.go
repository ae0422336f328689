// Package report writes a load test's HTML report: one self-contained file
// (inline CSS, inline SVG drawn by a small inline script, no CDN: it must
// open on a machine without internet) with the summary, thresholds, the
// comparison with the baseline, and charts of latency percentiles,
// throughput, errors and users over time.
package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"time"

	"github.com/wedsync/scaling/loadtest/engine"
	"github.com/wedsync/scaling/loadtest/record"
)

//go:embed report.html.tmpl
var pageTemplate string

//go:embed charts.js
var chartsJS string

// ChartLibraryJS draws line charts as inline SVG (WedsyncCharts.draw), for
// every self-contained HTML report of the project.
//
//go:embed chartlib.js
var ChartLibraryJS string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":   func(v float64) string { return fmt.Sprintf("%.2f ms", v) },
	"num":  func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"pct":  func(v float64) string { return fmt.Sprintf("%.3f %%", v*100) },
	"int":  func(v float64) string { return fmt.Sprintf("%.0f", v) },
	"tol":  func(v float64) string { return fmt.Sprintf("%g %%", v*100) },
	"size": bytesize,
	"dur":  func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") },
	"pctp": func(v *float64) string {
		if v == nil {
			return "n/a"
		}
		return fmt.Sprintf("%+.1f %%", *v*100)
	},
	"fp": func(v *float64) string {
		if v == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.4g", *v)
	},
}).Parse(pageTemplate))

func bytesize(v float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// Input is what a report shows.
type Input struct {
	Result     *engine.Result
	LoadTestID string             // empty when not recorded
	Comparison *record.Comparison // nil without a baseline
}

type view struct {
	Input
	R           *engine.Result
	Duration    engine.Metric
	Reqs        engine.Metric
	Failed      engine.Metric
	Sent, Recv  engine.Metric
	VUs         engine.Metric
	Dropped     *engine.Metric
	Open        bool
	Closed      bool
	DataJS      template.JS
	ChartsJS    template.JS
	GeneratedAt time.Time
}

// Write renders the report.
func Write(w io.Writer, in Input) error {
	r := in.Result
	v := view{Input: in, R: r, Duration: r.Metrics["http_req_duration"], Reqs: r.Metrics["http_reqs"], Failed: r.Metrics["http_req_failed"],
		Sent: r.Metrics["data_sent"], Recv: r.Metrics["data_received"], VUs: r.Metrics["vus"], ChartsJS: template.JS(ChartLibraryJS + "\n" + chartsJS), GeneratedAt: time.Now()}
	if d, ok := r.Metrics["dropped_iterations"]; ok {
		v.Dropped = &d
	}
	for _, m := range r.Models {
		v.Open = v.Open || m.Open
		v.Closed = v.Closed || !m.Open
	}
	// The series as columns; latency gaps (no request in the tick) as null.
	type seriesData struct {
		T       []float64  `json:"t"`
		P50     []*float64 `json:"p50"`
		P90     []*float64 `json:"p90"`
		P95     []*float64 `json:"p95"`
		P99     []*float64 `json:"p99"`
		RPS     []float64  `json:"rps"`
		Errors  []float64  `json:"errors"`
		ErrRate []*float64 `json:"errorRate"`
		VUs     []float64  `json:"vus"`
		Dropped []float64  `json:"dropped"`
	}
	var sd seriesData
	nz := func(ok bool, f float64) *float64 {
		if !ok || math.IsNaN(f) {
			return nil
		}
		return &f
	}
	prev := 0.0
	for _, p := range r.Series {
		dt := p.T - prev
		prev = p.T
		has := p.Requests > 0
		sd.T = append(sd.T, round(p.T, 3))
		sd.P50, sd.P90, sd.P95, sd.P99 = append(sd.P50, nz(has, p.P50)), append(sd.P90, nz(has, p.P90)), append(sd.P95, nz(has, p.P95)), append(sd.P99, nz(has, p.P99))
		sd.RPS = append(sd.RPS, round(p.RPS, 2))
		eps := 0.0
		if dt > 0 {
			eps = float64(p.Errors) / dt
		}
		sd.Errors = append(sd.Errors, round(eps, 2))
		sd.ErrRate = append(sd.ErrRate, nz(has, float64(p.Errors)/math.Max(float64(p.Requests), 1)))
		sd.VUs = append(sd.VUs, float64(p.VUs))
		sd.Dropped = append(sd.Dropped, float64(p.Dropped))
	}
	b, err := json.Marshal(sd) // escapes <, >, & for the script context
	if err != nil {
		return err
	}
	v.DataJS = template.JS(b)
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
