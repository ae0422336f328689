package webhook

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wedsync/scaling/core/store"
)

// failing refuses any batch holding the key "bad", as the database refuses a
// transaction with one bad row in it.
type failing struct{ batches [][]string }

func (f *failing) RecordNotifications(_ context.Context, ns []store.Notification) ([]bool, error) {
	var keys []string
	for _, n := range ns {
		keys = append(keys, n.DedupKey)
	}
	f.batches = append(f.batches, keys)
	for _, k := range keys {
		if k == "bad" {
			return nil, fmt.Errorf("record: %w", store.ErrInvalid)
		}
		if k == "down" {
			return nil, fmt.Errorf("record: %w", store.ErrUnavailable)
		}
	}
	return make([]bool, len(ns)), nil
}

// One bad notification in a shared batch fails alone; an outage fails all.
func TestGroupCommitIsolatesBadNotification(t *testing.T) {
	t.Parallel()
	f := &failing{}
	g := NewGroupCommit(f, 1, 8)
	batch := []*pending{{n: store.Notification{DedupKey: "a"}, done: make(chan result, 1)},
		{n: store.Notification{DedupKey: "bad"}, done: make(chan result, 1)},
		{n: store.Notification{DedupKey: "c"}, done: make(chan result, 1)}}
	g.write(context.Background(), batch)
	for i, want := range []bool{false, true, false} {
		r := <-batch[i].done
		if (r.err != nil) != want || (want && !errors.Is(r.err, store.ErrInvalid)) {
			t.Errorf("%s: err = %v, want error %v", batch[i].n.DedupKey, r.err, want)
		}
	}
	if len(f.batches) != 4 { // the shared try, then each alone
		t.Fatalf("batches = %v", f.batches)
	}
	down := []*pending{{n: store.Notification{DedupKey: "down"}, done: make(chan result, 1)},
		{n: store.Notification{DedupKey: "e"}, done: make(chan result, 1)}}
	f.batches = nil
	g.write(context.Background(), down)
	for _, p := range down {
		if r := <-p.done; !errors.Is(r.err, store.ErrUnavailable) {
			t.Errorf("%s: err = %v, want ErrUnavailable for all", p.n.DedupKey, r.err)
		}
	}
	if len(f.batches) != 1 {
		t.Fatalf("an outage was retried one by one: %v", f.batches)
	}
}
