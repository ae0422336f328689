package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// Pruning deletes what is older than the cutoff, in batches of at most the
// limit, oldest first, and keeps what an unfinished action needs: its
// decision and its service's alerts.
func TestPruneBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := c.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	count := func(table string) (n int) {
		t.Helper()
		if err := c.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	now := time.Now()
	old, cutoff := now.Add(-48*time.Hour), now.Add(-24*time.Hour)

	// 5 old and 2 recent of each; the old ones 1 minute apart, so "oldest
	// first" can be checked.
	for i := range 7 {
		at := now.Add(-time.Hour)
		if i < 5 {
			at = old.Add(time.Duration(i) * time.Minute)
		}
		svc := "api"
		if i == 4 {
			svc = "busy" // a service with an unfinished action
		}
		if _, err := s.RecordNotification(ctx, store.Notification{DedupKey: fmt.Sprint("k", i), Receiver: "r", GroupKey: "g", Status: "firing",
			Payload: []byte(`{}`), Alerts: []store.Alert{{Fingerprint: fmt.Sprint("fp", i), StartsAt: at, Alertname: "A", Service: svc,
				Action: store.EventScaleUp, Reason: "high_cpu_usage", Status: "resolved", Labels: map[string]string{}, Annotations: map[string]string{}}}}); err != nil {
			t.Fatal(err)
		}
		exec(`UPDATE webhook_notifications SET first_received_at = $2, last_received_at = $2 WHERE dedup_key = $1`, fmt.Sprint("k", i), at)
		exec(`UPDATE scaling_alerts SET first_seen_at = $2, last_seen_at = $2 WHERE fingerprint = $1`, fmt.Sprint("fp", i), at)
		if err := s.RecordDecision(ctx, store.Decision{Service: "api", Outcome: "within_tolerance", Action: store.EventScaleUp}); err != nil {
			t.Fatal(err)
		}
		exec(`UPDATE scaling_decisions SET decided_at = $1, reason = $2 WHERE id = (SELECT max(id) FROM scaling_decisions)`, at, fmt.Sprint(i))
		if err := s.RecordAudit(ctx, store.AuditEntry{Actor: "a", Role: "admin", Method: "POST", Path: "/x", Status: 200}); err != nil {
			t.Fatal(err)
		}
		exec(`UPDATE audit_log SET at = $1 WHERE id = (SELECT max(id) FROM audit_log)`, at)
	}
	ev, err := s.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "busy", TriggerReason: "x", Before: []byte(`{"replicas":2}`),
		After: []byte(`{"replicas":3}`), InitiatedBy: "autoscaler"})
	if err != nil {
		t.Fatal(err)
	}
	// The old decision "3" started it.
	exec(`UPDATE scaling_decisions SET event_id = $1 WHERE reason = '3'`, ev.ID)

	for _, tc := range []struct {
		table store.PruneTable
		kept  int // of the 5 old rows
	}{
		{store.PruneNotifications, 0},
		{store.PruneAlerts, 1},    // busy's
		{store.PruneDecisions, 1}, // the unfinished event's
		{store.PruneAudit, 0},
	} {
		var batches []int64
		for {
			n, err := s.PruneBatch(ctx, tc.table, cutoff, 2)
			if err != nil {
				t.Fatal(err)
			}
			batches = append(batches, n)
			if n < 2 {
				break
			}
		}
		deleted := int64(0)
		for _, n := range batches {
			deleted += n
		}
		if want := int64(5 - tc.kept); deleted != want || len(batches) != int(want/2+1) {
			t.Errorf("%s: batches %v; want %d rows in batches of 2", tc.table, batches, want)
		}
		if n := count(string(tc.table)); n != 2+tc.kept {
			t.Errorf("%s: %d rows left, want %d", tc.table, n, 2+tc.kept)
		}
	}
	// Oldest first: a batch of 1 on fresh old decisions takes the oldest.
	for i := range 2 {
		if err := s.RecordDecision(ctx, store.Decision{Service: "api", Outcome: "within_tolerance", Action: store.EventScaleUp, Reason: fmt.Sprint("again", i)}); err != nil {
			t.Fatal(err)
		}
		exec(`UPDATE scaling_decisions SET decided_at = $1 WHERE reason = $2`, old.Add(time.Duration(-i)*time.Minute), fmt.Sprint("again", i))
	}
	if n, err := s.PruneBatch(ctx, store.PruneDecisions, cutoff, 1); n != 1 || err != nil {
		t.Fatalf("prune one = %d, %v", n, err)
	}
	var left string
	if err := c.QueryRow(ctx, `SELECT reason FROM scaling_decisions WHERE reason LIKE 'again%'`).Scan(&left); err != nil || left != "again0" {
		t.Fatalf("left %q (%v); want again0, the younger", left, err)
	}
	// Once the action finishes, its decision and alerts may go.
	if _, err := s.FinishEvent(ctx, ev.ID, store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	for _, table := range []store.PruneTable{store.PruneAlerts, store.PruneDecisions} {
		if n, err := s.PruneBatch(ctx, table, cutoff, 10); err != nil || n != map[store.PruneTable]int64{store.PruneAlerts: 1, store.PruneDecisions: 2}[table] {
			t.Errorf("%s after the action finished: pruned %d, %v", table, n, err)
		}
	}
	if _, err := s.PruneBatch(ctx, "scaling_events", cutoff, 10); err == nil {
		t.Error("scaling_events pruned")
	}
}
