package engine

import (
	"math"
	"strconv"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wedsync/scaling/loadtest/threshold"
)

// Latencies are recorded in microseconds from 1 µs to 1 h with three
// significant digits; longer ones are clamped to 1 h.
const (
	histMin    = 1
	histMax    = int64(time.Hour / time.Microsecond)
	histDigits = 3
)

func newHist() *hdr.Histogram { return hdr.New(histMin, histMax, histDigits) }

// trend is a latency distribution with its exact count, sum, min and max
// (the histogram's own are rounded to its buckets).
type trend struct {
	h        *hdr.Histogram
	count    int64
	sumUs    int64
	min, max int64
}

func newTrend() *trend { return &trend{h: newHist(), min: math.MaxInt64} }

func (t *trend) record(us int64) {
	us = min(max(us, histMin), histMax)
	_ = t.h.RecordValue(us)
	t.count++
	t.sumUs += us
	t.min = min(t.min, us)
	t.max = max(t.max, us)
}

func (t *trend) merge(o *trend) {
	if o.count == 0 {
		return
	}
	t.h.Merge(o.h)
	t.count += o.count
	t.sumUs += o.sumUs
	t.min = min(t.min, o.min)
	t.max = max(t.max, o.max)
}

func (t *trend) reset() {
	t.h.Reset()
	t.count, t.sumUs, t.min, t.max = 0, 0, math.MaxInt64, 0
}

// value returns an aggregation in milliseconds (NaN without samples).
func (t *trend) value(agg string) float64 {
	if t.count == 0 {
		if agg == "count" {
			return 0
		}
		return math.NaN()
	}
	switch agg {
	case "avg":
		return float64(t.sumUs) / float64(t.count) / 1000
	case "min":
		return float64(t.min) / 1000
	case "max":
		return float64(t.max) / 1000
	case "med":
		return t.percentile(50)
	case "count":
		return float64(t.count)
	}
	if len(agg) > 3 && agg[:2] == "p(" {
		n, err := strconv.ParseFloat(agg[2:len(agg)-1], 64)
		if err == nil {
			return t.percentile(n)
		}
	}
	return math.NaN()
}

func (t *trend) percentile(p float64) float64 {
	if p >= 100 {
		return float64(t.max) / 1000
	}
	v := t.h.ValueAtQuantile(p)
	// The bucket's upper edge can exceed the true maximum.
	return float64(min(max(v, t.min), t.max)) / 1000
}

// group is a tag set (a sub-metric) whose requests are counted apart:
// http_req_duration{name:login}, http_req_failed{name:login}, http_reqs{…}.
type group struct {
	tags    []threshold.Tag
	dynamic bool // filters on status or expected_response, known per response
}

func (g *group) key() string { return threshold.MetricName{Name: "", Tags: g.tags}.String() }

// stats are what is recorded over an interval (a second, or the whole run).
type stats struct {
	dur, ok, iter *trend
	groups        []groupStats
	reqs, fails   int64
	iters         int64
	dropped       int64
	sent, recv    int64
}

type groupStats struct {
	dur         *trend
	reqs, fails int64
}

func newStats(groups int) *stats {
	s := &stats{dur: newTrend(), ok: newTrend(), iter: newTrend(), groups: make([]groupStats, groups)}
	for i := range s.groups {
		s.groups[i].dur = newTrend()
	}
	return s
}

func (s *stats) merge(o *stats) {
	s.dur.merge(o.dur)
	s.ok.merge(o.ok)
	s.iter.merge(o.iter)
	for i := range s.groups {
		s.groups[i].dur.merge(o.groups[i].dur)
		s.groups[i].reqs += o.groups[i].reqs
		s.groups[i].fails += o.groups[i].fails
	}
	s.reqs += o.reqs
	s.fails += o.fails
	s.iters += o.iters
	s.dropped += o.dropped
	s.sent += o.sent
	s.recv += o.recv
}

func (s *stats) reset() {
	s.dur.reset()
	s.ok.reset()
	s.iter.reset()
	for i := range s.groups {
		s.groups[i].dur.reset()
		s.groups[i].reqs, s.groups[i].fails = 0, 0
	}
	s.reqs, s.fails, s.iters, s.dropped, s.sent, s.recv = 0, 0, 0, 0, 0, 0
}

// shard is where a subset of the VUs record; the collector swaps its stats
// every second, so a VU holds the lock only for the few adds of a sample.
type shard struct {
	mu    sync.Mutex
	cur   *stats
	spare *stats // owned by the collector
	_     [40]byte
}

// sample is one finished request.
type sample struct {
	latencyUs  int64
	status     int
	failed     bool
	sent, recv int64
	groups     []int // static matches
	dyn        []int // groups whose dynamic filters must be checked
	scenario   string
}

func (s *shard) record(sm *sample, dg []group) {
	s.mu.Lock()
	st := s.cur
	st.dur.record(sm.latencyUs)
	if !sm.failed {
		st.ok.record(sm.latencyUs)
	}
	st.reqs++
	if sm.failed {
		st.fails++
	}
	st.sent += sm.sent
	st.recv += sm.recv
	for _, g := range sm.groups {
		gs := &st.groups[g]
		gs.dur.record(sm.latencyUs)
		gs.reqs++
		if sm.failed {
			gs.fails++
		}
	}
	for _, g := range sm.dyn {
		if matchDynamic(dg[g].tags, sm) {
			gs := &st.groups[g]
			gs.dur.record(sm.latencyUs)
			gs.reqs++
			if sm.failed {
				gs.fails++
			}
		}
	}
	s.mu.Unlock()
}

func (s *shard) recordIteration(us int64) {
	s.mu.Lock()
	s.cur.iter.record(us)
	s.cur.iters++
	s.mu.Unlock()
}

func (s *shard) recordDropped() {
	s.mu.Lock()
	s.cur.dropped++
	s.mu.Unlock()
}

func matchDynamic(tags []threshold.Tag, sm *sample) bool {
	for _, t := range tags {
		switch t.Key {
		case "status":
			if t.Value != strconv.Itoa(sm.status) {
				return false
			}
		case "expected_response":
			if t.Value != strconv.FormatBool(!sm.failed) {
				return false
			}
		}
	}
	return true
}

// matchStatic reports whether a request's fixed tags satisfy the group's
// non-dynamic filters, and whether dynamic ones remain.
func matchStatic(tags []threshold.Tag, reqTags map[string]string) (match, dynamic bool) {
	for _, t := range tags {
		if t.Key == "status" || t.Key == "expected_response" {
			dynamic = true
			continue
		}
		if reqTags[t.Key] != t.Value {
			return false, false
		}
	}
	return true, dynamic
}
