package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/shopspring/decimal"

	coreconfig "github.com/wedsync/scaling/core/config"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/exporter/attribution"
	"github.com/wedsync/scaling/exporter/billing"
	"github.com/wedsync/scaling/exporter/config"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

type fakeSource struct {
	batches []billing.Batch
	errs    []error
	calls   int
	windows []billing.Window
}

func (f *fakeSource) Fetch(_ context.Context, w billing.Window) (billing.Batch, error) {
	i := min(f.calls, len(f.batches)-1)
	f.calls++
	f.windows = append(f.windows, w)
	return f.batches[i], f.errs[i]
}

var now = time.Date(2026, 11, 17, 9, 30, 0, 0, time.UTC)

func refreshCfg() config.Refresh {
	d := func(s string) config.Duration { v, _ := coreconfig.ParseDuration(s); return v }
	return config.Refresh{Interval: d("1h"), Timeout: d("10s"), Lookback: d("3d"), Backfill: d("35d"),
		Backoff: config.Backoff{Initial: d("1m"), Max: d("1h")}}
}

func day(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

func line(d int, amount, currency string) billing.Line {
	return billing.Line{Date: day(d), Service: "openai", Resource: "gpt-4o", Project: "proj_menu", ChargeCategory: "Usage",
		Amount: decimal.RequireFromString(amount), Currency: currency, Origin: "page 1"}
}

func TestRefreshOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	src := &fakeSource{
		batches: []billing.Batch{{Lines: []billing.Line{line(15, "1.5", "USD"), line(16, "2", "USD"), line(16, "9", "EUR"), line(1, "4", "USD")},
			Errors: []billing.RowError{{Where: "page 1 result 9", Err: errors.New("amount.value missing")}}}},
		errs: []error{nil},
	}
	changes := 0
	r := &Runner{Name: "openai", Source: src, Refresh: refreshCfg(), Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Rules: attribution.Rules{{Match: map[string]string{"project": "proj_menu"}, Team: "ai"}}, OnChange: func() { changes++ },
		Now: func() time.Time { return now }}
	if err := r.RefreshOnce(ctx, false); err != nil {
		t.Fatal(err)
	}
	// Lookback 3d through today: the 15th to the 17th.
	if w := src.windows[0]; !w.From.Equal(day(15)) || !w.To.Equal(day(18)) {
		t.Errorf("window %v", w)
	}
	s := r.Status()
	if !s.Up || s.Rows != 2 || s.RowErrors != 3 || s.Successes != 1 || !s.LastSuccess.Equal(now) || changes != 1 {
		t.Errorf("status %+v, changes %d", s, changes)
	}
	lines, err := st.CostLines(ctx, day(16), day(17), 7, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].Team != "ai" || !lines[0].MonthToDate.Equal(decimal.RequireFromString("3.5")) {
		t.Errorf("stored: %+v", lines)
	}
	// Same data again: replaced, not duplicated (and still a change for
	// the rows' ids, which the snapshot does not care about).
	if err := r.RefreshOnce(ctx, false); err != nil {
		t.Fatal(err)
	}
	lines, _ = st.CostLines(ctx, day(16), day(17), 7, "USD")
	if !lines[0].MonthToDate.Equal(decimal.RequireFromString("3.5")) {
		t.Errorf("after a second refresh: %+v", lines)
	}

	// A failing source keeps the rows and shows as down.
	src.batches, src.errs = []billing.Batch{{}}, []error{errors.New("openai costs page 1: 500")}
	if err := r.RefreshOnce(ctx, false); err == nil {
		t.Fatal("no error")
	}
	s = r.Status()
	if s.Up || s.Failures != 1 || s.LastError != "openai costs page 1: 500" || !s.LastSuccess.Equal(now) {
		t.Errorf("status after failure %+v", s)
	}
	want := `
# HELP wedsync_exporter_source_up Whether the last refresh of the billing source succeeded (1) or failed (0).
# TYPE wedsync_exporter_source_up gauge
wedsync_exporter_source_up{source="openai"} 0
# HELP wedsync_exporter_source_refreshes_total Refreshes of the billing source, by result.
# TYPE wedsync_exporter_source_refreshes_total counter
wedsync_exporter_source_refreshes_total{result="failure",source="openai"} 1
wedsync_exporter_source_refreshes_total{result="success",source="openai"} 2
# HELP wedsync_exporter_source_last_success_timestamp_seconds When the billing source was last refreshed successfully (Unix time).
# TYPE wedsync_exporter_source_last_success_timestamp_seconds gauge
wedsync_exporter_source_last_success_timestamp_seconds{source="openai"} 1.7949078e+09
`
	if err := testutil.CollectAndCompare(Collector{Runners: []*Runner{r}}, strings.NewReader(want),
		"wedsync_exporter_source_up", "wedsync_exporter_source_refreshes_total", "wedsync_exporter_source_last_success_timestamp_seconds"); err != nil {
		t.Error(err)
	}
	lines, _ = st.CostLines(ctx, day(16), day(17), 7, "USD")
	if len(lines) != 1 {
		t.Errorf("a failed refresh changed the rows: %+v", lines)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := refreshCfg().Backoff
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 7: time.Hour, 40: time.Hour} {
		if got := Backoff(b, n, errors.New("x")); got != want {
			t.Errorf("failure %d: %v, want %v", n, got, want)
		}
	}
	ra := &billing.HTTPError{Status: 429, RetryAfter: 10 * time.Minute}
	if got := Backoff(b, 1, ra); got != 10*time.Minute {
		t.Errorf("Retry-After not honoured: %v", got)
	}
	if got := Backoff(b, 7, ra); got != time.Hour {
		t.Errorf("a shorter Retry-After shortened the backoff: %v", got)
	}
}

// Run: backfill first, lookback after; backoff after failures.
func TestRun(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	fail := errors.New("down")
	src := &fakeSource{batches: []billing.Batch{{}, {}, {}, {}}, errs: []error{nil, fail, fail, nil}}
	var waits []time.Duration
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{Name: "x", Source: src, Refresh: refreshCfg(), Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return now },
		Sleep: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			if len(waits) == 4 {
				cancel()
				return ctx.Err()
			}
			return nil
		}}
	r.Run(ctx)
	want := []time.Duration{time.Hour, time.Minute, 2 * time.Minute, time.Hour}
	if len(waits) != 4 || waits[0] != want[0] || waits[1] != want[1] || waits[2] != want[2] || waits[3] != want[3] {
		t.Errorf("waits %v, want %v", waits, want)
	}
	if w := src.windows[0]; !w.From.Equal(day(18).AddDate(0, 0, -35)) {
		t.Errorf("first window %v is not the backfill", w)
	}
	if w := src.windows[1]; !w.From.Equal(day(15)) {
		t.Errorf("second window %v is not the lookback", w)
	}
}

// Files unchanged since the last read are not written again; a failed
// write makes the next refresh read them again.
func TestUnchangedAndForget(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	src := &forgettingSource{}
	r := &Runner{Name: "files", Source: src, Refresh: refreshCfg(), Store: failingStore{st}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := r.RefreshOnce(context.Background(), true); err == nil || !src.forgot {
		t.Errorf("failed write: err %v, forgot %v", err, src.forgot)
	}
	src.unchanged = true
	r.Store = st
	changed := false
	r.OnChange = func() { changed = true }
	if err := r.RefreshOnce(context.Background(), false); err != nil || changed {
		t.Errorf("unchanged: %v %v", err, changed)
	}
}

type forgettingSource struct{ forgot, unchanged bool }

func (f *forgettingSource) Fetch(context.Context, billing.Window) (billing.Batch, error) {
	return billing.Batch{All: true, Unchanged: f.unchanged, Lines: []billing.Line{line(1, "1", "USD")}}, nil
}
func (f *forgettingSource) Forget() { f.forgot = true }

type failingStore struct{ *store.Store }

func (failingStore) ReplaceCosts(context.Context, string, store.CostScope, []store.CostRecord) (store.ReplaceResult, error) {
	return store.ReplaceResult{}, store.ErrUnavailable
}
