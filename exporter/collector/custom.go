package collector

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wedsync/scaling/core/store"
)

// PerformanceStore reads performance_metrics.
type PerformanceStore interface {
	LatestPerformanceMetrics(ctx context.Context, since time.Time, limit int) ([]store.PerformanceMetric, error)
}

// Custom exports the newest value of every series recorded in
// performance_metrics as wedsync_custom_<metric_name>{service, <labels>}.
// A family's label names are the union of its rows' (absent = empty, as in
// Prometheus); names that are not valid label names are rewritten.
type Custom struct {
	Store     PerformanceStore
	MaxAge    time.Duration
	MaxSeries int
	Logger    *slog.Logger
}

func (c Custom) Update(ctx context.Context, now time.Time, ch chan<- prometheus.Metric) error {
	rows, err := c.Store.LatestPerformanceMetrics(ctx, now.Add(-c.MaxAge), c.MaxSeries+1)
	if err != nil {
		return err
	}
	if len(rows) > c.MaxSeries {
		c.Logger.Warn("custom metrics beyond metrics.custom_max_series left out", "max", c.MaxSeries)
		rows = rows[:c.MaxSeries]
	}
	byName := map[string][]store.PerformanceMetric{}
	var names []string
	for _, r := range rows {
		if _, ok := byName[r.Name]; !ok {
			names = append(names, r.Name)
		}
		byName[r.Name] = append(byName[r.Name], r)
	}
	for _, name := range names {
		family := byName[name]
		keys := map[string]string{} // label name -> jsonb key
		for _, r := range family {
			for k := range r.Labels {
				keys[labelName(k)] = k
			}
		}
		labelNames := make([]string, 0, len(keys)+1)
		for l := range keys {
			labelNames = append(labelNames, l)
		}
		sort.Strings(labelNames)
		d := desc("custom_"+strings.ReplaceAll(name, ":", "_"), fmt.Sprintf("Custom metric %s from performance_metrics (unit: %s).", name, orNone(family[0].Unit)),
			append([]string{"service"}, labelNames...)...)
		for _, r := range family {
			values := []string{r.Service}
			for _, l := range labelNames {
				values = append(values, r.Labels[keys[l]])
			}
			ch <- gaugeF(d, r.Value, values...)
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// labelName makes a jsonb key a valid label name that cannot collide with
// the service label or a reserved one.
func labelName(k string) string {
	var b strings.Builder
	for i, r := range k {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "service" || s == "" || strings.HasPrefix(s, "__") {
		s = "label_" + strings.TrimLeft(s, "_")
	}
	return s
}
