package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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
	rows, err := s.pool.Query(ctx, `SELECT `+phaseColumns+` FROM growth_phases ORDER BY phase_order`)
	if err != nil {
		return nil, fmt.Errorf("list phases: %w", translate(err))
	}
	defer rows.Close()
	var out []Phase
	for rows.Next() {
		p, err := scanPhase(rows)
		if err != nil {
			return nil, fmt.Errorf("list phases: %w", err)
		}
		out = append(out, p)
	}
	return out, translate(rows.Err())
}

const phaseColumns = `id::text, phase_name, phase_order, min_users, max_users, is_active,
	auto_transition_enabled, scaling_config, performance_targets, description, activated_at`

func scanPhase(row interface{ Scan(...any) error }) (Phase, error) {
	var p Phase
	err := row.Scan(&p.ID, &p.Name, &p.Order, &p.MinUsers, &p.MaxUsers, &p.Active, &p.AutoTransitionEnabled,
		&p.ScalingConfig, &p.PerformanceTargets, &p.Description, &p.ActivatedAt)
	return p, translate(err)
}

// GetPhase reads a phase by id or by name.
func (s *Store) GetPhase(ctx context.Context, idOrName string) (Phase, error) {
	p, err := scanPhase(s.pool.QueryRow(ctx, `SELECT `+phaseColumns+` FROM growth_phases
		WHERE phase_name = $1 OR id::text = $1`, idOrName))
	if err != nil {
		return Phase{}, fmt.Errorf("growth phase %s: %w", idOrName, err)
	}
	return p, nil
}

// ActivePhase is the phase in force.
func (s *Store) ActivePhase(ctx context.Context) (Phase, error) {
	p, err := scanPhase(s.pool.QueryRow(ctx, `SELECT `+phaseColumns+` FROM growth_phases WHERE is_active`))
	if err != nil {
		return Phase{}, fmt.Errorf("active growth phase: %w", err)
	}
	return p, nil
}

// ActivatePhase makes a phase the active one. Activating the active phase
// is a ConflictError in state "active".
func (s *Store) ActivatePhase(ctx context.Context, id string) (Phase, error) {
	var out Phase
	err := s.inAuditedTx(ctx, func(tx pgx.Tx) (string, error) {
		p, err := scanPhase(tx.QueryRow(ctx, `SELECT `+phaseColumns+` FROM growth_phases WHERE id::text = $1 FOR UPDATE`, id))
		if err != nil {
			return "", fmt.Errorf("growth phase %s: %w", id, err)
		}
		if p.Active {
			return "", &ConflictError{What: "growth phase " + p.Name, State: "active"}
		}
		if _, err := tx.Exec(ctx, `UPDATE growth_phases SET is_active = false, updated_at = now() WHERE is_active`); err != nil {
			return "", translate(err)
		}
		out, err = scanPhase(tx.QueryRow(ctx, `UPDATE growth_phases SET is_active = true, activated_at = now(), updated_at = now()
			WHERE id::text = $1 RETURNING `+phaseColumns, id))
		return id, err
	})
	return out, err
}

// PhaseUpdate changes what is set of a phase's editable fields.
type PhaseUpdate struct {
	ScalingConfig         json.RawMessage
	PerformanceTargets    json.RawMessage
	AutoTransitionEnabled *bool
	MinUsers              *int
	MaxUsers              *int
	ClearMaxUsers         bool // no upper bound
}

// UpdatePhase edits a phase; the database's checks (bounds, JSON objects)
// refuse bad values as ErrInvalid.
func (s *Store) UpdatePhase(ctx context.Context, id string, u PhaseUpdate) (Phase, error) {
	var cfg, targets any
	if len(u.ScalingConfig) > 0 {
		cfg = u.ScalingConfig
	}
	if len(u.PerformanceTargets) > 0 {
		targets = u.PerformanceTargets
	}
	var p Phase
	err := s.audited(ctx, func(db DBTX) (string, error) {
		var err error
		p, err = scanPhase(db.QueryRow(ctx, `UPDATE growth_phases SET
			scaling_config = coalesce($2, scaling_config),
			performance_targets = coalesce($3, performance_targets),
			auto_transition_enabled = coalesce($4, auto_transition_enabled),
			min_users = coalesce($5, min_users),
			max_users = CASE WHEN $7 THEN NULL ELSE coalesce($6, max_users) END,
			updated_at = now()
		WHERE id::text = $1 RETURNING `+phaseColumns, id, cfg, targets, u.AutoTransitionEnabled, u.MinUsers, u.MaxUsers, u.ClearMaxUsers))
		return id, err
	})
	if err != nil {
		return Phase{}, fmt.Errorf("update growth phase %s: %w", id, err)
	}
	return p, nil
}
