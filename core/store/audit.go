package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry is one mutating API call.
type AuditEntry struct {
	ID             int64           `json:"id"`
	At             time.Time       `json:"at"`
	Actor          string          `json:"actor"`
	Role           string          `json:"role"`
	Method         string          `json:"method"`
	Path           string          `json:"path"`
	Status         int             `json:"status"`
	ResourceID     string          `json:"resource_id,omitempty"`
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
	Request        json.RawMessage `json:"request,omitempty"`
	Error          string          `json:"error,omitempty"`
}

// RecordAudit appends an entry to the audit trail.
func (s *Store) RecordAudit(ctx context.Context, e AuditEntry) error {
	var req any
	if len(e.Request) > 0 && json.Valid(e.Request) {
		req = e.Request
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_log (actor, role, method, path, status, resource_id, idempotency_key, request, error)
		VALUES ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), $8, nullif($9, ''))`,
		e.Actor, e.Role, e.Method, e.Path, e.Status, e.ResourceID, e.IdempotencyKey, req, e.Error)
	if err != nil {
		return fmt.Errorf("record audit: %w", translate(err))
	}
	return nil
}

// ListAudit lists the newest audit entries.
func (s *Store) ListAudit(ctx context.Context, limit int) ([]AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, role, method, path, status, coalesce(resource_id, ''),
			coalesce(idempotency_key, ''), request, coalesce(error, '')
		FROM audit_log ORDER BY at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", translate(err))
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Role, &e.Method, &e.Path, &e.Status, &e.ResourceID, &e.IdempotencyKey, &e.Request, &e.Error); err != nil {
			return nil, fmt.Errorf("list audit: %w", translate(err))
		}
		out = append(out, e)
	}
	return out, translate(rows.Err())
}

// Idempotent is a stored response of an acting call.
type Idempotent struct {
	RequestHash string
	Status      int // 0 while the first call is still running
	Body        json.RawMessage
}

// BeginIdempotent claims (scope, key) for a request. If the key was used
// before, it returns the stored entry and claimed=false; the caller replays
// it, refuses a different request under the same key, or reports that the
// first call is still running.
func (s *Store) BeginIdempotent(ctx context.Context, scope, key, requestHash string) (Idempotent, bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, response_status, response_body)
		VALUES ($1, $2, $3, 0, NULL) ON CONFLICT (scope, key) DO NOTHING`, scope, key, requestHash)
	if err != nil {
		return Idempotent{}, false, fmt.Errorf("idempotency key: %w", translate(err))
	}
	if tag.RowsAffected() == 1 {
		return Idempotent{}, true, nil
	}
	var e Idempotent
	err = s.pool.QueryRow(ctx, `SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE scope = $1 AND key = $2`,
		scope, key).Scan(&e.RequestHash, &e.Status, &e.Body)
	if err != nil {
		return Idempotent{}, false, fmt.Errorf("idempotency key: %w", translate(err))
	}
	return e, false, nil
}

// FinishIdempotent stores the response of a claimed key, or releases the
// claim (status < 0) when the call failed in a way worth retrying.
func (s *Store) FinishIdempotent(ctx context.Context, scope, key string, status int, body json.RawMessage) error {
	var err error
	if status < 0 {
		_, err = s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND response_status = 0`, scope, key)
	} else {
		_, err = s.pool.Exec(ctx, `UPDATE idempotency_keys SET response_status = $3, response_body = $4 WHERE scope = $1 AND key = $2`,
			scope, key, status, body)
	}
	if err != nil {
		return fmt.Errorf("idempotency key: %w", translate(err))
	}
	return nil
}
