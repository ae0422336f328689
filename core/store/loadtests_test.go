package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func f64(v float64) *float64 { return &v }

func TestLoadTestLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	lt, err := s.StartLoadTest(ctx, store.NewLoadTest{Name: "baseline", Type: "baseline", TargetURL: "http://api", Config: json.RawMessage(`{"vus": 10}`), InitiatedBy: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if lt.Status != store.LoadTestRunning || lt.StartedAt == nil || lt.CompletedAt != nil || lt.Results != nil || lt.InitiatedBy != "ci" {
		t.Fatalf("started: %+v", lt)
	}
	passed := true
	users := int64(100)
	done, bench, err := s.FinishLoadTest(ctx, lt.ID, store.LoadTestOutcome{Status: store.LoadTestCompleted, Results: json.RawMessage(`{"p95": 12}`),
		PassedCriteria: &passed}, &store.NewBenchmark{Name: "baseline", TestType: "baseline", P50: f64(5), P95: f64(12), P99: f64(30),
		ThroughputRPS: f64(1000), ErrorRate: f64(0.001), ConcurrentUsers: &users})
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != store.LoadTestCompleted || done.CompletedAt == nil || done.DurationSeconds == nil || *done.PassedCriteria != true || string(done.Results) != `{"p95": 12}` {
		t.Fatalf("finished: %+v", done)
	}
	if bench == nil || bench.LoadTestID != lt.ID || *bench.P95 != 12 || bench.P90 != nil || bench.IsBaseline {
		t.Fatalf("benchmark: %+v", bench)
	}
	// Finishing twice is a conflict that says the current state.
	_, _, err = s.FinishLoadTest(ctx, lt.ID, store.LoadTestOutcome{Status: store.LoadTestCancelled}, nil)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.State != "completed" || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second finish: %v", err)
	}
	if _, _, err := s.FinishLoadTest(ctx, "00000000-0000-0000-0000-000000000000", store.LoadTestOutcome{Status: store.LoadTestCompleted}, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, _, err := s.FinishLoadTest(ctx, lt.ID, store.LoadTestOutcome{Status: store.LoadTestRunning}, nil); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("non-final status: %v", err)
	}
	// A failed test carries its reason (the schema insists).
	lt2, _ := s.StartLoadTest(ctx, store.NewLoadTest{Name: "baseline", Type: "baseline", TargetURL: "http://api"})
	failed, _, err := s.FinishLoadTest(ctx, lt2.ID, store.LoadTestOutcome{Status: store.LoadTestFailed}, nil)
	if err != nil || failed.FailureReason == "" {
		t.Fatalf("failed: %+v %v", failed, err)
	}
	got, err := s.GetLoadTest(ctx, lt.ID)
	if err != nil || got.ID != lt.ID {
		t.Fatalf("get: %+v %v", got, err)
	}
	list, err := s.ListLoadTests(ctx, store.LoadTestFilter{Name: "baseline", Status: store.LoadTestCompleted})
	if err != nil || len(list) != 1 || list[0].ID != lt.ID {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := s.GetLoadTest(ctx, "not-a-uuid"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad id: %v", err)
	}
}

func TestBenchmarkValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	neg := int64(-1)
	for name, b := range map[string]store.NewBenchmark{
		"NaN p95":          {Name: "x", TestType: "custom", P95: f64(math.NaN())},
		"negative rps":     {Name: "x", TestType: "custom", ThroughputRPS: f64(-1)},
		"error rate above": {Name: "x", TestType: "custom", ErrorRate: f64(1.5)},
		"infinite max":     {Name: "x", TestType: "custom", Max: f64(math.Inf(1))},
		"negative users":   {Name: "x", TestType: "custom", ConcurrentUsers: &neg},
		"no name":          {TestType: "custom"},
	} {
		if _, err := s.RecordBenchmark(ctx, b); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A load test row with a bad type is refused by the database itself.
	if _, err := s.StartLoadTest(ctx, store.NewLoadTest{Name: "x", Type: "soak", TargetURL: "http://x"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad type: %v", err)
	}
}

func TestBaselines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	if _, err := s.BaselineBenchmark(ctx, "checkout"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no baseline yet: %v", err)
	}
	started := time.Now().Add(-time.Minute)
	var ids []string
	for i := range 3 {
		_, b, err := s.RecordFinishedLoadTest(ctx, store.NewLoadTest{Name: "checkout", Type: "stress", TargetURL: "http://api"}, started,
			store.LoadTestOutcome{Status: store.LoadTestCompleted}, &store.NewBenchmark{Name: "checkout", TestType: "stress", P95: f64(float64(10 + i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.ID)
	}
	if _, err := s.SetBaseline(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	// Concurrent moves leave exactly one baseline.
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = s.SetBaseline(ctx, id) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListBenchmarks(ctx, "checkout", 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range all {
		if b.IsBaseline {
			n++
		}
	}
	if n != 1 || len(all) != 3 {
		t.Fatalf("%d baselines among %d benchmarks", n, len(all))
	}
	if _, err := s.SetBaseline(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	base, err := s.BaselineBenchmark(ctx, "checkout")
	if err != nil || base.ID != ids[2] || *base.P95 != 12 {
		t.Fatalf("baseline %+v %v", base, err)
	}
	// A cancelled run is no yardstick.
	lt, _ := s.StartLoadTest(ctx, store.NewLoadTest{Name: "checkout", Type: "stress", TargetURL: "http://api"})
	_, b, err := s.FinishLoadTest(ctx, lt.ID, store.LoadTestOutcome{Status: store.LoadTestCancelled}, &store.NewBenchmark{Name: "checkout", TestType: "stress"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetBaseline(ctx, b.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("baseline from a cancelled run: %v", err)
	}
	if got, err := s.LoadTestBenchmark(ctx, lt.ID); err != nil || got.ID != b.ID {
		t.Fatalf("benchmark of load test: %+v %v", got, err)
	}
}
