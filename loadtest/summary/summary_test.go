package summary

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wedsync/scaling/loadtest/engine"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

func sampleResult() *engine.Result {
	return &engine.Result{
		Name: "checkout", Type: "stress", Duration: 61500 * time.Millisecond, Status: engine.StatusCompleted,
		Metrics: map[string]engine.Metric{
			"http_reqs":         {Type: "counter", Contains: "default", Values: map[string]float64{"count": 6150, "rate": 100}},
			"http_req_duration": {Type: "trend", Contains: "time", Values: map[string]float64{"avg": 12.5, "min": 1.25, "med": 10, "max": 950, "p(90)": 20, "p(95)": 30, "p(99)": 120}},
			"http_req_failed":   {Type: "rate", Contains: "default", Values: map[string]float64{"rate": 0.02, "passes": 123, "fails": 6027}},
			"vus":               {Type: "gauge", Contains: "default", Values: map[string]float64{"value": 0, "min": 0, "max": 50}},
			"data_sent":         {Type: "counter", Contains: "data", Values: map[string]float64{"count": 615000, "rate": 10000}},
		},
		Thresholds: []engine.ThresholdResult{
			{Metric: "http_req_duration", Threshold: "p(95)<2000", OK: true, Value: 30},
			{Metric: "http_req_failed", Threshold: "rate<0.01", OK: false, Value: 0.02},
		},
	}
}

func TestGoldenHandleSummaryAndLegacy(t *testing.T) {
	t.Parallel()
	d := FromResult(sampleResult())
	b, err := d.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "handlesummary.golden.json", b)
	l, err := d.MarshalLegacy()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "summary-export.golden.json", l)
	// Both read back to the same figures.
	for _, in := range [][]byte{b, l} {
		back, _, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		f := back.Figures()
		if *f.P95 != 30 || *f.P99 != 120 || *f.ErrorRate != 0.02 || *f.Throughput != 100 || *f.Users != 50 || *f.ThresholdsPassed ||
			math.Abs(f.Duration-61.5) > 1e-9 || f.Requests != 6150 {
			t.Fatalf("figures %+v", f)
		}
	}
}

// The fixtures are real k6 outputs; their figures are in
// shared/fixtures/SOURCES.md and in the files themselves.
func TestImportRealK6Summaries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		format   Format
		requests int64
		rate     float64
		p50, p99 float64
		p95      *float64
		errRate  float64
		users    int64
		duration float64
		passed   *bool
	}{
		{file: "andreposman_qr-code-generator__summary-export.json", format: Legacy, requests: 493168, rate: 4288.100370179589,
			p50: 3.12, p99: 348.6492700000003, errRate: 0, users: 149, duration: 115.0083},
		{file: "mn1809_K6PerformanceTesting__k6-summary.handleSummary.redacted.json", format: HandleSummary, requests: 57147, rate: 7.833582374276645,
			p50: 70.681, p95: ptr(130.64669999999998), errRate: 0.011321679178259577, users: 100, duration: 7295.129772, passed: ptr(true)},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("..", "testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			d, format, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if format != tc.format {
				t.Fatalf("format %s, want %s", format, tc.format)
			}
			f := d.Figures()
			if f.Requests != tc.requests || *f.Throughput != tc.rate || *f.P50 != tc.p50 || *f.ErrorRate != tc.errRate || *f.Users != tc.users {
				t.Fatalf("figures %+v", f)
			}
			if math.Abs(f.Duration-tc.duration) > 0.01 {
				t.Fatalf("duration %.4f s, want %.4f", f.Duration, tc.duration)
			}
			if tc.p95 == nil && f.P95 != nil || tc.p95 != nil && *f.P95 != *tc.p95 {
				t.Fatalf("p95 %v, want %v", f.P95, tc.p95)
			}
			if tc.p99 != 0 && *f.P99 != tc.p99 {
				t.Fatalf("p99 %v", *f.P99)
			}
			if (tc.passed == nil) != (f.ThresholdsPassed == nil) || tc.passed != nil && *tc.passed != *f.ThresholdsPassed {
				t.Fatalf("thresholds passed %v", f.ThresholdsPassed)
			}
			// Converting to the other shape and back keeps every value.
			var other []byte
			if format == Legacy {
				other, err = d.MarshalIndent()
			} else {
				other, err = d.MarshalLegacy()
			}
			if err != nil {
				t.Fatal(err)
			}
			back, _, err := Parse(other)
			if err != nil {
				t.Fatal(err)
			}
			for name, m := range d.Metrics {
				bm := back.Metrics[name]
				if bm.Type != m.Type || len(bm.Values) != len(m.Values) || len(bm.Thresholds) != len(m.Thresholds) {
					t.Errorf("%s: %+v became %+v", name, m, bm)
				}
				for k, v := range m.Values {
					if bm.Values[k] != v {
						t.Errorf("%s.%s: %v became %v", name, k, v, bm.Values[k])
					}
				}
			}
			if d.Metrics["http_req_failed"].Type != "rate" || d.Metrics["vus"].Type != "gauge" || d.Metrics["data_sent"].Contains != "data" {
				t.Errorf("types: %+v", d.Metrics)
			}
		})
	}
}

func TestParseRejectsOtherJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`{}`, `[]`, `{"metrics": {}}`, `not json`, `{"metrics":{"x":{"type":"trend"}},"state":{}}`, `{"metrics":{"x":{"avg":"fast"}}}`} {
		if _, _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%s) accepted", in)
		}
	}
	var m map[string]any
	if json.Unmarshal([]byte(`{"a":1}`), &m) != nil {
		t.Fatal()
	}
}

func ptr[T any](v T) *T { return &v }
