package stack

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Query evaluates an instant PromQL query and returns its single value;
// ok is false for an empty result, NaN or an error.
func (s *Stack) Query(ctx context.Context, q string) (float64, bool) {
	v, err := s.query(ctx, q)
	if err != nil {
		return 0, false
	}
	vec, isVec := v.(model.Vector)
	if !isVec || len(vec) == 0 {
		return 0, false
	}
	f := float64(vec[0].Value)
	return f, !math.IsNaN(f)
}

// FiringAlerts lists the firing alerts Prometheus holds for a service, by name.
func (s *Stack) FiringAlerts(ctx context.Context, service string) []string {
	v, err := s.query(ctx, fmt.Sprintf(`ALERTS{alertstate="firing",scaling_service=%q}`, service))
	if err != nil {
		return nil
	}
	var names []string
	for _, smp := range v.(model.Vector) {
		names = append(names, string(smp.Metric["alertname"]))
	}
	sort.Strings(names)
	return names
}

func (s *Stack) query(ctx context.Context, q string) (model.Value, error) {
	c, err := api.NewClient(api.Config{Address: s.Prometheus.URL()})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	v, _, _, err := promv1.NewAPI(c).Query(ctx, q, time.Now())
	return v, err
}

// FirstAbove is the first time in [from, to] (at a one-second step) at which
// a one-series query was above threshold; false if it never was.
func (s *Stack) FirstAbove(ctx context.Context, q string, threshold float64, from, to time.Time) (time.Time, bool) {
	c, err := api.NewClient(api.Config{Address: s.Prometheus.URL()})
	if err != nil {
		return time.Time{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, _, _, err := promv1.NewAPI(c).QueryRange(ctx, q, promv1.Range{Start: from, End: to, Step: time.Second})
	if err != nil {
		return time.Time{}, false
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return time.Time{}, false
	}
	for _, ss := range m {
		for _, p := range ss.Values {
			if float64(p.Value) > threshold {
				return p.Timestamp.Time(), true
			}
		}
	}
	return time.Time{}, false
}
