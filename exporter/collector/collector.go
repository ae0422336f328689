// Package collector builds what wedsync-exporter serves on /metrics. Each
// collector (one file each: costs, budgets, projections, capacity, users
// and growth phase, custom metrics, estimates against invoices) reads
// PostgreSQL and the application database; the parent Snapshot runs them
// in the background, renders their metrics once, and serves that rendering
// to every scrape, so that scrape time depends on neither the history in
// PostgreSQL nor the speed of the databases.
package collector

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"
)

// Collector reads one kind of data and sends its metrics.
type Collector interface {
	Update(ctx context.Context, now time.Time, ch chan<- prometheus.Metric) error
}

// Kind says when a collector is run.
type Kind int

const (
	// OnCostChange collectors read cost_tracking: they run after a billing
	// source changed rows, at midnight UTC, and at start.
	OnCostChange Kind = iota
	// EverySnapshot collectors read live state (connections, users): they
	// run every snapshot interval.
	EverySnapshot
)

const namespace = "wedsync"

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

// gauge exports a decimal. Prometheus has no other type than float64:
// this is the exposition boundary, where exact values become samples.
func gauge(d *prometheus.Desc, v decimal.Decimal, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v.InexactFloat64(), labels...)
}

func gaugeF(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// yesterday is the last complete UTC day: the day "daily" values are of.
func yesterday(now time.Time) time.Time {
	return now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
}
