package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	upDesc = prometheus.NewDesc("wedsync_exporter_source_up",
		"Whether the last refresh of the billing source succeeded (1) or failed (0).", []string{"source"}, nil)
	durationDesc = prometheus.NewDesc("wedsync_exporter_source_duration_seconds",
		"How long the last refresh of the billing source took.", []string{"source"}, nil)
	lastSuccessDesc = prometheus.NewDesc("wedsync_exporter_source_last_success_timestamp_seconds",
		"When the billing source was last refreshed successfully (Unix time).", []string{"source"}, nil)
	rowsDesc = prometheus.NewDesc("wedsync_exporter_source_rows",
		"Cost lines written by the last successful refresh of the billing source.", []string{"source"}, nil)
	rowErrorsDesc = prometheus.NewDesc("wedsync_exporter_source_row_errors",
		"Rows the last refresh of the billing source refused (malformed, wrong currency, negative).", []string{"source"}, nil)
	refreshesDesc = prometheus.NewDesc("wedsync_exporter_source_refreshes_total",
		"Refreshes of the billing source, by result.", []string{"source", "result"}, nil)
)

// Collector exports the health of every runner. It reads in-memory state
// only, so it costs nothing at scrape time.
type Collector struct{ Runners []*Runner }

func (c Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{upDesc, durationDesc, lastSuccessDesc, rowsDesc, rowErrorsDesc, refreshesDesc} {
		ch <- d
	}
}

func (c Collector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.Runners {
		s := r.Status()
		up := 0.0
		if s.Up {
			up = 1
		}
		// Before the first attempt ends the source is not known good.
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up, r.Name)
		ch <- prometheus.MustNewConstMetric(refreshesDesc, prometheus.CounterValue, float64(s.Successes), r.Name, "success")
		ch <- prometheus.MustNewConstMetric(refreshesDesc, prometheus.CounterValue, float64(s.Failures), r.Name, "failure")
		if !s.Attempted {
			continue
		}
		ch <- prometheus.MustNewConstMetric(durationDesc, prometheus.GaugeValue, s.Duration.Seconds(), r.Name)
		ch <- prometheus.MustNewConstMetric(rowErrorsDesc, prometheus.GaugeValue, float64(s.RowErrors), r.Name)
		if !s.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, float64(s.LastSuccess.UnixNano())/1e9, r.Name)
			ch <- prometheus.MustNewConstMetric(rowsDesc, prometheus.GaugeValue, float64(s.Rows), r.Name)
		}
	}
}
