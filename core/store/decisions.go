package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Decision is the record of one evaluation of a service while an alert
// asked for action: what was seen, what was wanted, and why it did or did
// not act.
type Decision struct {
	ID      int64
	Service string
	At      time.Time
	Outcome string // decision.Outcomes (autoscaler/decision owns the list)
	Action  EventType
	Current json.RawMessage
	Desired json.RawMessage
	Inputs  json.RawMessage
	Reason  string
	EventID string
}

// RecordDecision appends a decision.
func (s *Store) RecordDecision(ctx context.Context, d Decision) error {
	return insertDecision(ctx, s.pool, d)
}

func insertDecision(ctx context.Context, db DBTX, d Decision) error {
	var eventID *string
	if d.EventID != "" {
		eventID = &d.EventID
	}
	_, err := db.Exec(ctx, `INSERT INTO scaling_decisions
		(service_name, outcome, scaling_action, current_state, desired_state, inputs, reason, event_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8::uuid)`,
		d.Service, d.Outcome, d.Action, jsonOrEmpty(d.Current), jsonOrEmpty(d.Desired), jsonOrEmpty(d.Inputs), d.Reason, eventID)
	if err != nil {
		return fmt.Errorf("record decision for %s: %w", d.Service, translate(err))
	}
	return nil
}

// ListDecisions lists a service's decisions (all services for ""), newest first.
func (s *Store) ListDecisions(ctx context.Context, service string, limit int) ([]Decision, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT id, service_name, decided_at, outcome, scaling_action, current_state,
			desired_state, inputs, reason, coalesce(event_id::text, '')
		FROM scaling_decisions WHERE ($1 = '' OR service_name = $1)
		ORDER BY decided_at DESC, id DESC LIMIT $2`, service, limit)
	if err != nil {
		return nil, fmt.Errorf("list decisions: %w", translate(err))
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		var d Decision
		if err := rows.Scan(&d.ID, &d.Service, &d.At, &d.Outcome, &d.Action, &d.Current, &d.Desired, &d.Inputs, &d.Reason, &d.EventID); err != nil {
			return nil, fmt.Errorf("list decisions: %w", translate(err))
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list decisions: %w", translate(err))
	}
	return out, nil
}
