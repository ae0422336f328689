// Package store is the only place that speaks SQL. It owns the schema
// (embedded, numbered migrations) and offers typed functions over it; every
// other module reads and writes PostgreSQL through here.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sentinel errors, checked with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict means the row is not in a state that allows the change.
	ErrConflict = errors.New("conflict")
	// ErrBusy means another action on the same service is unfinished.
	ErrBusy = errors.New("another action is in progress")
	// ErrInvalid means the database refused the data itself (a CHECK
	// constraint, a NUL byte in text): the input is bad, retrying won't help.
	ErrInvalid = errors.New("invalid data")
	// ErrUnavailable means the database could not be reached; callers
	// answer "try again later" (HTTP 503) rather than "bad request".
	ErrUnavailable = errors.New("database unavailable")
)

// errNothingChanged ends an audited change that found nothing to change:
// its transaction (and the audit row) roll back and the caller says why.
var errNothingChanged = errors.New("nothing changed")

// ValidationError is input the store refuses, with a message fit for the
// caller to show (no database text): Field names the input when known.
// It is ErrInvalid.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// ConflictError carries the current state of the row that refused a change,
// so that an API can answer 409 with it.
type ConflictError struct {
	What  string // e.g. "scaling event 1234"
	State string // e.g. "rolled_back"
}

func (e *ConflictError) Error() string        { return fmt.Sprintf("%s is %s", e.What, e.State) }
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// DBTX is what both a pool and a transaction offer.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store is the typed gateway to PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to PostgreSQL. It does not migrate: call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database DSN: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Close releases the connections.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// inTx runs fn in a transaction, committing if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	return translate(tx.Commit(ctx))
}

// translate maps driver errors onto the package's sentinels at the boundary.
// Anything that is not an answer from the server (refused, reset, timed out)
// is ErrUnavailable: the caller should retry later, not blame its input.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	switch {
	case strings.HasPrefix(pgErr.Code, "08"), // connection exception
		strings.HasPrefix(pgErr.Code, "57P"),         // shutting down, cannot connect now
		strings.HasPrefix(pgErr.Code, "53"),          // insufficient resources
		pgErr.Code == "40001", pgErr.Code == "40P01": // serialization failure, deadlock: retry
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case strings.HasPrefix(pgErr.Code, "22"), // data exception
		strings.HasPrefix(pgErr.Code, "21"),          // cardinality: one row twice in one statement
		pgErr.Code == "23514", pgErr.Code == "23502": // check, not-null violation
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

func uniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && (constraint == "" || pgErr.ConstraintName == constraint)
}

// optTime is nil for the zero time: an unset bound of a time range, which
// the queries test with "$n::timestamptz IS NULL OR …".
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
