package record

import (
	"testing"

	"github.com/wedsync/scaling/core/store"
)

func f(v float64) *float64 { return &v }

func TestCompare(t *testing.T) {
	t.Parallel()
	base := store.Benchmark{ID: "b", NewBenchmark: store.NewBenchmark{P95: f(100), P99: f(200), ThroughputRPS: f(1000), ErrorRate: f(0.001)}}
	tests := []struct {
		name string
		cur  store.NewBenchmark
		want []string // regressed metrics
	}{
		{"same", store.NewBenchmark{P95: f(100), P99: f(200), ThroughputRPS: f(1000), ErrorRate: f(0.001)}, nil},
		{"within 10 %", store.NewBenchmark{P95: f(110), P99: f(219), ThroughputRPS: f(901), ErrorRate: f(0.0011)}, nil},
		{"p95 worse", store.NewBenchmark{P95: f(111), P99: f(200), ThroughputRPS: f(1000), ErrorRate: f(0.001)}, []string{"p95_ms"}},
		{"p99 and throughput worse", store.NewBenchmark{P95: f(90), P99: f(230), ThroughputRPS: f(899), ErrorRate: f(0)}, []string{"p99_ms", "throughput_rps"}},
		{"error rate worse", store.NewBenchmark{P95: f(90), P99: f(180), ThroughputRPS: f(1100), ErrorRate: f(0.0021)}, []string{"error_rate"}},
		{"error rate worse but under the floor", store.NewBenchmark{P95: f(90), P99: f(180), ThroughputRPS: f(1100), ErrorRate: f(0.0019)}, nil},
		{"missing figures are not compared", store.NewBenchmark{}, nil},
		{"better everywhere", store.NewBenchmark{P95: f(50), P99: f(60), ThroughputRPS: f(5000), ErrorRate: f(0)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := Compare(base, tc.cur, DefaultCriteria)
			var got []string
			for _, ch := range c.Changes {
				if ch.Regressed {
					got = append(got, ch.Metric)
				}
			}
			if len(got) != len(tc.want) || c.Regressed != (len(tc.want) > 0) {
				t.Fatalf("regressed %v (%v), want %v\n%s", got, c.Regressed, tc.want, c.Describe())
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("regressed %v, want %v", got, tc.want)
				}
			}
		})
	}
	// Sub-millisecond latencies are noise, not a regression.
	small := store.Benchmark{NewBenchmark: store.NewBenchmark{P95: f(0.2)}}
	if Compare(small, store.NewBenchmark{P95: f(0.9)}, DefaultCriteria).Regressed {
		t.Fatal("0.2 ms → 0.9 ms called a regression")
	}
}
