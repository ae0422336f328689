package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// CapacityPlan is a stored capacity plan: the forecasts and advice of a
// moment, kept to compare with what happened.
type CapacityPlan struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Horizon   string          `json:"horizon"`
	Plan      json.RawMessage `json:"plan"`
	CreatedBy string          `json:"created_by"`
	CreatedAt time.Time       `json:"created_at"`
}

// SaveCapacityPlan stores a plan.
func (s *Store) SaveCapacityPlan(ctx context.Context, p CapacityPlan) (CapacityPlan, error) {
	err := s.audited(ctx, func(db DBTX) (string, error) {
		err := db.QueryRow(ctx, `INSERT INTO capacity_plans (name, horizon, plan, created_by) VALUES ($1, $2, $3, $4)
			RETURNING id::text, created_at`, p.Name, p.Horizon, p.Plan, p.CreatedBy).Scan(&p.ID, &p.CreatedAt)
		return p.ID, err
	})
	if err != nil {
		return CapacityPlan{}, fmt.Errorf("save capacity plan: %w", translate(err))
	}
	return p, nil
}

// ListCapacityPlans lists plans, newest first.
func (s *Store) ListCapacityPlans(ctx context.Context, limit int) ([]CapacityPlan, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT id::text, name, horizon, plan, created_by, created_at FROM capacity_plans
		ORDER BY created_at DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list capacity plans: %w", translate(err))
	}
	defer rows.Close()
	var out []CapacityPlan
	for rows.Next() {
		var p CapacityPlan
		if err := rows.Scan(&p.ID, &p.Name, &p.Horizon, &p.Plan, &p.CreatedBy, &p.CreatedAt); err != nil {
			return nil, fmt.Errorf("list capacity plans: %w", translate(err))
		}
		out = append(out, p)
	}
	return out, translate(rows.Err())
}
