package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestAppDB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The application's users live in its own tables; here, a stand-in.
	for _, m := range []store.PerformanceMetric{{Name: "a", Service: "x"}, {Name: "b", Service: "x"}, {Name: "c", Service: "y"}} {
		if err := s.RecordPerformanceMetric(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	app, err := store.OpenAppDB(ctx, dsn, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if err := app.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		want  string // number, or a piece of the error
	}{
		{"SELECT count(*) FROM performance_metrics", "3"},
		{"SELECT count(*) FROM performance_metrics WHERE service_name = 'x';\n", "2"},
		{"SELECT 12.5::numeric", "12.5"},
		{"SELECT 7::int2", "7"},
		{"SELECT service_name FROM performance_metrics", "more than one row"},
		{"SELECT 1, 2", "subquery must return only one column"},
		{"SELECT 'many'", "not a number"},
		{"SELECT 1 WHERE false", "no row or NULL"},
		{"DELETE FROM performance_metrics RETURNING 1", "syntax error"},
		{"SELECT count(*) FROM pg_sleep(2)", "statement timeout"},
	}
	for _, tt := range tests {
		got, err := app.Number(ctx, tt.query)
		if err != nil {
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%q: error %v, want %q", tt.query, err, tt.want)
			}
			continue
		}
		if got.String() != tt.want {
			t.Errorf("%q = %s, want %s", tt.query, got, tt.want)
		}
	}
	// Read-only even where the statement could write.
	if _, err := app.Number(ctx, "SELECT count(*) FROM (SELECT nextval('no_such_seq')) s"); err == nil {
		t.Error("nextval ran")
	}
	used, limit, err := app.Connections(ctx)
	if err != nil || used < 1 || limit < used {
		t.Errorf("connections %d/%d %v", used, limit, err)
	}
	size, err := app.DatabaseSize(ctx)
	if err != nil || size < 1<<20 {
		t.Errorf("size %d %v", size, err)
	}

	bad, err := store.OpenAppDB(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, err := bad.Number(ctx, "SELECT 1"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("unreachable database: %v", err)
	}
}
