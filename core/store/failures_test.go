package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// A failure stands while it is its service's latest finished event: an
// unfinished retry does not end it, a completed or failed later event does,
// a failed rollback is a failure of its own, and since bounds the listing.
func TestActiveFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	begin := func(service string) store.Event {
		t.Helper()
		e, err := s.BeginEvent(ctx, newEvent(service, 2, 4))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	finish := func(e store.Event, status store.EventStatus) store.Event {
		t.Helper()
		msg := ""
		if status == store.StatusFailed {
			msg = "actuator: 503"
		}
		done, err := s.FinishEvent(ctx, e.ID, status, msg)
		if err != nil {
			t.Fatal(err)
		}
		return done
	}
	expect := func(step string, since time.Time, want ...store.Event) {
		t.Helper()
		got, err := s.ActiveFailures(ctx, since)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		ids := func(es []store.Event) []string {
			var out []string
			for _, e := range es {
				out = append(out, e.Service+":"+e.ID)
			}
			return out
		}
		if !slices.Equal(ids(got), ids(want)) {
			t.Fatalf("%s: active failures %v, want %v", step, ids(got), ids(want))
		}
		for _, e := range got {
			if e.Status != store.StatusFailed || e.ErrorMessage == "" || e.CompletedAt == nil {
				t.Fatalf("%s: listed %+v", step, e)
			}
		}
	}

	expect("no events", time.Time{})
	apiFail := finish(begin("api"), store.StatusFailed)
	expect("one failure", time.Time{}, apiFail)
	workerFail := finish(begin("worker"), store.StatusFailed)
	expect("failures of two services, oldest first", time.Time{}, apiFail, workerFail)

	retry := begin("api")
	expect("a retry in progress settles nothing", time.Time{}, apiFail, workerFail)
	finish(retry, store.StatusCompleted)
	expect("a completed retry ends the failure", time.Time{}, workerFail)

	workerFail2 := finish(begin("worker"), store.StatusFailed)
	expect("a later failure replaces the earlier", time.Time{}, workerFail2)
	expect("since after every failure", workerFail2.CompletedAt.Add(time.Microsecond))
	expect("since at the failure itself", *workerFail2.CompletedAt, workerFail2)

	// A completed event rolled back by a rollback that failed: the failed
	// rollback stands; a second, completed rollback ends it (and turns the
	// original rolled_back, which is no failure either).
	orig := finish(begin("search"), store.StatusCompleted)
	rb := newEvent("search", 4, 2)
	rb.Type, rb.InitiatedBy = store.EventScaleDown, "rollback"
	r1, err := s.BeginRollback(ctx, orig.ID, rb)
	if err != nil {
		t.Fatal(err)
	}
	r1 = finish(r1, store.StatusFailed)
	expect("a failed rollback", time.Time{}, workerFail2, r1)
	r2, err := s.BeginRollback(ctx, orig.ID, rb)
	if err != nil {
		t.Fatal(err)
	}
	finish(r2, store.StatusCompleted)
	if o, _ := s.GetEvent(ctx, orig.ID); o.Status != store.StatusRolledBack {
		t.Fatalf("original after the rollback: %s", o.Status)
	}
	expect("a completed rollback ends the failed one", time.Time{}, workerFail2)

	// Two failures of one service finished in the same instant (as a bulk
	// import or a clock step could write them): one of them is the latest,
	// never both.
	a := finish(begin("billing"), store.StatusFailed)
	b := finish(begin("billing"), store.StatusFailed)
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `UPDATE scaling_events SET completed_at = $2 WHERE id = $1::uuid`, a.ID, *b.CompletedAt); err != nil {
		t.Fatal(err)
	}
	got, err := s.ActiveFailures(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range got {
		if e.Service == "billing" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("tied failures of one service: %d listed, want 1 (%+v)", n, got)
	}
}

// BenchmarkActiveFailures: the renewal's query on a year of events, 100,000
// across 20 services, 2 % failed. The renewal runs it every interval.
func BenchmarkActiveFailures(b *testing.B) {
	ctx := context.Background()
	dsn := storetest.DSN(b)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	// One event every five minutes, the services in turn.
	if _, err := c.Exec(ctx, `INSERT INTO scaling_events (event_type, service_name, trigger_reason, before_config, after_config,
			status, initiated_by, error_message, started_at, completed_at)
		SELECT 'scale_up', 'svc' || (i % 20), 'bench', '{}', '{}',
			CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'completed' END, 'autoscaler',
			CASE WHEN i % 50 = 0 THEN 'actuator: 503' END,
			now() - interval '1 year' + i * interval '5 minutes', now() - interval '1 year' + i * interval '5 minutes' + interval '30 seconds'
		FROM generate_series(1, 100000) AS i`); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Exec(ctx, `ANALYZE scaling_events`); err != nil {
		b.Fatal(err)
	}
	since := time.Now().Add(-7 * 24 * time.Hour)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.ActiveFailures(ctx, since); err != nil {
			b.Fatal(err)
		}
	}
}
