package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lease is an autoscaler replica's claim to be alive, renewed by its
// heartbeat. Work a replica owns (unfinished events, running load tests) is
// taken over by another only after the lease has expired — Kubernetes'
// coordination leases and River's job rescuer work the same way.
type Lease struct {
	Holder      string
	StartedAt   time.Time
	HeartbeatAt time.Time
	ExpiresAt   time.Time
	// ActuatorTimeout is the longest an actuator call of the holder may
	// run: after the lease expires, a call may still be in flight this long.
	ActuatorTimeout time.Duration
}

// Heartbeat creates or renews holder's lease for ttl (from the database's
// clock, which every replica shares). An expired lease is renewed too: a
// replica whose database was unreachable for longer than its ttl stopped
// starting actuator calls when its lease ran out by its own clock (which is
// never later than the database's), and whatever another replica adopted
// meanwhile is no longer its own (CloseEvent tells it so); what nobody
// adopted is simply its own again.
func (s *Store) Heartbeat(ctx context.Context, holder string, ttl, actuatorTimeout time.Duration) (Lease, error) {
	if holder == "" || len(holder) > 200 {
		return Lease{}, fmt.Errorf("lease holder %q: must be 1 to 200 characters", holder)
	}
	var l Lease
	var ms int64
	err := s.pool.QueryRow(ctx, `INSERT INTO autoscaler_leases (holder, expires_at, actuator_timeout_ms)
		VALUES ($1, now() + make_interval(secs => $2), $3)
		ON CONFLICT (holder) DO UPDATE SET heartbeat_at = now(), expires_at = EXCLUDED.expires_at,
			actuator_timeout_ms = EXCLUDED.actuator_timeout_ms
		RETURNING holder, started_at, heartbeat_at, expires_at, actuator_timeout_ms`,
		holder, ttl.Seconds(), actuatorTimeout.Milliseconds()).Scan(&l.Holder, &l.StartedAt, &l.HeartbeatAt, &l.ExpiresAt, &ms)
	if err != nil {
		return Lease{}, fmt.Errorf("lease %s: %w", holder, translate(err))
	}
	l.ActuatorTimeout = time.Duration(ms) * time.Millisecond
	return l, nil
}

// ReleaseLease ends holder's lease at once (a clean shutdown, after which
// the holder never renews it): its unfinished work is taken over by the
// others after the actuator timeout, without waiting for the lease to run
// out.
func (s *Store) ReleaseLease(ctx context.Context, holder string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE autoscaler_leases SET expires_at = now() WHERE holder = $1 AND expires_at > now()`, holder); err != nil {
		return fmt.Errorf("release lease %s: %w", holder, translate(err))
	}
	return nil
}

// Leases lists the leases, live and expired, newest heartbeat first.
func (s *Store) Leases(ctx context.Context) ([]Lease, error) {
	rows, err := s.pool.Query(ctx, `SELECT holder, started_at, heartbeat_at, expires_at, actuator_timeout_ms
		FROM autoscaler_leases ORDER BY heartbeat_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", translate(err))
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var l Lease
		var ms int64
		if err := rows.Scan(&l.Holder, &l.StartedAt, &l.HeartbeatAt, &l.ExpiresAt, &ms); err != nil {
			return nil, fmt.Errorf("list leases: %w", translate(err))
		}
		l.ActuatorTimeout = time.Duration(ms) * time.Millisecond
		out = append(out, l)
	}
	return out, translate(rows.Err())
}

// Orphan is an unfinished event whose owner holds no live lease.
type Orphan struct {
	Event
	// Quiet reports that no actuator call of the dead owner can still be
	// running: its lease expired more than its actuator timeout ago (or it
	// never had a lease and the event is older than minAge). Only then may
	// the action be applied again.
	Quiet bool
}

// OrphanedEvents lists unfinished events whose owner's lease has expired
// (or that name no owner), oldest first. minAge is how old an ownerless
// event must be before its action may be applied again.
func (s *Store) OrphanedEvents(ctx context.Context, minAge time.Duration) ([]Orphan, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+`, quiet FROM (
			SELECT e.*, CASE WHEN l.holder IS NULL THEN e.started_at + make_interval(secs => $1) <= now()
			     ELSE l.expires_at + make_interval(secs => l.actuator_timeout_ms / 1000.0) <= now() END AS quiet
			FROM scaling_events e LEFT JOIN autoscaler_leases l ON l.holder = e.owner
			WHERE e.status IN ('pending', 'in_progress') AND (l.holder IS NULL OR l.expires_at < now())
		) AS scaling_events ORDER BY started_at`, minAge.Seconds())
	if err != nil {
		return nil, fmt.Errorf("list orphaned events: %w", translate(err))
	}
	defer rows.Close()
	var out []Orphan
	for rows.Next() {
		var o Orphan
		var quiet bool
		ev, err := scanEvent(scanTail{rows, &quiet})
		if err != nil {
			return nil, fmt.Errorf("list orphaned events: %w", err)
		}
		o.Event, o.Quiet = ev, quiet
		out = append(out, o)
	}
	return out, translate(rows.Err())
}

// AdoptEvent makes holder the owner of an orphaned event. It fails with a
// ConflictError when the event is finished or owned by a live lease (another
// replica adopted it first, or its owner came back), so exactly one replica
// takes an orphan over.
func (s *Store) AdoptEvent(ctx context.Context, id, holder string) (Event, error) {
	e, err := scanEvent(s.pool.QueryRow(ctx, `UPDATE scaling_events e SET owner = $2
		WHERE e.id = $1::uuid AND e.status = 'in_progress'
		  AND NOT EXISTS (SELECT 1 FROM autoscaler_leases l WHERE l.holder = e.owner AND l.expires_at >= now())
		  AND EXISTS (SELECT 1 FROM autoscaler_leases l WHERE l.holder = $2 AND l.expires_at >= now())
		RETURNING `+eventColumns, id, holder))
	if err == ErrNotFound {
		cur, gerr := s.getEvent(ctx, s.pool, id)
		if gerr != nil {
			return Event{}, gerr
		}
		state := string(cur.Status)
		if cur.Status == StatusInProgress {
			state = "owned by " + cur.Owner
		}
		return Event{}, &ConflictError{What: "scaling event " + id, State: state}
	}
	if err != nil {
		return Event{}, fmt.Errorf("adopt event %s: %w", id, err)
	}
	return e, nil
}

// scanTail scans a row of eventColumns followed by extra columns.
type scanTail struct {
	row   pgx.Row
	extra any
}

func (t scanTail) Scan(dest ...any) error { return t.row.Scan(append(dest, t.extra)...) }
