package record

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wedsync/scaling/core/store"
)

// Criteria say when a run is worse than its baseline.
type Criteria struct {
	// Tolerance is the relative change beyond which a figure regressed:
	// p95 or p99 latency or error rate higher, throughput lower (0.10 = 10 %).
	Tolerance float64
	// Floors keep noise from being called a regression: a latency must also
	// be worse by this many milliseconds, an error rate by this much (0.001
	// is 0.1 percentage point), so 0 → 0.0001 errors is not "infinitely worse".
	LatencyFloorMS float64
	ErrorRateFloor float64
}

// DefaultCriteria: 10 % worse, beyond 1 ms and 0.1 percentage point.
var DefaultCriteria = Criteria{Tolerance: 0.10, LatencyFloorMS: 1, ErrorRateFloor: 0.001}

// Change is one figure compared with the baseline.
type Change struct {
	Metric   string   `json:"metric"` // p95_ms, p99_ms, throughput_rps, error_rate
	Baseline *float64 `json:"baseline"`
	Current  *float64 `json:"current"`
	// Relative is (current − baseline) / baseline; nil when either is
	// missing or the baseline is zero.
	Relative  *float64 `json:"relative"`
	Regressed bool     `json:"regressed"`
}

// Comparison is a run against its baseline, as stored in
// load_tests.baseline_comparison.
type Comparison struct {
	BaselineBenchmarkID string    `json:"baseline_benchmark_id"`
	BaselineLoadTestID  string    `json:"baseline_load_test_id,omitempty"`
	BaselineRecordedAt  time.Time `json:"baseline_recorded_at"`
	Tolerance           float64   `json:"tolerance"`
	Changes             []Change  `json:"changes"`
	Regressed           bool      `json:"regressed"`
}

// Compare compares current with baseline.
func Compare(baseline store.Benchmark, current store.NewBenchmark, c Criteria) Comparison {
	cmp := Comparison{BaselineBenchmarkID: baseline.ID, BaselineLoadTestID: baseline.LoadTestID, BaselineRecordedAt: baseline.RecordedAt, Tolerance: c.Tolerance}
	add := func(metric string, base, cur *float64, higherIsWorse bool, floor float64) {
		ch := Change{Metric: metric, Baseline: base, Current: cur}
		if base != nil && cur != nil {
			if *base != 0 {
				rel := (*cur - *base) / *base
				ch.Relative = &rel
			}
			if higherIsWorse {
				ch.Regressed = *cur > *base*(1+c.Tolerance) && *cur-*base > floor
			} else {
				ch.Regressed = *cur < *base*(1-c.Tolerance)
			}
		}
		cmp.Regressed = cmp.Regressed || ch.Regressed
		cmp.Changes = append(cmp.Changes, ch)
	}
	add("p95_ms", baseline.P95, current.P95, true, c.LatencyFloorMS)
	add("p99_ms", baseline.P99, current.P99, true, c.LatencyFloorMS)
	add("throughput_rps", baseline.ThroughputRPS, current.ThroughputRPS, false, 0)
	add("error_rate", baseline.ErrorRate, current.ErrorRate, true, c.ErrorRateFloor)
	return cmp
}

// Describe says in one line per figure what changed, worst first.
func (c Comparison) Describe() string {
	var lines []string
	for _, ch := range c.Changes {
		if ch.Baseline == nil || ch.Current == nil {
			lines = append(lines, fmt.Sprintf("%-15s not measured in both runs", ch.Metric))
			continue
		}
		rel := "n/a"
		if ch.Relative != nil {
			rel = fmt.Sprintf("%+.1f%%", *ch.Relative*100)
		}
		verdict := "ok"
		if ch.Regressed {
			verdict = "REGRESSED"
		}
		lines = append(lines, fmt.Sprintf("%-15s %12s → %-12s %8s  %s", ch.Metric, num(*ch.Baseline), num(*ch.Current), rel, verdict))
	}
	return strings.Join(lines, "\n")
}

// Regressions names the figures that regressed.
func (c Comparison) Regressions() []string {
	var out []string
	for _, ch := range c.Changes {
		if ch.Regressed {
			rel := ""
			if ch.Relative != nil {
				rel = fmt.Sprintf(" (%+.1f%%)", *ch.Relative*100)
			}
			out = append(out, fmt.Sprintf("%s %s → %s%s", ch.Metric, num(*ch.Baseline), num(*ch.Current), rel))
		}
	}
	return out
}

func num(v float64) string {
	if v != 0 && math.Abs(v) < 0.01 {
		return fmt.Sprintf("%.4g", v)
	}
	return fmt.Sprintf("%.2f", v)
}
