package retention_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wedsync/scaling/autoscaler/retention"
	"github.com/wedsync/scaling/core/config"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// counting records every batch the job asks for.
type counting struct {
	retention.Pruner
	mu      sync.Mutex
	batches map[store.PruneTable][]int64
}

func (c *counting) PruneBatch(ctx context.Context, table store.PruneTable, cutoff time.Time, limit int) (int64, error) {
	n, err := c.Pruner.PruneBatch(ctx, table, cutoff, limit)
	c.mu.Lock()
	c.batches[table] = append(c.batches[table], n)
	c.mu.Unlock()
	return n, err
}

// One pass on a real database: each table's rows past its retention go in
// batches, recent rows and tables kept forever stay, and the metric counts
// the rows by table.
func TestPrunePass(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	now := time.Now()
	day := 24 * time.Hour
	// Ages in days: notifications kept 30, decisions 90, audit forever.
	ages := []int{500, 100, 60, 31, 29, 1}
	for i, age := range ages {
		at := now.Add(-time.Duration(age) * day)
		if _, err := st.RecordNotification(ctx, store.Notification{DedupKey: fmt.Sprint("k", i), Receiver: "r", GroupKey: "g", Status: "resolved",
			Payload: []byte(`{}`), Alerts: []store.Alert{{Fingerprint: fmt.Sprint("fp", i), StartsAt: at, Alertname: "A", Service: "api",
				Action: store.EventScaleUp, Reason: "r", Status: "resolved", Labels: map[string]string{}, Annotations: map[string]string{}}}}); err != nil {
			t.Fatal(err)
		}
		if err := st.RecordDecision(ctx, store.Decision{Service: "api", Outcome: "within_tolerance", Action: store.EventScaleUp}); err != nil {
			t.Fatal(err)
		}
		if err := st.RecordAudit(ctx, store.AuditEntry{Actor: "a", Role: "admin", Method: "POST", Path: "/x", Status: 200}); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`UPDATE webhook_notifications SET last_received_at = $1 WHERE dedup_key = 'k` + fmt.Sprint(i) + `'`,
			`UPDATE scaling_alerts SET last_seen_at = $1 WHERE fingerprint = 'fp` + fmt.Sprint(i) + `'`,
			`UPDATE scaling_decisions SET decided_at = $1 WHERE id = (SELECT max(id) FROM scaling_decisions)`,
			`UPDATE audit_log SET at = $1 WHERE id = (SELECT max(id) FROM audit_log)`,
		} {
			if _, err := c.Exec(ctx, q, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := retention.Defaults
	cfg.Audit = 0 // forever
	cfg.BatchSize = 2
	reg := prometheus.NewRegistry()
	pr := &counting{Pruner: st, batches: map[store.PruneTable][]int64{}}
	job, err := retention.New(cfg, pr, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := job.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.PruneTable]int64{store.PruneNotifications: 4, store.PruneAlerts: 4, store.PruneDecisions: 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pruned %v, want %v", got, want)
	}
	// Batches of at most 2, until one comes back short.
	if b := fmt.Sprint(pr.batches); b != "map[scaling_alerts:[2 2 0] scaling_decisions:[2 0] webhook_notifications:[2 2 0]]" {
		t.Fatalf("batches %s", b)
	}
	for table, left := range map[string]int{"webhook_notifications": 2, "scaling_alerts": 2, "scaling_decisions": 4, "audit_log": 6} {
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != left {
			t.Errorf("%s: %d rows left (%v), want %d", table, n, err, left)
		}
	}
	if err := testutil.CollectAndCompare(reg, strings.NewReader(`
# HELP wedsync_autoscaler_retention_pruned_rows_total Rows deleted by the retention job, by table.
# TYPE wedsync_autoscaler_retention_pruned_rows_total counter
wedsync_autoscaler_retention_pruned_rows_total{table="audit_log"} 0
wedsync_autoscaler_retention_pruned_rows_total{table="scaling_alerts"} 4
wedsync_autoscaler_retention_pruned_rows_total{table="scaling_decisions"} 2
wedsync_autoscaler_retention_pruned_rows_total{table="webhook_notifications"} 4
`), "wedsync_autoscaler_retention_pruned_rows_total"); err != nil {
		t.Fatal(err)
	}
	// A second pass finds nothing more.
	if got, err := job.Prune(ctx); err != nil || len(got) != 3 || got[store.PruneDecisions] != 0 {
		t.Fatalf("second pass: %v, %v", got, err)
	}
}

type failing struct{}

func (failing) PruneBatch(context.Context, store.PruneTable, time.Time, int) (int64, error) {
	return 0, fmt.Errorf("prune: %w", store.ErrUnavailable)
}

// A failing table is counted and reported; the pass goes on to the others.
func TestPruneErrorCounted(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	job, err := retention.New(retention.Defaults, failing{}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := job.Prune(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if n := testutil.CollectAndCount(reg, "wedsync_autoscaler_retention_errors_total"); n != 4 {
		t.Fatalf("error series = %d", n)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "wedsync_autoscaler_retention_errors_total" {
			for _, m := range mf.GetMetric() {
				if m.GetCounter().GetValue() != 1 {
					t.Errorf("%v: %v errors, want 1 per table", m.GetLabel(), m.GetCounter().GetValue())
				}
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	bad := retention.Config{Notifications: config.Duration(time.Hour), Decisions: 0, Audit: config.Duration(-time.Hour),
		Interval: config.Duration(time.Second), BatchSize: 0}
	err := bad.Validate()
	want := []string{
		"--retention.notifications: 1h is shorter than 1d (0 keeps rows forever)",
		"--retention.audit: -1h is shorter than 1d (0 keeps rows forever)",
		"--retention.interval: 1s, want at least 1m",
		"--retention.batch-size: 0, want 1 to 100000",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	if err := retention.Defaults.Validate(); err != nil {
		t.Fatal(err)
	}
}
