package alerting

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/store"
)

// fakeAM records the alerts posted to it (Alertmanager's API v2 body) and
// answers 500 while failing is set. It checks the poster's arithmetic;
// what a real Alertmanager makes of the posts is TestFailureNotifications'.
type fakeAM struct {
	mu      sync.Mutex
	failing bool
	posts   []postedAlert
}

type postedAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt"`
}

func (f *fakeAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	var alerts []postedAlert
	if err := json.NewDecoder(r.Body).Decode(&alerts); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.posts = append(f.posts, alerts...)
}

// take returns the posts since the last call as "event_id:firing|resolved".
func (f *fakeAM) take(t *testing.T, lifetime time.Duration) []string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, p := range f.posts {
		state := "resolved"
		switch life := p.EndsAt.Sub(p.StartsAt); {
		case life == 0:
		case life == lifetime:
			state = "firing"
		default:
			t.Errorf("event %s posted for %s, want %s or 0", p.Labels["event_id"], life, lifetime)
		}
		if p.Labels["alertname"] != AlertName {
			t.Errorf("posted %v", p.Labels)
		}
		out = append(out, p.Labels["event_id"]+":"+state)
	}
	f.posts = nil
	slices.Sort(out)
	return out
}

func failedEvent(id, service string) store.Event {
	return store.Event{ID: id, Type: store.EventScaleUp, Service: service, Status: store.StatusFailed,
		Before: []byte(`{"replicas": 2}`), After: []byte(`{"replicas": 4}`), ErrorMessage: "PUT /admin/replicas: 503"}
}

// Renewal posts every active failure for four intervals and resolves the
// ones that ended; a failure ActionFailed posted after the previous
// renewal began survives one list that may predate it; a resolution that
// reached no Alertmanager is tried again.
func TestRenewFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := &fakeAM{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	a, err := NewAlertmanager([]string{srv.URL}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RenewEvery(0); err == nil {
		t.Error("RenewEvery(0) accepted")
	}
	// Not renewed: the lifetime is the old hour.
	api := failedEvent("e-api", "api")
	if err := a.ActionFailed(ctx, api); err != nil {
		t.Fatal(err)
	}
	if got := fake.take(t, DefaultFailureLifetime); !slices.Equal(got, []string{"e-api:firing"}) {
		t.Fatalf("unrenewed post: %v", got)
	}
	if err := a.RenewEvery(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	const life = 40 * time.Second

	steps := []struct {
		name   string
		active []store.Event
		want   []string
	}{
		// api was posted before any renewal: the first list may predate
		// it, so it stands; the second cannot.
		{"first renewal, list without api", nil, nil},
		{"second renewal, still without api", nil, []string{"e-api:resolved"}},
		{"worker fails", []store.Event{failedEvent("e-worker", "worker")}, []string{"e-worker:firing"}},
		{"worker still failed", []store.Event{failedEvent("e-worker", "worker")}, []string{"e-worker:firing"}},
		// Listed once, its absence is news at once.
		{"worker retried", nil, []string{"e-worker:resolved"}},
		{"nothing to do", nil, nil},
	}
	for _, s := range steps {
		if err := a.RenewFailures(ctx, s.active); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := fake.take(t, life); !slices.Equal(got, s.want) {
			t.Fatalf("%s: posted %v, want %v", s.name, got, s.want)
		}
	}

	// Alertmanager down while a failure ends: the resolution is tried
	// again at the next renewal, and the error says which event.
	search := failedEvent("e-search", "search")
	a.RenewFailures(ctx, []store.Event{search})
	fake.take(t, life)
	fake.mu.Lock()
	fake.failing = true
	fake.mu.Unlock()
	if err := a.RenewFailures(ctx, nil); err == nil {
		t.Fatal("no Alertmanager reached, no error")
	}
	fake.mu.Lock()
	fake.failing = false
	fake.mu.Unlock()
	if err := a.RenewFailures(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := fake.take(t, life); !slices.Equal(got, []string{"e-search:resolved"}) {
		t.Fatalf("after Alertmanager came back: %v", got)
	}
	if err := a.RenewFailures(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := fake.take(t, life); len(got) != 0 {
		t.Fatalf("resolved twice: %v", got)
	}
}
