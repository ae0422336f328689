package load

import (
	"math"
	"testing"
	"time"
)

func TestScheduleArrivals(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name      string
		stages    []Stage
		wantCount int64
		wantAt    map[int64]time.Duration // selected arrivals, ±1 ms
	}{
		{"constant", []Stage{{time.Second, 10}}, 10, map[int64]time.Duration{1: 100 * ms, 5: 500 * ms, 10: time.Second}},
		{"pause then ramp from zero", []Stage{{time.Second, 0}, {time.Second, 10}}, 5,
			// 10 req/s² ramp: k arrivals by sqrt(k/5) s into the ramp
			map[int64]time.Duration{1: time.Second + 447*ms, 5: 2 * time.Second}},
		{"ramp down", []Stage{{time.Second, 10}, {time.Second, 0}}, 15, map[int64]time.Duration{10: time.Second, 11: time.Second + 105*ms}},
		{"zero rate sends nothing", []Stage{{time.Second, 0}}, 0, nil},
		{"fractional total rounds down", []Stage{{1500 * ms, 1}}, 1, map[int64]time.Duration{1: time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSchedule(tc.stages)
			var (
				n    int64
				prev time.Duration
			)
			for k := int64(1); ; k++ {
				at, ok := s.arrival(k)
				if !ok {
					break
				}
				if at < prev || at > s.total() {
					t.Fatalf("arrival %d at %s: not monotonic or past the end (%s)", k, at, s.total())
				}
				if want, ok := tc.wantAt[k]; ok && math.Abs(float64(at-want)) > float64(ms) {
					t.Errorf("arrival %d at %s, want %s", k, at, want)
				}
				prev = at
				n = k
			}
			if n != tc.wantCount {
				t.Fatalf("%d arrivals, want %d", n, tc.wantCount)
			}
		})
	}
}

func TestScheduleRateAt(t *testing.T) {
	t.Parallel()
	s := newSchedule([]Stage{{time.Second, 10}, {2 * time.Second, 30}})
	for _, tc := range []struct {
		at        time.Duration
		wantRate  float64
		wantStage int
	}{
		{0, 10, 0},
		{500 * time.Millisecond, 10, 0},
		{2 * time.Second, 20, 1},
		{3 * time.Second, 30, 1},
		{time.Hour, 30, 1},
	} {
		if rate, stage := s.rateAt(tc.at); math.Abs(rate-tc.wantRate) > 1e-9 || stage != tc.wantStage {
			t.Errorf("rateAt(%s) = %v, %d; want %v, %d", tc.at, rate, stage, tc.wantRate, tc.wantStage)
		}
	}
}
