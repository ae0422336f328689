package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// An audited change and its audit row commit together or not at all. The
// database is made to refuse one actor's audit rows (a CHECK added for the
// test), so that the audit insert itself fails inside each change's
// transaction: the change must be gone too. With an accepted actor, the row
// is there once, written by the change (AuditWritten), with the change's
// resource id and — same transaction, same now() — the change's time.
func TestAuditedChangesCommitWithTheirAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `ALTER TABLE audit_log ADD CONSTRAINT test_refuses_actor CHECK (actor <> 'refused')`); err != nil {
		t.Fatal(err)
	}
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}

	// What the changes act on.
	budget, err := s.CreateBudget(ctx, store.Budget{Name: "seed", Limit: decimal.RequireFromString("10")}, "t")
	if err != nil {
		t.Fatal(err)
	}
	growth, err := s.GetPhase(ctx, "growth")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.OfferRecommendation(ctx, store.Recommendation{Type: "rightsizing", Service: "api", Title: "fewer",
		CurrentConfig: json.RawMessage(`{"replicas": 6}`), RecommendedConfig: json.RawMessage(`{"replicas": 3}`),
		EstimatedMonthlyImpact: decimal.NewNullDecimal(decimal.RequireFromString("-1")), Confidence: decimal.RequireFromString("0.5"), Effort: "low", Priority: "low"})
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "web", TriggerReason: "seed", InitiatedBy: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishEvent(ctx, done.ID, store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateToken(ctx, "victim", store.RoleViewer, "t"); err != nil {
		t.Fatal(err)
	}
	limit := decimal.RequireFromString("99")
	minUsers := 1500

	tests := []struct {
		name string
		// change makes the change under ctx and returns its resource id.
		change func(ctx context.Context) (string, error)
		// changed counts the rows that show the change.
		changed string
		args    []any
		// at is the change's own timestamp column, compared with the audit row's.
		at string
	}{
		{"create budget", func(ctx context.Context) (string, error) {
			b, err := s.CreateBudget(ctx, store.Budget{Name: "new", Limit: limit}, "t")
			return b.ID, err
		}, `SELECT count(*) FROM cost_budgets WHERE budget_name = 'new'`, nil, `SELECT created_at FROM cost_budgets WHERE budget_name = 'new'`},
		{"update budget", func(ctx context.Context) (string, error) {
			_, err := s.UpdateBudget(ctx, budget.ID, store.BudgetUpdate{Limit: &limit})
			return budget.ID, err
		}, `SELECT count(*) FROM cost_budgets WHERE budget_name = 'seed' AND budget_limit = 99`, nil, `SELECT updated_at FROM cost_budgets WHERE budget_name = 'seed'`},
		{"update phase", func(ctx context.Context) (string, error) {
			_, err := s.UpdatePhase(ctx, growth.ID, store.PhaseUpdate{MinUsers: &minUsers})
			return growth.ID, err
		}, `SELECT count(*) FROM growth_phases WHERE min_users = 1500`, nil, `SELECT updated_at FROM growth_phases WHERE min_users = 1500`},
		{"activate phase", func(ctx context.Context) (string, error) {
			_, err := s.ActivatePhase(ctx, growth.ID)
			return growth.ID, err
		}, `SELECT count(*) FROM growth_phases WHERE phase_name = 'growth' AND is_active`, nil, `SELECT activated_at FROM growth_phases WHERE phase_name = 'growth'`},
		{"approve recommendation", func(ctx context.Context) (string, error) {
			_, err := s.MoveRecommendation(ctx, rec.ID, []string{"pending"}, "approved", "t", "")
			return rec.ID, err
		}, `SELECT count(*) FROM optimization_recommendations WHERE status = 'approved'`, nil, `SELECT approved_at FROM optimization_recommendations`},
		{"start load test", func(ctx context.Context) (string, error) {
			lt, err := s.StartLoadTest(ctx, store.NewLoadTest{Name: "lt", Type: "baseline", TargetURL: "http://x"})
			return lt.ID, err
		}, `SELECT count(*) FROM load_tests`, nil, `SELECT started_at FROM load_tests`},
		{"custom metric", func(ctx context.Context) (string, error) {
			return "api/m", s.RecordPerformanceMetric(ctx, store.PerformanceMetric{Name: "m", Value: 1, Service: "api"})
		}, `SELECT count(*) FROM performance_metrics WHERE metric_name = 'm'`, nil, `SELECT recorded_at FROM performance_metrics WHERE metric_name = 'm'`},
		{"capacity plan", func(ctx context.Context) (string, error) {
			p, err := s.SaveCapacityPlan(ctx, store.CapacityPlan{Name: "p", Horizon: "90d", Plan: json.RawMessage(`{}`), CreatedBy: "t"})
			return p.ID, err
		}, `SELECT count(*) FROM capacity_plans`, nil, `SELECT created_at FROM capacity_plans`},
		{"create token", func(ctx context.Context) (string, error) {
			_, _, err := s.CreateToken(ctx, "new-token", store.RoleViewer, "t")
			return "new-token", err
		}, `SELECT count(*) FROM api_tokens WHERE name = 'new-token'`, nil, `SELECT created_at FROM api_tokens WHERE name = 'new-token'`},
		{"revoke token", func(ctx context.Context) (string, error) {
			return "victim", s.RevokeToken(ctx, "victim")
		}, `SELECT count(*) FROM api_tokens WHERE name = 'victim' AND revoked_at IS NOT NULL`, nil, `SELECT revoked_at FROM api_tokens WHERE name = 'victim'`},
		{"begin event", func(ctx context.Context) (string, error) {
			ev, err := s.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "manual", InitiatedBy: "manual"})
			return ev.ID, err
		}, `SELECT count(*) FROM scaling_events WHERE service_name = 'api'`, nil, `SELECT started_at FROM scaling_events WHERE service_name = 'api'`},
		{"begin rollback", func(ctx context.Context) (string, error) {
			ev, err := s.BeginRollback(ctx, done.ID, store.NewEvent{Type: store.EventScaleDown, Service: "web", TriggerReason: "rollback", InitiatedBy: "rollback"})
			return ev.ID, err
		}, `SELECT count(*) FROM scaling_events WHERE rollback_of IS NOT NULL`, nil, `SELECT started_at FROM scaling_events WHERE rollback_of IS NOT NULL`},
	}
	for _, tc := range tests {
		entry := store.AuditEntry{Actor: "refused", Role: "admin", Method: "POST", Path: "/" + tc.name, Request: json.RawMessage(`{"a": 1}`)}
		refused := store.WithAudit(ctx, entry)
		if _, err := tc.change(refused); err == nil {
			t.Errorf("%s: the change succeeded though its audit row was refused", tc.name)
		}
		if n := count(tc.changed, tc.args...); n != 0 {
			t.Errorf("%s: changed (%d rows) without its audit row", tc.name, n)
		}
		if _, ok := store.AuditWritten(refused); ok {
			t.Errorf("%s: audit marked written after a rollback", tc.name)
		}

		entry.Actor = "accepted"
		accepted := store.WithAudit(ctx, entry)
		id, err := tc.change(accepted)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		rowID, ok := store.AuditWritten(accepted)
		if !ok || count(tc.changed, tc.args...) != 1 {
			t.Errorf("%s: audit written %v, change rows %d", tc.name, ok, count(tc.changed, tc.args...))
			continue
		}
		var resource string
		var auditAt, changeAt time.Time
		if err := db.QueryRow(ctx, `SELECT resource_id, at FROM audit_log WHERE id = $1 AND path = $2 AND status = 0`, rowID, entry.Path).
			Scan(&resource, &auditAt); err != nil {
			t.Errorf("%s: audit row %d: %v", tc.name, rowID, err)
			continue
		}
		if err := db.QueryRow(ctx, tc.at).Scan(&changeAt); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if resource != id || !auditAt.Equal(changeAt) {
			t.Errorf("%s: audit resource %q at %s; change %q at %s (one transaction has one now())", tc.name, resource, auditAt, id, changeAt)
		}
		// A second change under the same call does not write a second row.
		if n := count(`SELECT count(*) FROM audit_log WHERE path = $1`, entry.Path); n != 1 {
			t.Errorf("%s: %d audit rows", tc.name, n)
		}
		if err := s.FinishAudit(ctx, rowID, 201, "", ""); err != nil {
			t.Errorf("%s: finish audit: %v", tc.name, err)
		}
		if n := count(`SELECT count(*) FROM audit_log WHERE id = $1 AND status = 201 AND resource_id = $2`, rowID, id); n != 1 {
			t.Errorf("%s: finished audit row not found", tc.name)
		}
	}
	// Without WithAudit nothing is written: the loop's own events are not
	// API calls.
	if _, err := s.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "worker", TriggerReason: "auto", InitiatedBy: "autoscaler"}); err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE path = '/begin event'`); n != 1 {
		t.Fatalf("%d audit rows for begin event after an unaudited one", n)
	}
}

// A refused call is audited even when what it was refused for cannot be
// stored as text: invalid UTF-8 and NUL in any field, a body jsonb refuses.
func TestRecordAuditStoresWhatTextCannotHold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	for _, body := range []string{`{"reason": "a\u0000b"}`, "{\"reason\": \"a\xffb\"}", `{"reason": "a\\u0000b"}`, `not json`} {
		e := store.AuditEntry{Actor: "a\x00b", Role: "admin", Method: "POST", Path: "/x\xff", Status: 400,
			ResourceID: "r\x00", IdempotencyKey: "k\xfe", Request: json.RawMessage(body), Error: "bad \x00 input \xff"}
		if err := s.RecordAudit(ctx, e); err != nil {
			t.Errorf("body %q: %v", body, err)
		}
	}
	list, err := s.ListAudit(ctx, 10)
	if err != nil || len(list) != 4 {
		t.Fatalf("audit: %v %+v", err, list)
	}
	if list[0].Actor != "a\uFFFDb" || list[0].Request != nil {
		t.Errorf("newest: %+v", list[0])
	}
	// The escaped backslash is legal JSON text, kept as sent.
	if string(list[1].Request) != `{"reason": "a\\u0000b"}` {
		t.Errorf("`\\\\u0000` body stored as %s", list[1].Request)
	}
	if list[2].Request != nil || list[3].Request != nil {
		t.Errorf("unstorable bodies stored: %s, %s", list[2].Request, list[3].Request)
	}
	if err := s.FinishAudit(ctx, 987654, 200, "", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("finish a missing row: %v", err)
	}
}
