// Package storetest gives tests a migrated store on a real PostgreSQL. One
// server is started per test binary, on first use; every test gets its own
// database cloned from a migrated template, so tests run in parallel and
// never see each other's rows.
package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
)

const template = "wedsync_template"

var (
	once     sync.Once
	server   *devstack.Postgres
	startErr error
	seq      atomic.Int64
)

// Main runs the tests and stops the server afterwards. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if server != nil {
		server.Close()
	}
	return code
}

// Server returns the shared server, starting it on first use.
func Server(tb testing.TB) *devstack.Postgres {
	tb.Helper()
	once.Do(func() {
		ctx := context.Background()
		server, startErr = devstack.StartPostgres(ctx, devstack.PostgresOptions{})
		if startErr != nil {
			return
		}
		startErr = prepareTemplate(ctx, server)
	})
	if startErr != nil {
		tb.Fatalf("start PostgreSQL: %v", startErr)
	}
	return server
}

func prepareTemplate(ctx context.Context, pg *devstack.Postgres) error {
	dsn, err := pg.CreateDatabase(ctx, template)
	if err != nil {
		return err
	}
	s, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	return nil
}

// DSN creates a fresh migrated database for the test and returns its DSN.
func DSN(tb testing.TB) string {
	tb.Helper()
	pg := Server(tb)
	ctx := context.Background()
	name := fmt.Sprintf("t%d_%s", seq.Add(1), sanitize(tb.Name()))
	c, err := pgx.Connect(ctx, pg.DSN("postgres"))
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+template); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	return pg.DSN(name)
}

// New returns a store on a fresh migrated database, closed at test end.
func New(tb testing.TB) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), DSN(tb))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

func sanitize(name string) string {
	name = strings.ToLower(name)
	var b strings.Builder
	for _, r := range name {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// NewDurable starts a PostgreSQL of its own with fsync and synchronous
// commit on, for benchmarks whose figures must mean something, and returns
// a store on a migrated database of it. Both are stopped at test end.
func NewDurable(tb testing.TB) (*store.Store, *devstack.Postgres) {
	tb.Helper()
	ctx := context.Background()
	pg, err := devstack.StartPostgres(ctx, devstack.PostgresOptions{Durable: true})
	if err != nil {
		tb.Fatalf("start PostgreSQL: %v", err)
	}
	tb.Cleanup(func() { pg.Close() })
	dsn, err := pg.CreateDatabase(ctx, "bench")
	if err != nil {
		tb.Fatal(err)
	}
	s, err := store.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	if _, err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return s, pg
}
