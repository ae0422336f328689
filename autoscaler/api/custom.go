package api

import (
	"context"
	"math"
	"net/http"
	"regexp"
	"time"

	"github.com/wedsync/scaling/core/store"
)

// Measurements records custom metrics (performance_metrics), which the
// exporter publishes as wedsync_custom_<name>.
type Measurements interface {
	RecordPerformanceMetric(ctx context.Context, m store.PerformanceMetric) error
}

var metricNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]{0,99}$`)

type customMetricRequest struct {
	Name       string            `json:"metric_name"`
	Value      *float64          `json:"metric_value"`
	Unit       string            `json:"metric_unit"`
	Service    string            `json:"service_name"`
	Labels     map[string]string `json:"labels"`
	RecordedAt *time.Time        `json:"recorded_at"`
}

// labelNameRE is a Prometheus label name (the exporter publishes the
// labels as such), reserved __ names excluded.
var labelNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,99}$|^_[a-zA-Z0-9][a-zA-Z0-9_]{0,98}$`)

// validateText checks the unit, the labels and the time.
func (req customMetricRequest) validateText() error {
	if e := checkLen("metric_unit", req.Unit, maxUnitLen); e != nil {
		return e
	}
	for _, k := range sortedKeys(req.Labels) {
		if !labelNameRE.MatchString(k) {
			return errBadRequest("labels", "labels: %q is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", k)
		}
		if e := checkLen("labels."+k, req.Labels[k], maxLabelLen); e != nil {
			return e
		}
	}
	if req.RecordedAt != nil {
		if y := req.RecordedAt.UTC().Year(); y < minRangeYear || y > maxRangeYear {
			return errBadRequest("recorded_at", "recorded_at: %s is outside the years %d to %d", req.RecordedAt.Format(time.RFC3339), minRangeYear, maxRangeYear)
		}
	}
	return nil
}

func (s *Server) customMetric(r *request) (int, any, error) {
	var req customMetricRequest
	if err := r.decode(&req); err != nil {
		return 0, nil, err
	}
	switch {
	case !metricNameRE.MatchString(req.Name):
		return 0, nil, errBadRequest("metric_name", "metric_name: %q is not a metric name ([a-zA-Z_][a-zA-Z0-9_]*)", req.Name)
	case req.Value == nil:
		return 0, nil, errBadRequest("metric_value", "metric_value: required")
	case math.IsNaN(*req.Value) || math.IsInf(*req.Value, 0):
		return 0, nil, errBadRequest("metric_value", "metric_value: must be a finite number")
	case !serviceNameRE.MatchString(req.Service):
		return 0, nil, errBadRequest("service_name", "service_name: %q is not a service name", req.Service)
	case len(req.Labels) > maxLabels:
		return 0, nil, errBadRequest("labels", "labels: %d of them, at most %d", len(req.Labels), maxLabels)
	}
	if err := req.validateText(); err != nil {
		return 0, nil, err
	}
	m := store.PerformanceMetric{Name: req.Name, Value: *req.Value, Unit: req.Unit, Service: req.Service, Labels: req.Labels}
	if req.RecordedAt != nil {
		m.RecordedAt = *req.RecordedAt
	}
	if err := s.cfg.Measurements.RecordPerformanceMetric(r.ctx, m); err != nil {
		return 0, nil, err
	}
	r.resourceID = req.Service + "/" + req.Name
	return http.StatusCreated, map[string]any{"metric_name": req.Name, "service_name": req.Service, "metric_value": *req.Value}, nil
}
