package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Entry is a collector under a name.
type Entry struct {
	Name      string
	Kind      Kind
	Collector Collector
}

var (
	successDesc = desc("exporter_collector_success",
		"Whether the collector's last run succeeded (1) or failed (0); a failed collector keeps its last good values.", "collector")
	collectorDurationDesc = desc("exporter_collector_duration_seconds", "How long the collector's last run took.", "collector")
	collectorLastDesc     = desc("exporter_collector_last_success_timestamp_seconds",
		"When the collector last ran successfully (Unix time): how old its values are.", "collector")
	snapshotDesc = desc("exporter_snapshot_timestamp_seconds", "When the metrics served were rendered (Unix time).")
)

type state struct {
	metrics     []prometheus.Metric
	ok          bool
	ran         bool
	duration    time.Duration
	lastSuccess time.Time
}

type rendering struct {
	text, gz []byte
	at       time.Time
}

// Snapshot runs the collectors and serves their last rendering.
type Snapshot struct {
	entries []Entry
	live    prometheus.Gatherer
	logger  *slog.Logger
	timeout time.Duration

	buildMu  sync.Mutex
	states   map[string]*state
	costDay  time.Time
	current  atomic.Pointer[rendering]
	costsDue chan struct{}
}

// NewSnapshot builds the parent collector. live is gathered at every
// scrape (process and Go metrics, source health: in-memory only); its
// families must not overlap the collectors'.
func NewSnapshot(entries []Entry, live prometheus.Gatherer, logger *slog.Logger) *Snapshot {
	return &Snapshot{entries: entries, live: live, logger: logger, timeout: time.Minute,
		states: map[string]*state{}, costsDue: make(chan struct{}, 1)}
}

// CostsChanged asks for the cost collectors to run again (a billing source
// wrote rows). It never blocks.
func (s *Snapshot) CostsChanged() {
	select {
	case s.costsDue <- struct{}{}:
	default:
	}
}

// Ready reports whether a rendering exists.
func (s *Snapshot) Ready() bool { return s.current.Load() != nil }

// Build runs the collectors that are due — every EverySnapshot one, the
// OnCostChange ones when costs is set, on a new UTC day, or never run — and
// renders the result.
func (s *Snapshot) Build(ctx context.Context, now time.Time, costs bool) {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	day := now.UTC().Truncate(24 * time.Hour)
	if !day.Equal(s.costDay) {
		costs, s.costDay = true, day
	}
	for _, e := range s.entries {
		st := s.states[e.Name]
		if st == nil {
			st = &state{}
			s.states[e.Name] = st
		}
		if e.Kind == OnCostChange && !costs && st.ran {
			continue
		}
		s.run(ctx, now, e, st)
	}
	s.render(now)
}

func (s *Snapshot) run(ctx context.Context, now time.Time, e Entry, st *state) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ch := make(chan prometheus.Metric, 256)
	var got []prometheus.Metric
	done := make(chan struct{})
	go func() {
		for m := range ch {
			got = append(got, m)
		}
		close(done)
	}()
	start := time.Now()
	err := e.Collector.Update(ctx, now, ch)
	close(ch)
	<-done
	st.ran, st.duration = true, time.Since(start)
	if err != nil {
		st.ok = false
		s.logger.Error("collector failed; its last good values stay", "collector", e.Name, "err", err)
		return
	}
	st.ok, st.metrics, st.lastSuccess = true, got, now
}

// replay is an unchecked collector of already built metrics.
type replay []prometheus.Metric

func (replay) Describe(chan<- *prometheus.Desc) {}
func (r replay) Collect(ch chan<- prometheus.Metric) {
	for _, m := range r {
		ch <- m
	}
}

func (s *Snapshot) render(now time.Time) {
	var all replay
	for _, e := range s.entries {
		st := s.states[e.Name]
		all = append(all, st.metrics...)
		all = append(all, gaugeF(successDesc, b2f(st.ok), e.Name), gaugeF(collectorDurationDesc, st.duration.Seconds(), e.Name))
		if !st.lastSuccess.IsZero() {
			all = append(all, gaugeF(collectorLastDesc, unix(st.lastSuccess), e.Name))
		}
	}
	all = append(all, gaugeF(snapshotDesc, unix(now)))
	reg := prometheus.NewRegistry()
	reg.MustRegister(all)
	families, err := reg.Gather()
	if err != nil {
		// Gather still returns every consistent family.
		s.logger.Error("inconsistent metrics left out of the snapshot", "err", err)
	}
	var text bytes.Buffer
	enc := expfmt.NewEncoder(&text, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			s.logger.Error("encode snapshot", "family", f.GetName(), "err", err)
		}
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write(text.Bytes())
	zw.Close()
	s.current.Store(&rendering{text: text.Bytes(), gz: gz.Bytes(), at: now})
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// Run builds at once, then every interval, and whenever costs changed.
func (s *Snapshot) Run(ctx context.Context, interval time.Duration) {
	s.Build(ctx, time.Now(), true)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Build(ctx, time.Now(), false)
		case <-s.costsDue:
			s.Build(ctx, time.Now(), true)
		}
	}
}

// ServeHTTP answers a scrape in the text format: the live metrics gathered
// now, then the snapshot's rendering as it is. With gzip, the rendering's
// compressed form is written as a second gzip member (RFC 1952 allows a
// file of several; Go's and Prometheus's readers take them): no scrape ever
// compresses the large part again.
func (s *Snapshot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cur := s.current.Load()
	if cur == nil {
		// The first collection is still running: the live metrics alone
		// (source health, process), never an error for the scraper.
		cur = &rendering{}
	}
	var live bytes.Buffer
	if s.live != nil {
		families, err := s.live.Gather()
		if err != nil {
			s.logger.Error("gather live metrics", "err", err)
		}
		enc := expfmt.NewEncoder(&live, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, f := range families {
			enc.Encode(f) //nolint:errcheck // a bytes.Buffer does not fail
		}
	}
	w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	if acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		var head bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&head, gzip.BestSpeed)
		zw.Write(live.Bytes())
		zw.Close()
		w.Header().Set("Content-Length", fmt.Sprint(head.Len()+len(cur.gz)))
		w.Write(head.Bytes())
		w.Write(cur.gz) // empty before the first rendering: one member
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(live.Len()+len(cur.text)))
	w.Write(live.Bytes())
	w.Write(cur.text)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
