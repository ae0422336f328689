package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// AuditEntry is one mutating API call. Status 0 marks a call whose change
// committed (with this row, in its transaction) but whose answer could not
// be recorded afterwards.
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

// RecordAudit appends an entry to the audit trail: for calls that changed
// nothing (refusals, replays, dry runs). A call that changes something has
// its row written in the change's own transaction (WithAudit).
func (s *Store) RecordAudit(ctx context.Context, e AuditEntry) error {
	_, err := insertAudit(ctx, s.pool, e)
	return err
}

// insertAudit writes e. A refused request is audited too, so what cannot be
// stored as text (invalid UTF-8, NUL) is replaced rather than failing the
// insert, and a request body PostgreSQL's jsonb would refuse is left out.
func insertAudit(ctx context.Context, db DBTX, e AuditEntry) (int64, error) {
	var req any
	if storableJSON(e.Request) {
		req = e.Request
	}
	var id int64
	err := db.QueryRow(ctx, `INSERT INTO audit_log (actor, role, method, path, status, resource_id, idempotency_key, request, error)
		VALUES ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), $8, nullif($9, '')) RETURNING id`,
		storableText(e.Actor), storableText(e.Role), storableText(e.Method), storableText(e.Path), e.Status,
		storableText(e.ResourceID), storableText(e.IdempotencyKey), req, storableText(e.Error)).Scan(&id)
	if err != nil {
		// A refused audit row is the server's failure, not bad input: only
		// "database unavailable" (retry later) is passed on as such.
		if err = translate(err); errors.Is(err, ErrUnavailable) {
			return 0, fmt.Errorf("record audit: %w", err)
		}
		return 0, fmt.Errorf("record audit: %v", err)
	}
	return id, nil
}

// FinishAudit completes the row an audited change wrote in its transaction
// with the call's answer.
func (s *Store) FinishAudit(ctx context.Context, id int64, status int, resourceID, errMsg string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE audit_log SET status = $2, resource_id = coalesce(nullif($3, ''), resource_id),
		error = nullif($4, '') WHERE id = $1`, id, status, storableText(resourceID), storableText(errMsg))
	if err != nil {
		return fmt.Errorf("finish audit %d: %w", id, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("finish audit %d: %w", id, ErrNotFound)
	}
	return nil
}

// storableText is s as PostgreSQL text can hold it.
func storableText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// storableJSON reports whether jsonb accepts b: valid JSON in valid UTF-8
// without a \u0000 escape (jsonb refuses it; `\\u0000`, a backslash then
// "u0000", is fine).
func storableJSON(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) || !json.Valid(b) {
		return false
	}
	for i := 0; i+6 <= len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if string(b[i+1:i+6]) == "u0000" {
			return false
		}
		i++ // the escaped character, whatever it is, is not an escape
	}
	return true
}

// pendingAudit is the audit row of the API call a ctx belongs to, until a
// change writes it.
type pendingAudit struct {
	mu    sync.Mutex
	entry AuditEntry
	id    int64 // the row, once written
	// tentative is the row written in a transaction not yet committed.
	tentative int64
}

type auditKey struct{}

// WithAudit returns a ctx under which the first audited change (creating or
// updating a budget, a phase, a recommendation, a load test, a token, a
// custom metric, a capacity plan, a scaling event) writes e in its own
// transaction: the change and its audit row commit or fail together.
// AuditWritten tells the caller whether that happened.
func WithAudit(ctx context.Context, e AuditEntry) context.Context {
	return context.WithValue(ctx, auditKey{}, &pendingAudit{entry: e})
}

// CarryAudit gives to, a context that outlives the call (a run's), the
// audit of from's call, so that the change the run begins with writes it.
func CarryAudit(to, from context.Context) context.Context {
	if p, ok := from.Value(auditKey{}).(*pendingAudit); ok {
		return context.WithValue(to, auditKey{}, p)
	}
	return to
}

// AuditWritten is the id of the audit row a change wrote under ctx.
func AuditWritten(ctx context.Context) (int64, bool) {
	p, ok := ctx.Value(auditKey{}).(*pendingAudit)
	if !ok {
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.id, p.id != 0
}

// BeginAudit writes ctx's pending audit row now, for an action that no
// transaction of this package records (a signal to a running load test):
// audited before it runs.
func (s *Store) BeginAudit(ctx context.Context) error {
	p := pendingFrom(ctx)
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.id != 0 {
		return nil
	}
	id, err := insertAudit(ctx, s.pool, p.entry)
	if err != nil {
		return err
	}
	p.id = id
	return nil
}

func pendingFrom(ctx context.Context) *pendingAudit {
	p, _ := ctx.Value(auditKey{}).(*pendingAudit)
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.id != 0 {
		return nil
	}
	return p
}

// audited runs a change: on the pool as before when no audit is pending,
// else in a transaction with the pending audit row. fn returns the id of
// what it changed, for the row's resource_id.
func (s *Store) audited(ctx context.Context, fn func(db DBTX) (string, error)) error {
	if pendingFrom(ctx) == nil {
		_, err := fn(s.pool)
		return err
	}
	return s.inAuditedTx(ctx, func(tx pgx.Tx) (string, error) { return fn(tx) })
}

// inAuditedTx is inTx for a change made on behalf of an audited call: the
// pending audit row (if any) is written in the same transaction and marked
// written only once that commits.
func (s *Store) inAuditedTx(ctx context.Context, fn func(tx pgx.Tx) (string, error)) error {
	p := pendingFrom(ctx)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rid, err := fn(tx)
		if err != nil {
			return err
		}
		return p.write(ctx, tx, rid)
	})
	p.committed(err)
	return err
}

// write inserts the pending row in tx (nothing for a nil p), resource_id
// defaulting to rid. It counts as written once committed(nil) says the
// transaction committed.
func (p *pendingAudit) write(ctx context.Context, tx DBTX, rid string) error {
	if p == nil {
		return nil
	}
	e := p.entry
	if e.ResourceID == "" {
		e.ResourceID = rid
	}
	id, err := insertAudit(ctx, tx, e)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.tentative = id
	p.mu.Unlock()
	return nil
}

// committed records the outcome of the transaction write ran in.
func (p *pendingAudit) committed(err error) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && p.tentative != 0 {
		p.id = p.tentative
	}
	p.tentative = 0
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
