package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
)

// AppDB is the application's own database (WedSync's Supabase Postgres),
// read for user counts and capacity. Every statement runs in a read-only
// transaction under a statement timeout: the queries come from a config
// file, and a slow or mistaken one must not load or change the database
// the product runs on.
type AppDB struct {
	pool    *pgxpool.Pool
	timeout time.Duration
}

// OpenAppDB connects with at most two connections (the exporter is one
// more client of a database whose connections are counted).
func OpenAppDB(ctx context.Context, dsn string, timeout time.Duration) (*AppDB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse application database DSN: %w", err)
	}
	cfg.MaxConns = 2
	cfg.ConnConfig.RuntimeParams["application_name"] = "wedsync-exporter"
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to the application database: %w", err)
	}
	return &AppDB{pool: pool, timeout: timeout}, nil
}

// Close releases the connections.
func (a *AppDB) Close() { a.pool.Close() }

// Ping checks that the database answers.
func (a *AppDB) Ping(ctx context.Context) error {
	if err := a.pool.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// readOnly runs fn in a read-only transaction with the statement timeout.
func (a *AppDB) readOnly(ctx context.Context, fn func(tx pgx.Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, a.timeout+time.Second)
	defer cancel()
	return pgx.BeginTxFunc(ctx, a.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('statement_timeout', $1, true)", fmt.Sprintf("%dms", a.timeout.Milliseconds())); err != nil {
			return err
		}
		return fn(tx)
	})
}

// Number runs a query that must return one row of one numeric column (a
// count, a sum of bytes) and returns it. The query runs as a scalar
// subquery, so PostgreSQL itself refuses a second row or column, and a
// statement that writes cannot even be written there.
func (a *AppDB) Number(ctx context.Context, query string) (decimal.Decimal, error) {
	query = strings.TrimRight(strings.TrimSpace(query), "; \t\n")
	var v *string
	err := a.readOnly(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT ("+query+"\n)::text").Scan(&v)
	})
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("application database: %w", translate(err))
	}
	if v == nil {
		return decimal.Decimal{}, fmt.Errorf("application database: query returned no row or NULL: %w", ErrNotFound)
	}
	d, err := decimal.NewFromString(*v)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("application database: query returned %q, not a number: %w", *v, ErrInvalid)
	}
	return d, nil
}

// Connections returns the client connections open on the server and its
// max_connections less the slots reserved for superusers: what an
// application can really use.
func (a *AppDB) Connections(ctx context.Context) (used, limit int64, err error) {
	err = a.readOnly(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
			current_setting('max_connections')::bigint - current_setting('superuser_reserved_connections')::bigint`).Scan(&used, &limit)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("application database connections: %w", translate(err))
	}
	return used, limit, nil
}

// DatabaseSize returns the size of the current database in bytes.
func (a *AppDB) DatabaseSize(ctx context.Context) (int64, error) {
	var n int64
	err := a.readOnly(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("application database size: %w", translate(err))
	}
	return n, nil
}
