package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
)

// EventType is what a scaling event did; the values are the alert label
// scaling_action's.
type EventType string

const (
	EventScaleUp      EventType = "scale_up"
	EventScaleDown    EventType = "scale_down"
	EventMigration    EventType = "migration"
	EventOptimization EventType = "optimization"
)

// EventStatus is where a scaling event is in its life.
type EventStatus string

const (
	StatusInProgress EventStatus = "in_progress"
	StatusCompleted  EventStatus = "completed"
	StatusFailed     EventStatus = "failed"
	StatusRolledBack EventStatus = "rolled_back"
)

// NewEvent is what is written before an action runs.
type NewEvent struct {
	Type              EventType
	Service           string
	TriggerReason     string
	TriggerMetrics    json.RawMessage // the decision's inputs
	Before            json.RawMessage
	After             json.RawMessage
	InitiatedBy       string // autoscaler, manual, rollback, phase_transition, recommendation, scheduled
	InitiatedUserID   string
	CostImpactMonthly decimal.NullDecimal
	// Owner is the autoscaler replica (its lease holder) that runs the
	// action; only it finishes the event while its lease lives.
	Owner string
	// RetryOf is the failed event this one retries.
	RetryOf string
	// Decision, when set, is the evaluation that started the action: it is
	// written in the event's transaction (linked to it), so a crash never
	// leaves an event without its why.
	Decision *Decision
	// Recommendation, when set, is the approved recommendation this
	// action implements: linked in the event's transaction, settled in its
	// close's (settleRecommendation).
	Recommendation string
}

// Event is a row of scaling_events.
type Event struct {
	ID                string
	Type              EventType
	Service           string
	TriggerReason     string
	TriggerMetrics    json.RawMessage
	Before            json.RawMessage
	After             json.RawMessage
	Status            EventStatus
	InitiatedBy       string
	InitiatedUserID   string
	CostImpactMonthly decimal.NullDecimal
	ErrorMessage      string
	RollbackOf        string
	RolledBackBy      string
	Owner             string
	RetryOf           string
	StartedAt         time.Time
	CompletedAt       *time.Time
	RolledBackAt      *time.Time
	DurationMS        *int64
}

const eventColumns = `id::text, event_type, service_name, trigger_reason, trigger_metrics, before_config, after_config,
	status, initiated_by, coalesce(initiated_user_id, ''), cost_impact_monthly::text, coalesce(error_message, ''),
	coalesce(rollback_of::text, ''), coalesce(rolled_back_by::text, ''), coalesce(owner, ''), coalesce(retry_of::text, ''),
	started_at, completed_at, rolled_back_at, duration_ms`

func scanEvent(row pgx.Row) (Event, error) {
	// Plain destinations: pgx reads named string types and pointers to
	// pointers through reflection, which was most of the time of listing
	// 1,000 events.
	var (
		e                       Event
		typ, status             string
		cost                    pgtype.Text
		completed, rolledBackAt pgtype.Timestamptz
		duration                pgtype.Int8
	)
	err := row.Scan(&e.ID, &typ, &e.Service, &e.TriggerReason, rawJSON(&e.TriggerMetrics), rawJSON(&e.Before), rawJSON(&e.After),
		&status, &e.InitiatedBy, &e.InitiatedUserID, &cost, &e.ErrorMessage,
		&e.RollbackOf, &e.RolledBackBy, &e.Owner, &e.RetryOf, &e.StartedAt, &completed, &rolledBackAt, &duration)
	if err != nil {
		return Event{}, translate(err)
	}
	e.Type, e.Status = EventType(typ), EventStatus(status)
	if completed.Valid {
		e.CompletedAt = &completed.Time
	}
	if rolledBackAt.Valid {
		e.RolledBackAt = &rolledBackAt.Time
	}
	if duration.Valid {
		e.DurationMS = &duration.Int64
	}
	var costText *string
	if cost.Valid {
		costText = &cost.String
	}
	if e.CostImpactMonthly, err = parseNullDecimal(costText); err != nil {
		return Event{}, fmt.Errorf("event %s: cost_impact_monthly: %w", e.ID, err)
	}
	return e, nil
}

// rawJSON scans a json/jsonb column as its bytes. Scanned into a
// *json.RawMessage, pgx runs json.Unmarshal on it, which re-validates what
// PostgreSQL already validated: a third of the time of listing 1,000 events.
func rawJSON(m *json.RawMessage) *[]byte { return (*[]byte)(m) }

func nullDecimalText(d decimal.NullDecimal) *string {
	if !d.Valid {
		return nil
	}
	s := d.Decimal.String()
	return &s
}

func jsonOrEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	return b
}

func insertEvent(ctx context.Context, db DBTX, e NewEvent, rollbackOf *string) (Event, error) {
	row := db.QueryRow(ctx, `INSERT INTO scaling_events
		(event_type, service_name, trigger_reason, trigger_metrics, before_config, after_config, status,
		 initiated_by, initiated_user_id, cost_impact_monthly, rollback_of, owner, retry_of)
		VALUES ($1, $2, $3, $4, $5, $6, 'in_progress', $7, nullif($8, ''), $9::numeric, $10::uuid, nullif($11, ''), nullif($12, '')::uuid)
		RETURNING `+eventColumns,
		e.Type, e.Service, e.TriggerReason, jsonOrEmpty(e.TriggerMetrics), jsonOrEmpty(e.Before), jsonOrEmpty(e.After),
		e.InitiatedBy, e.InitiatedUserID, nullDecimalText(e.CostImpactMonthly), rollbackOf, e.Owner, e.RetryOf)
	ev, err := scanEvent(row)
	if uniqueViolation(err, "scaling_events_one_unfinished") {
		return Event{}, fmt.Errorf("%s: %w", e.Service, ErrBusy)
	}
	if uniqueViolation(err, "scaling_events_one_rollback") {
		return Event{}, &ConflictError{What: "scaling event " + *rollbackOf, State: "already being rolled back"}
	}
	if uniqueViolation(err, "scaling_events_one_retry") {
		return Event{}, &ConflictError{What: "scaling event " + e.RetryOf, State: "already retried"}
	}
	if err != nil {
		return Event{}, fmt.Errorf("insert scaling event: %w", err)
	}
	return ev, nil
}

// BeginEvent records an action as in_progress before it runs. It fails with
// ErrBusy while another action on the same service is unfinished: that
// constraint is what makes actions exactly-once across duplicate
// notifications and autoscaler replicas.
//
// Under WithAudit, the call's audit row is written in the same transaction.
func (s *Store) BeginEvent(ctx context.Context, e NewEvent) (Event, error) {
	audit := pendingFrom(ctx)
	if e.Decision == nil && audit == nil && e.Recommendation == "" && e.RetryOf == "" {
		return insertEvent(ctx, s.pool, e, nil)
	}
	var out Event
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if out, err = insertEvent(ctx, tx, e, nil); err != nil {
			return err
		}
		if e.Decision != nil {
			d := *e.Decision
			d.EventID = out.ID
			if err := insertDecision(ctx, tx, d); err != nil {
				return err
			}
		}
		if err := linkEventRecommendation(ctx, tx, e, out); err != nil {
			return err
		}
		return audit.write(ctx, tx, out.ID)
	})
	audit.committed(err)
	return out, err
}

// BeginRollback records the rollback of a completed or failed event as a
// new in_progress event (a failed action may have half-applied: undoing it
// is as legitimate as undoing a completed one). The original must not be
// already rolled back or being rolled back; otherwise a ConflictError says
// what state it is in.
func (s *Store) BeginRollback(ctx context.Context, originalID string, e NewEvent) (Event, error) {
	var out Event
	audit := pendingFrom(ctx) // written in this transaction, if any
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		orig, err := scanEvent(tx.QueryRow(ctx, `SELECT `+eventColumns+` FROM scaling_events WHERE id = $1::uuid FOR UPDATE`, originalID))
		if err != nil {
			return fmt.Errorf("scaling event %s: %w", originalID, err)
		}
		if orig.Status != StatusCompleted && orig.Status != StatusFailed {
			return &ConflictError{What: "scaling event " + originalID, State: string(orig.Status)}
		}
		if orig.Service != e.Service {
			return fmt.Errorf("rollback of %s must act on service %q, not %q", originalID, orig.Service, e.Service)
		}
		if out, err = insertEvent(ctx, tx, e, &originalID); err != nil {
			return err
		}
		return audit.write(ctx, tx, out.ID)
	})
	audit.committed(err)
	return out, err
}

// FinishEvent moves an in_progress event to completed or failed. Completing
// a rollback marks the event it rolled back as rolled_back in the same
// transaction.
func (s *Store) FinishEvent(ctx context.Context, id string, status EventStatus, errMsg string) (Event, error) {
	return s.CloseEvent(ctx, id, "", status, errMsg)
}

// CloseEvent is FinishEvent by the event's owner: it fails with a
// ConflictError (State "owned by <holder>") when another replica has taken
// the event over, so a replica whose lease lapsed never overwrites the
// outcome its successor recorded. owner "" closes whatever the owner.
func (s *Store) CloseEvent(ctx context.Context, id, owner string, status EventStatus, errMsg string) (Event, error) {
	if status != StatusCompleted && status != StatusFailed {
		return Event{}, fmt.Errorf("finish event %s: status %q is not final", id, status)
	}
	if status == StatusFailed && errMsg == "" {
		errMsg = "failed without a message"
	}
	var out Event
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanEvent(tx.QueryRow(ctx, `UPDATE scaling_events
			SET status = $2, error_message = nullif($3, ''), completed_at = now()
			WHERE id = $1::uuid AND status = 'in_progress' AND ($4 = '' OR owner IS NULL OR owner = $4)
			RETURNING `+eventColumns, id, status, errMsg, owner))
		if err == ErrNotFound {
			cur, gerr := s.getEvent(ctx, tx, id)
			if gerr != nil {
				return gerr
			}
			if cur.Status == StatusInProgress {
				return &ConflictError{What: "scaling event " + id, State: "owned by " + cur.Owner}
			}
			return &ConflictError{What: "scaling event " + id, State: string(cur.Status)}
		}
		if err != nil {
			return fmt.Errorf("finish event %s: %w", id, err)
		}
		if status == StatusCompleted && out.RollbackOf != "" {
			if _, err := tx.Exec(ctx, `UPDATE scaling_events
				SET status = 'rolled_back', rolled_back_by = $2::uuid, rolled_back_at = now()
				WHERE id = $1::uuid AND status IN ('completed', 'failed')`, out.RollbackOf, out.ID); err != nil {
				return fmt.Errorf("mark %s rolled back: %w", out.RollbackOf, translate(err))
			}
			if err := unsettleRecommendation(ctx, tx, out); err != nil {
				return err
			}
		}
		return settleRecommendation(ctx, tx, out)
	})
	return out, err
}

// ExtendEvent raises the target of an unfinished scale-up before the
// actuator is asked for it: the autoscaler tracks its target while replicas
// are still provisioning (as HPA does), and the event must already say what
// is being applied. note is appended to the trigger reason. A ConflictError
// says the event is no longer in progress.
func (s *Store) ExtendEvent(ctx context.Context, id string, after json.RawMessage, costImpact decimal.NullDecimal, note string) (Event, error) {
	e, err := scanEvent(s.pool.QueryRow(ctx, `UPDATE scaling_events
		SET after_config = $2, cost_impact_monthly = $3::numeric, trigger_reason = trigger_reason || $4
		WHERE id = $1::uuid AND status = 'in_progress' AND event_type = 'scale_up'
		RETURNING `+eventColumns, id, after, nullDecimalText(costImpact), "; "+note))
	if err == ErrNotFound {
		cur, gerr := s.getEvent(ctx, s.pool, id)
		if gerr != nil {
			return Event{}, gerr
		}
		return Event{}, &ConflictError{What: "scaling event " + id, State: string(cur.Status)}
	}
	if err != nil {
		return Event{}, fmt.Errorf("extend event %s: %w", id, err)
	}
	return e, nil
}

// GetEvent reads one event.
func (s *Store) GetEvent(ctx context.Context, id string) (Event, error) {
	return s.getEvent(ctx, s.pool, id)
}

func (s *Store) getEvent(ctx context.Context, db DBTX, id string) (Event, error) {
	e, err := scanEvent(db.QueryRow(ctx, `SELECT `+eventColumns+` FROM scaling_events WHERE id = $1::uuid`, id))
	if err != nil {
		return Event{}, fmt.Errorf("scaling event %s: %w", id, err)
	}
	return e, nil
}

// UnfinishedEvents lists in_progress events, oldest first: what a restarted
// autoscaler must reconcile against the actuators' real state.
func (s *Store) UnfinishedEvents(ctx context.Context) ([]Event, error) {
	return s.listEvents(ctx, 0, `SELECT `+eventColumns+` FROM scaling_events WHERE status IN ('pending', 'in_progress') ORDER BY started_at`)
}

// LastFinishedEvent is the most recent finished event of a service —
// completed, rolled back or failed — for cooldowns: a failed action waits
// out the cooldown too, instead of being retried every pass. ErrNotFound if
// there is none.
func (s *Store) LastFinishedEvent(ctx context.Context, service string) (Event, error) {
	return scanEvent(s.pool.QueryRow(ctx, `SELECT `+eventColumns+` FROM scaling_events
		WHERE service_name = $1 AND status IN ('completed', 'rolled_back', 'failed')
		ORDER BY completed_at DESC LIMIT 1`, service))
}

// EventFilter selects events for listing, newest first.
type EventFilter struct {
	Service string
	Status  EventStatus
	Type    EventType
	From    time.Time // inclusive, zero = unbounded
	To      time.Time // exclusive, zero = unbounded
	Limit   int       // default 100, at most 1000
	// After continues a listing after the last event of the previous page
	// (keyset pagination: stable while new events arrive).
	After *EventCursor
}

// EventCursor is the position of an event in the newest-first order.
type EventCursor struct {
	StartedAt time.Time
	ID        string
}

// ListEvents lists events matching f, newest first.
func (s *Store) ListEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	from, to := optTime(f.From), optTime(f.To)
	var afterAt *time.Time
	var afterID *string
	if f.After != nil {
		afterAt, afterID = &f.After.StartedAt, &f.After.ID
	}
	return s.listEvents(ctx, limit, `SELECT `+eventColumns+` FROM scaling_events
		WHERE ($1 = '' OR service_name = $1) AND ($2 = '' OR status = $2) AND ($3 = '' OR event_type = $3)
		  AND ($4::timestamptz IS NULL OR started_at >= $4) AND ($5::timestamptz IS NULL OR started_at < $5)
		  AND ($6::timestamptz IS NULL OR (started_at, id) < ($6, $7::uuid))
		ORDER BY started_at DESC, id DESC LIMIT $8`, f.Service, string(f.Status), string(f.Type), from, to, afterAt, afterID, limit)
}

// listEvents runs a query of eventColumns; expect is how many rows it may
// return (0: unknown). Growing the slice row by row copied the events over
// and over: a fifth of the time of a list of 1,000.
func (s *Store) listEvents(ctx context.Context, expect int, sql string, args ...any) ([]Event, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list scaling events: %w", translate(err))
	}
	defer rows.Close()
	out := make([]Event, 0, expect)
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("list scaling events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list scaling events: %w", translate(err))
	}
	return out, nil
}
