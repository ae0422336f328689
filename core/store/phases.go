package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Phase is a growth phase (startup, growth, scale, enterprise by default).
type Phase struct {
	ID                    string
	Name                  string
	Order                 int
	MinUsers              int
	MaxUsers              *int // nil: no upper bound
	Active                bool
	AutoTransitionEnabled bool
	ScalingConfig         json.RawMessage
	PerformanceTargets    json.RawMessage
	Description           string
	ActivatedAt           *time.Time
}

// ListPhases lists the growth phases in order.
func (s *Store) ListPhases(ctx context.Context) ([]Phase, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text, phase_name, phase_order, min_users, max_users, is_active,
			auto_transition_enabled, scaling_config, performance_targets, description, activated_at
		FROM growth_phases ORDER BY phase_order`)
	if err != nil {
		return nil, fmt.Errorf("list phases: %w", translate(err))
	}
	defer rows.Close()
	var out []Phase
	for rows.Next() {
		var p Phase
		if err := rows.Scan(&p.ID, &p.Name, &p.Order, &p.MinUsers, &p.MaxUsers, &p.Active, &p.AutoTransitionEnabled,
			&p.ScalingConfig, &p.PerformanceTargets, &p.Description, &p.ActivatedAt); err != nil {
			return nil, fmt.Errorf("list phases: %w", translate(err))
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list phases: %w", translate(err))
	}
	return out, nil
}
