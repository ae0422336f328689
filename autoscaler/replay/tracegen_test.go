package replay

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/traces from GenerateTrace")

// TestTraceFixtures keeps the committed traces equal to what GenerateTrace
// makes of them (regenerate with `go test ./replay -run TestTraceFixtures
// -update`), and checks that each has the shape its README promises.
func TestTraceFixtures(t *testing.T) {
	for _, name := range TraceNames {
		t.Run(name, func(t *testing.T) {
			tr, err := GenerateTrace(name)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := tr.WriteCSV(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "traces", name+".csv")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to generate)", err)
			}
			if !bytes.Equal(got, buf.Bytes()) {
				t.Fatalf("%s differs from GenerateTrace(%q): run `go test ./replay -run TestTraceFixtures -update`", path, name)
			}
			back, err := ReadTraceFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !back.Start.Equal(tr.Start) || back.Step != tr.Step || len(back.Rates) != len(tr.Rates) {
				t.Fatalf("read back as %v/%v/%d rows", back.Start, back.Step, len(back.Rates))
			}
		})
	}
}

func TestTraceShapes(t *testing.T) {
	t.Parallel()
	get := func(name string) Trace {
		tr, err := GenerateTrace(name)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	mean := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	d := get("daily")
	if len(d.Rates) != 20160 || d.Step != time.Minute {
		t.Fatalf("daily: %d rows at %s", len(d.Rates), d.Step)
	}
	day := func(i int) []float64 { return d.Rates[i*1440 : (i+1)*1440] }
	if sat, wed := mean(day(5)), mean(day(2)); sat < 1.2*wed {
		t.Errorf("daily: Saturday mean %.0f not well above Wednesday's %.0f", sat, wed)
	}
	if w1, w2 := mean(d.Rates[:10080]), mean(d.Rates[10080:]); w2 < 1.08*w1 {
		t.Errorf("daily: second week %.0f not above the first %.0f (season ramp)", w2, w1)
	}
	for i := range 14 {
		before, surge := d.Rates[i*1440+18*60+50], d.Rates[i*1440+19*60+4]
		if surge < 1.6*before {
			t.Errorf("daily: day %d 19:04 %.0f is no surge over 18:50 %.0f", i, surge, before)
		}
	}
	saw := get("sawtooth")
	highs := 0
	for i, v := range saw.Rates {
		if v == 600 && (i == 0 || saw.Rates[i-1] != 600) {
			highs++
		}
	}
	if highs != 5 {
		t.Errorf("sawtooth: %d high periods, want 5", highs)
	}
	for _, v := range get("flat-noisy").Rates {
		if math.Abs(v-240) > 240*0.04+1e-9 {
			t.Fatalf("flat-noisy: %v outside 240 ± 4 %%", v)
		}
	}
	fs := get("flash-spike")
	if mx := maxOf(fs.Rates); mx < 1900 || mx > 2100 {
		t.Errorf("flash-spike: max %.0f, want ≈ 2000", mx)
	}
	if _, err := GenerateTrace("nope"); err == nil {
		t.Error("unknown shape accepted")
	}
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}
