package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func TestMigrateIsIdempotentAndVersioned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t) // already migrated from the template
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if len(applied) != 0 {
		t.Fatalf("second migrate applied %v, want nothing", applied)
	}
	migs, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(migs) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(migs))
	}
	// Every table of the spec plus the receiver's own.
	for _, table := range []string{"performance_metrics", "scaling_events", "growth_phases", "capacity_metrics",
		"cost_tracking", "cost_budgets", "optimization_recommendations", "load_tests", "performance_benchmarks",
		"cost_alerts", "webhook_notifications", "scaling_alerts", "scaling_decisions", "idempotency_keys"} {
		var exists bool
		if err := c.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil || !exists {
			t.Errorf("table %s missing (err %v)", table, err)
		}
	}
	// An edited migration is refused.
	if _, err := c.Exec(ctx, "UPDATE schema_migrations SET checksum = 'deadbeefdeadbeef' WHERE version = 1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Migrate(ctx)
	if err == nil || !contains(err.Error(), "was changed after it was applied") {
		t.Fatalf("migrate with edited migration: %v", err)
	}
}

func TestMigrateConcurrentStartups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := storetest.Server(t)
	dsn, err := pg.CreateDatabase(ctx, "concurrent_migrate")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	total := make([]int, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			applied, err := s.Migrate(ctx)
			errs[i], total[i] = err, len(applied)
		}()
	}
	wg.Wait()
	sum := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("starter %d: %v", i, err)
		}
		sum += total[i]
	}
	migs, _ := store.Migrations()
	if sum != len(migs) {
		t.Fatalf("migrations applied %d times in total, want %d (each once)", sum, len(migs))
	}
}

func TestGrowthPhasesSeeded(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	phases, err := s.ListPhases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		name   string
		min    int
		max    int // -1 = unbounded
		active bool
	}
	want := []row{{"startup", 0, 1000, true}, {"growth", 1000, 10000, false}, {"scale", 10000, 100000, false}, {"enterprise", 100000, -1, false}}
	if len(phases) != len(want) {
		t.Fatalf("got %d phases, want %d", len(phases), len(want))
	}
	for i, p := range phases {
		max := -1
		if p.MaxUsers != nil {
			max = *p.MaxUsers
		}
		got := row{p.Name, p.MinUsers, max, p.Active}
		if got != want[i] {
			t.Errorf("phase %d = %+v, want %+v", i, got, want[i])
		}
		var cfg map[string]any
		if err := json.Unmarshal(p.ScalingConfig, &cfg); err != nil || cfg["services"] == nil {
			t.Errorf("phase %s scaling_config %s: %v", p.Name, p.ScalingConfig, err)
		}
	}
}

// The spec's CHECK constraints and generated columns are kept: bad rows are
// refused by the database itself, whatever client writes them.
func TestSchemaConstraints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, storetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	bad := []struct {
		name string
		sql  string
	}{
		{"event type", `INSERT INTO scaling_events (event_type, service_name, trigger_reason, before_config, after_config, initiated_by) VALUES ('scale_sideways', 'api', 'x', '{}', '{}', 'manual')`},
		{"event status", `INSERT INTO scaling_events (event_type, service_name, trigger_reason, before_config, after_config, initiated_by, status) VALUES ('scale_up', 'api', 'x', '{}', '{}', 'manual', 'done')`},
		{"failed without message", `INSERT INTO scaling_events (event_type, service_name, trigger_reason, before_config, after_config, initiated_by, status, completed_at) VALUES ('scale_up', 'api', 'x', '{}', '{}', 'manual', 'failed', now())`},
		{"phase bounds", `INSERT INTO growth_phases (phase_name, phase_order, min_users, max_users) VALUES ('odd', 9, 500, 100)`},
		{"second active phase", `UPDATE growth_phases SET is_active = true WHERE phase_name = 'growth'`},
		{"capacity zero max", `INSERT INTO capacity_metrics (resource_type, service_name, current_usage, max_capacity) VALUES ('storage', 'db', 1, 0)`},
		{"charge class", `INSERT INTO cost_tracking (cost_date, source, service_name, cost_amount, charge_class) VALUES ('2026-11-01', 'manual', 'api', -5, 'Refund')`},
		{"currency", `INSERT INTO cost_tracking (cost_date, source, service_name, cost_amount, currency) VALUES ('2026-11-01', 'manual', 'api', 5, 'usd')`},
		{"budget limit", `INSERT INTO cost_budgets (budget_name, budget_limit) VALUES ('b', 0)`},
		{"budget thresholds", `INSERT INTO cost_budgets (budget_name, budget_limit, alert_thresholds) VALUES ('b', 10, '{}')`},
		{"confidence", `INSERT INTO optimization_recommendations (recommendation_type, service_name, title, estimated_monthly_impact, confidence, effort, priority) VALUES ('caching', 'db', 't', -10, 1.5, 'low', 'high')`},
		{"load test failed without reason", `INSERT INTO load_tests (test_name, test_type, status, target_url) VALUES ('t', 'baseline', 'failed', 'http://x')`},
		{"error rate", `INSERT INTO performance_benchmarks (benchmark_name, test_type, error_rate) VALUES ('b', 'baseline', 2)`},
		{"metric name", `INSERT INTO performance_metrics (metric_name, metric_value, service_name) VALUES ('bad name', 1, 'api')`},
		{"metric NaN", `INSERT INTO performance_metrics (metric_name, metric_value, service_name) VALUES ('x', 'NaN', 'api')`},
	}
	for _, tc := range bad {
		if _, err := c.Exec(ctx, tc.sql); err == nil {
			t.Errorf("%s: accepted, want a constraint violation", tc.name)
		}
	}
	// Generated columns compute themselves.
	var util string
	if err := c.QueryRow(ctx, `INSERT INTO cost_budgets (budget_name, budget_limit, current_spend) VALUES ('ops', 1200.00, 300.00) RETURNING utilization_percent::text`).Scan(&util); err != nil {
		t.Fatal(err)
	}
	if util != "25.00" {
		t.Errorf("budget utilization_percent = %s, want 25.00", util)
	}
	if err := c.QueryRow(ctx, `INSERT INTO capacity_metrics (resource_type, service_name, current_usage, max_capacity) VALUES ('database_connections', 'db', 45, 60) RETURNING utilization_percent::text`).Scan(&util); err != nil {
		t.Fatal(err)
	}
	if util != "75.00" {
		t.Errorf("capacity utilization_percent = %s, want 75.00", util)
	}
	var thresholds []int32
	if err := c.QueryRow(ctx, `SELECT alert_thresholds FROM cost_budgets WHERE budget_name = 'ops'`).Scan(&thresholds); err != nil {
		t.Fatal(err)
	}
	if len(thresholds) != 4 || thresholds[0] != 50 || thresholds[3] != 100 {
		t.Errorf("default alert_thresholds = %v, want [50 75 90 100]", thresholds)
	}
}

func newEvent(service string, before, after int) store.NewEvent {
	return store.NewEvent{
		Type: store.EventScaleUp, Service: service, TriggerReason: "high_cpu_usage",
		TriggerMetrics:    json.RawMessage(`{"cpu": 0.93}`),
		Before:            json.RawMessage(`{"replicas": ` + itoa(before) + `}`),
		After:             json.RawMessage(`{"replicas": ` + itoa(after) + `}`),
		InitiatedBy:       "autoscaler",
		CostImpactMonthly: decimal.NewNullDecimal(decimal.RequireFromString("73.00")),
	}
}

func TestEventLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)

	e, err := s.BeginEvent(ctx, newEvent("api", 2, 4))
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != store.StatusInProgress || e.CompletedAt != nil || e.DurationMS != nil {
		t.Fatalf("new event = %+v", e)
	}
	if got := e.CostImpactMonthly.Decimal.String(); got != "73" {
		t.Errorf("cost impact = %s, want 73", got)
	}
	// A second action on the same service waits for the first.
	if _, err := s.BeginEvent(ctx, newEvent("api", 2, 5)); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("second unfinished event: err = %v, want ErrBusy", err)
	}
	// Another service is independent.
	other, err := s.BeginEvent(ctx, newEvent("worker", 1, 2))
	if err != nil {
		t.Fatal(err)
	}
	unfinished, err := s.UnfinishedEvents(ctx)
	if err != nil || len(unfinished) != 2 {
		t.Fatalf("unfinished = %d events, %v; want 2", len(unfinished), err)
	}
	done, err := s.FinishEvent(ctx, e.ID, store.StatusCompleted, "")
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != store.StatusCompleted || done.CompletedAt == nil || done.DurationMS == nil {
		t.Fatalf("completed event = %+v", done)
	}
	// Finishing twice is a conflict naming the current state.
	_, err = s.FinishEvent(ctx, e.ID, store.StatusFailed, "late")
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.State != "completed" {
		t.Fatalf("finish twice: %v", err)
	}
	if _, err := s.FinishEvent(ctx, other.ID, store.StatusFailed, "actuator: connection refused"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetEvent(ctx, other.ID)
	if err != nil || got.ErrorMessage != "actuator: connection refused" || got.Status != store.StatusFailed {
		t.Fatalf("failed event = %+v, %v", got, err)
	}
	last, err := s.LastFinishedEvent(ctx, "api")
	if err != nil || last.ID != e.ID {
		t.Fatalf("last finished = %+v, %v", last, err)
	}
	if _, err := s.LastFinishedEvent(ctx, "nothing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("last finished of unknown service: %v", err)
	}
	if _, err := s.GetEvent(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
	list, err := s.ListEvents(ctx, store.EventFilter{Service: "api"})
	if err != nil || len(list) != 1 {
		t.Fatalf("list api = %d, %v", len(list), err)
	}
	list, err = s.ListEvents(ctx, store.EventFilter{From: time.Now().Add(time.Hour)})
	if err != nil || len(list) != 0 {
		t.Fatalf("list from the future = %d, %v", len(list), err)
	}
}

func TestRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	orig, _ := s.BeginEvent(ctx, newEvent("api", 2, 4))

	rb := newEvent("api", 4, 2)
	rb.Type, rb.InitiatedBy = store.EventScaleDown, "rollback"
	// Not completed yet: cannot be rolled back.
	_, err := s.BeginRollback(ctx, orig.ID, rb)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.State != "in_progress" {
		t.Fatalf("rollback of in_progress: %v", err)
	}
	if _, err := s.FinishEvent(ctx, orig.ID, store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	r, err := s.BeginRollback(ctx, orig.ID, rb)
	if err != nil {
		t.Fatal(err)
	}
	if r.RollbackOf != orig.ID {
		t.Fatalf("rollback_of = %q", r.RollbackOf)
	}
	if _, err := s.FinishEvent(ctx, r.ID, store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	o, _ := s.GetEvent(ctx, orig.ID)
	if o.Status != store.StatusRolledBack || o.RolledBackBy != r.ID || o.RolledBackAt == nil {
		t.Fatalf("original after rollback = %+v", o)
	}
	// Twice: 409 with the state.
	_, err = s.BeginRollback(ctx, orig.ID, rb)
	if !errors.As(err, &ce) || ce.State != "rolled_back" {
		t.Fatalf("second rollback: %v", err)
	}
	if _, err := s.BeginRollback(ctx, "00000000-0000-0000-0000-000000000000", rb); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rollback unknown: %v", err)
	}
}

// A failed rollback leaves the original completed and rollback-able again.
func TestFailedRollbackCanBeRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	orig, _ := s.BeginEvent(ctx, newEvent("api", 2, 4))
	s.FinishEvent(ctx, orig.ID, store.StatusCompleted, "")
	rb := newEvent("api", 4, 2)
	rb.InitiatedBy = "rollback"
	r1, err := s.BeginRollback(ctx, orig.ID, rb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishEvent(ctx, r1.ID, store.StatusFailed, "actuator down"); err != nil {
		t.Fatal(err)
	}
	if o, _ := s.GetEvent(ctx, orig.ID); o.Status != store.StatusCompleted {
		t.Fatalf("original after failed rollback: %s", o.Status)
	}
	if _, err := s.BeginRollback(ctx, orig.ID, rb); err != nil {
		t.Fatalf("retry rollback: %v", err)
	}
}

func TestRecordNotificationIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	alert := store.Alert{Fingerprint: "abc", StartsAt: start, Alertname: "ServiceCPUHigh", Service: "api",
		Action: store.EventScaleUp, Reason: "high_cpu_usage", Status: "firing",
		Labels: map[string]string{"alertname": "ServiceCPUHigh"}, Annotations: map[string]string{"value": "0.93"}}
	n := store.Notification{DedupKey: "k1", Receiver: "wedsync-autoscaler", GroupKey: "g", Status: "firing",
		Payload: []byte(`{"version":"4"}`), Alerts: []store.Alert{alert}}

	dup, err := s.RecordNotification(ctx, n)
	if err != nil || dup {
		t.Fatalf("first delivery: dup=%v err=%v", dup, err)
	}
	dup, err = s.RecordNotification(ctx, n)
	if err != nil || !dup {
		t.Fatalf("second delivery: dup=%v err=%v", dup, err)
	}
	if d, _ := s.NotificationDeliveries(ctx, "k1"); d != 2 {
		t.Fatalf("deliveries = %d, want 2", d)
	}
	firing, err := s.FiringAlerts(ctx, "api", time.Now().Add(-time.Minute))
	if err != nil || len(firing) != 1 || firing[0].Annotations["value"] != "0.93" {
		t.Fatalf("firing = %+v, %v", firing, err)
	}
	// Resolved, then a late re-delivery of an older firing notification
	// under another key: the alert stays resolved.
	resolved := alert
	resolved.Status = "resolved"
	end := start.Add(10 * time.Minute)
	resolved.EndsAt = &end
	if _, err := s.RecordNotification(ctx, store.Notification{DedupKey: "k2", Receiver: "r", GroupKey: "g", Status: "resolved", Payload: []byte(`{}`), Alerts: []store.Alert{resolved}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordNotification(ctx, store.Notification{DedupKey: "k3", Receiver: "r", GroupKey: "g", Status: "firing", Payload: []byte(`{}`), Alerts: []store.Alert{alert}}); err != nil {
		t.Fatal(err)
	}
	firing, _ = s.FiringAlerts(ctx, "", time.Now().Add(-time.Minute))
	if len(firing) != 0 {
		t.Fatalf("alert revived by a late firing delivery: %+v", firing)
	}
	// Alerts not seen since notBefore are not firing any more for us.
	alert2 := alert
	alert2.Fingerprint = "def"
	s.RecordNotification(ctx, store.Notification{DedupKey: "k4", Receiver: "r", GroupKey: "g", Status: "firing", Payload: []byte(`{}`), Alerts: []store.Alert{alert2}})
	if firing, _ := s.FiringAlerts(ctx, "", time.Now().Add(time.Minute)); len(firing) != 0 {
		t.Fatalf("stale alert still firing: %+v", firing)
	}
}

func TestDecisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	for _, o := range []string{"no_data", "scale"} {
		if err := s.RecordDecision(ctx, store.Decision{Service: "api", Outcome: o, Action: store.EventScaleUp, Reason: o}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordDecision(ctx, store.Decision{Service: "api", Outcome: "maybe", Action: store.EventScaleUp}); err == nil {
		t.Fatal("unknown outcome accepted")
	}
	ds, err := s.ListDecisions(ctx, "api", 10)
	if err != nil || len(ds) != 2 || ds[0].Outcome != "scale" {
		t.Fatalf("decisions = %+v, %v", ds, err)
	}
}

// When the server goes away, errors say so (the webhook answers 503 on it).
func TestUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := store.Open(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.RecordNotification(ctx, store.Notification{DedupKey: "x", Status: "firing", Payload: []byte(`{}`)})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("ping err = %v", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// Several notifications in one transaction: all or none.
func TestRecordNotificationsIsAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	mk := func(key, severity string) store.Notification {
		return store.Notification{DedupKey: key, Receiver: "r", GroupKey: "g", Status: "firing", Payload: []byte(`{}`),
			Alerts: []store.Alert{{Fingerprint: key, StartsAt: time.Now(), Alertname: "A", Service: "api", Action: store.EventScaleUp,
				Reason: "r", Status: "firing", Labels: map[string]string{"severity": severity}, Annotations: map[string]string{}}}}
	}
	dups, err := s.RecordNotifications(ctx, []store.Notification{mk("a", "x"), mk("b", "x"), mk("a", "x")})
	if err != nil || len(dups) != 3 || dups[0] || dups[1] || !dups[2] {
		t.Fatalf("dups = %v, %v; want [false false true]", dups, err)
	}
	_, err = s.RecordNotifications(ctx, []store.Notification{mk("c", "x"), mk("d", "bad\x00")})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("batch with a NUL: %v, want ErrInvalid", err)
	}
	if n, _, _ := s.NotificationCounts(ctx); n != 2 {
		t.Fatalf("%d notifications recorded, want 2 (the failed batch wrote nothing)", n)
	}
}
