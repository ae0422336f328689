package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// CapacitySample is one row of capacity_metrics.
type CapacitySample struct {
	Resource            string // database_connections, database_storage, storage, bandwidth, ...
	Service             string
	Used                float64
	Max                 float64
	Unit                string
	ProjectedExhaustion *time.Time
	RecordedAt          time.Time
}

// RecordCapacity appends a capacity sample (RecordedAt zero: now).
func (s *Store) RecordCapacity(ctx context.Context, c CapacitySample) error {
	var at *time.Time
	if !c.RecordedAt.IsZero() {
		at = &c.RecordedAt
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO capacity_metrics (resource_type, service_name, current_usage, max_capacity, unit, projected_exhaustion_at, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, now()))`, c.Resource, c.Service, c.Used, c.Max, c.Unit, c.ProjectedExhaustion, at)
	if err != nil {
		return fmt.Errorf("record capacity of %s/%s: %w", c.Service, c.Resource, translate(err))
	}
	return nil
}

// CapacityHistory returns a resource's samples since a time, oldest first.
func (s *Store) CapacityHistory(ctx context.Context, resource, service string, since time.Time) ([]CapacitySample, error) {
	rows, err := s.pool.Query(ctx, `SELECT resource_type, service_name, current_usage::float8, max_capacity::float8, unit,
			projected_exhaustion_at, recorded_at
		FROM capacity_metrics WHERE resource_type = $1 AND service_name = $2 AND recorded_at >= $3
		ORDER BY recorded_at`, resource, service, since)
	if err != nil {
		return nil, fmt.Errorf("capacity history of %s/%s: %w", service, resource, translate(err))
	}
	defer rows.Close()
	var out []CapacitySample
	for rows.Next() {
		var c CapacitySample
		if err := rows.Scan(&c.Resource, &c.Service, &c.Used, &c.Max, &c.Unit, &c.ProjectedExhaustion, &c.RecordedAt); err != nil {
			return nil, fmt.Errorf("capacity history: %w", translate(err))
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("capacity history: %w", translate(err))
	}
	return out, nil
}

// PerformanceMetric is a row of performance_metrics: a custom measurement
// recorded by any component.
type PerformanceMetric struct {
	Name       string
	Value      float64
	Unit       string
	Service    string
	Labels     map[string]string
	RecordedAt time.Time
}

// RecordPerformanceMetric appends a measurement (RecordedAt zero: now).
func (s *Store) RecordPerformanceMetric(ctx context.Context, m PerformanceMetric) error {
	labels, err := json.Marshal(orEmpty(m.Labels))
	if err != nil {
		return err
	}
	var at *time.Time
	if !m.RecordedAt.IsZero() {
		at = &m.RecordedAt
	}
	err = s.audited(ctx, func(db DBTX) (string, error) {
		_, err := db.Exec(ctx, `INSERT INTO performance_metrics (metric_name, metric_value, metric_unit, service_name, labels, recorded_at)
			VALUES ($1, $2, $3, $4, $5, coalesce($6, now()))`, m.Name, m.Value, m.Unit, m.Service, labels, at)
		return m.Service + "/" + m.Name, err
	})
	if err != nil {
		return fmt.Errorf("record metric %s: %w", m.Name, translate(err))
	}
	return nil
}

// LatestPerformanceMetrics returns the newest value of every (name,
// service, labels) recorded since a time, at most limit of them, ordered by
// name, service and labels.
func (s *Store) LatestPerformanceMetrics(ctx context.Context, since time.Time, limit int) ([]PerformanceMetric, error) {
	rows, err := s.pool.Query(ctx, `SELECT metric_name, metric_value, metric_unit, service_name, labels, recorded_at FROM (
			SELECT DISTINCT ON (metric_name, service_name, labels) metric_name, metric_value, metric_unit, service_name, labels, recorded_at
			FROM performance_metrics WHERE recorded_at >= $1
			ORDER BY metric_name, service_name, labels, recorded_at DESC
		) latest ORDER BY metric_name, service_name, labels::text LIMIT $2`, since, limit)
	if err != nil {
		return nil, fmt.Errorf("latest performance metrics: %w", translate(err))
	}
	defer rows.Close()
	var out []PerformanceMetric
	for rows.Next() {
		var m PerformanceMetric
		var labels map[string]any
		if err := rows.Scan(&m.Name, &m.Value, &m.Unit, &m.Service, &labels, &m.RecordedAt); err != nil {
			return nil, fmt.Errorf("latest performance metrics: %w", translate(err))
		}
		m.Labels = make(map[string]string, len(labels))
		for k, v := range labels {
			if s, ok := v.(string); ok {
				m.Labels[k] = s
			} else {
				b, _ := json.Marshal(v)
				m.Labels[k] = string(b)
			}
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest performance metrics: %w", translate(err))
	}
	return out, nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
