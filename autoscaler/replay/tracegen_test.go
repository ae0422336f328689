package replay

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/traces from GenerateTrace")

var traceFixtureDir = filepath.Join("testdata", "traces")

// TestTraceFixtures keeps the committed traces equal to what GenerateTrace
// makes of them: regenerate with
// `cd autoscaler && go test ./replay -run TestTraceFixtures -update`.
func TestTraceFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range TraceNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tr, err := GenerateTrace(name)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := tr.WriteCSV(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(traceFixtureDir, name+".csv")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to generate it)", err)
			}
			if !bytes.Equal(got, buf.Bytes()) {
				t.Fatalf("%s differs from GenerateTrace(%q) from line %d: run `cd autoscaler && go test ./replay -run TestTraceFixtures -update`",
					path, name, traceFirstDiffLine(got, buf.Bytes()))
			}
			back, err := ReadTraceFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !traceSame(back, tr) {
				t.Fatalf("%s reads back as %v/%v/%d rows, not as generated", path, back.Start, back.Step, len(back.Rates))
			}
		})
	}
}

func traceFirstDiffLine(a, b []byte) int {
	line := 1
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
		if a[i] == '\n' {
			line++
		}
	}
	return line
}

// A fixture that no shape generates would go stale unnoticed.
func TestTraceFixtureSet(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(traceFixtureDir, "*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".csv"))
	}
	want := slices.Sorted(slices.Values(TraceNames))
	if !slices.Equal(names, want) {
		t.Errorf("fixtures %v, shapes %v", names, want)
	}
	readme, err := os.ReadFile(filepath.Join(traceFixtureDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range TraceNames {
		if !bytes.Contains(readme, []byte("`"+name+"`")) {
			t.Errorf("README.md does not describe %s", name)
		}
	}
	if !bytes.Contains(readme, []byte("go test ./replay -run TestTraceFixtures -update")) {
		t.Error("README.md does not say how to regenerate the fixtures")
	}
}

func TestGenerateTrace(t *testing.T) {
	t.Parallel()
	var shapes []string
	for _, s := range traceShapes {
		shapes = append(shapes, s.name)
	}
	if !slices.Equal(shapes, TraceNames) {
		t.Errorf("TraceNames %v, generators %v", TraceNames, shapes)
	}
	for _, name := range TraceNames {
		a, errA := GenerateTrace(name)
		b, errB := GenerateTrace(name)
		if errA != nil || errB != nil || !traceSame(a, b) {
			t.Errorf("%s: two calls differ (%v, %v)", name, errA, errB)
		}
	}
	_, err := GenerateTrace("weekly")
	if want := `no trace shape "weekly"; the shapes are daily, slow-ramp, flash-spike, sawtooth, flat-noisy`; err == nil || err.Error() != want {
		t.Errorf("%v, want %s", err, want)
	}
}

// traceStats are what README.md quotes of each shape.
type traceStats struct{ min, mean, max float64 }

func traceStatsOf(v []float64) traceStats {
	s := traceStats{min: math.Inf(1), max: math.Inf(-1)}
	for _, x := range v {
		s.min, s.max = math.Min(s.min, x), math.Max(s.max, x)
		s.mean += x
	}
	s.mean /= float64(len(v))
	return s
}

func (s traceStats) String() string {
	return fmt.Sprintf("min %.1f mean %.1f max %.1f", s.min, s.mean, s.max)
}

// traceFixture reads a committed fixture rather than generating it, so that
// the shape tests check the files the simulator will replay.
func traceFixture(t *testing.T, name string) Trace {
	t.Helper()
	tr, err := ReadTraceFile(filepath.Join(traceFixtureDir, name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d rows at %v from %s, %v", name, len(tr.Rates), tr.Step, tr.Start.Format(time.RFC3339), traceStatsOf(tr.Rates))
	return tr
}

// traceWithin fails unless every rate in v is within frac of want.
func traceWithin(t *testing.T, what string, v []float64, want, frac float64) {
	t.Helper()
	for i, x := range v {
		if x < want*(1-frac) || x > want*(1+frac) {
			t.Errorf("%s: row %d is %v, outside %v ± %v %%", what, i, x, want, 100*frac)
			return
		}
	}
}

func traceCheckLayout(t *testing.T, tr Trace, start time.Time, step time.Duration, rows int) {
	t.Helper()
	if !tr.Start.Equal(start) || tr.Step != step || len(tr.Rates) != rows {
		t.Fatalf("%d rows at %v from %v, want %d at %v from %v", len(tr.Rates), tr.Step, tr.Start, rows, step, start)
	}
}

func TestTraceShapeDaily(t *testing.T) {
	t.Parallel()
	tr := traceFixture(t, "daily")
	traceCheckLayout(t, tr, traceT0, time.Minute, 20160)
	const perDay = 1440
	at := func(day, hour, minute int) int { return day*perDay + hour*60 + minute }
	span := func(day, h0, m0, h1, m1 int) []float64 { return tr.Rates[at(day, h0, m0):at(day, h1, m1)] }

	var weekend, weekday []float64
	for day := range 14 {
		switch traceT0.AddDate(0, 0, day).Weekday() {
		case time.Saturday, time.Sunday:
			weekend = append(weekend, span(day, 0, 0, 24, 0)...)
		default:
			weekday = append(weekday, span(day, 0, 0, 24, 0)...)
		}
	}
	we, wd := traceStatsOf(weekend), traceStatsOf(weekday)
	t.Logf("weekend %v; weekday %v", we, wd)
	if we.mean < 1.2*wd.mean {
		t.Errorf("weekend mean %.0f is not well above the weekday mean %.0f", we.mean, wd.mean)
	}
	w1, w2 := traceStatsOf(tr.Rates[:7*perDay]), traceStatsOf(tr.Rates[7*perDay:])
	t.Logf("first week %v; final week %v", w1, w2)
	if w2.mean < 1.08*w1.mean {
		t.Errorf("final week mean %.0f is not above the first week's %.0f by the season ramp", w2.mean, w1.mean)
	}
	for day := range 14 {
		season := 1 + 0.25*float64(day)/14
		before := traceStatsOf(span(day, 18, 50, 19, 0)).mean
		surge := traceStatsOf(span(day, 19, 0, 19, 5)).max
		if surge < 1.7*before {
			t.Errorf("day %d: 19:00–19:05 peaks at %.0f, no surge over 18:50–19:00's %.0f", day, surge, before)
		}
		if peak := traceStatsOf(span(day, 19, 2, 19, 3)).max; peak < 1.8*before {
			t.Errorf("day %d: 19:02 is %.0f, not +100 %% of 18:50–19:00's %.0f", day, peak, before)
		}
		// The morning has begun to rise by 06:00 (+2 %), and the season
		// has moved on since midnight.
		traceWithin(t, fmt.Sprintf("day %d 02:00–06:00 trough", day), span(day, 2, 0, 6, 0), 120*season, 0.07)
		if day == 0 || day == 7 { // Mondays: no weekend, the weekday curve
			traceWithin(t, fmt.Sprintf("day %d 14:00–15:00 plateau", day), span(day, 14, 0, 15, 0), 500*season, 0.06)
			if peak := traceStatsOf(span(day, 20, 0, 21, 30)).mean; math.Abs(peak-900*season) > 0.1*900*season {
				t.Errorf("day %d: 20:00–21:30 mean %.0f, want ≈ %.0f", day, peak, 900*season)
			}
		}
	}
	// The surge over the curve without it, averaged over the 14 days to
	// quiet the noise: ×2 at 19:02, then e^-1 of the excess a time
	// constant (25 minutes) later, and e^-2 two later.
	for _, c := range []struct{ minute, want float64 }{{0, 4.0 / 3}, {1, 5.0 / 3}, {2, 2}, {27, 1 + math.Exp(-1)}, {52, 1 + math.Exp(-2)}, {120, 1.01}} {
		sum := 0.0
		for day := range 14 {
			i := at(day, 19, int(c.minute))
			above := traceDailyAbove(float64(19*60+int(c.minute))/60 - 4)
			if wd := traceT0.AddDate(0, 0, day).Weekday(); wd == time.Saturday || wd == time.Sunday {
				above *= 1.5
			}
			sum += tr.Rates[i] / ((120 + above) * (1 + 0.25*float64(i)/float64(len(tr.Rates))))
		}
		if got := sum / 14; math.Abs(got-c.want) > 0.03 {
			t.Errorf("19:00 + %v min: the surge is ×%.3f, want ×%.3f", c.minute, got, c.want)
		}
	}
	// Smooth: outside the surge's rise, one minute to the next moves by
	// the noise (±4 % each, so at most ~8.3 %) and a little curve.
	for i := 1; i < len(tr.Rates); i++ {
		if m := i % perDay; m >= 19*60 && m < 19*60+3 {
			continue
		}
		if r := tr.Rates[i] / tr.Rates[i-1]; r < 0.9 || r > 1.1 {
			t.Errorf("%s: a jump ×%.3f from the minute before", tr.Start.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), r)
		}
	}
}

func TestTraceShapeSlowRamp(t *testing.T) {
	t.Parallel()
	tr := traceFixture(t, "slow-ramp")
	traceCheckLayout(t, tr, traceT0.Add(8*time.Hour), 10*time.Second, 1440)
	traceWithin(t, "first hour", tr.Rates[:360], 150, 0.03)
	traceWithin(t, "last hour", tr.Rates[1080:], 1500, 0.03)
	prev := 0.0
	for i := 360; i < 1080; i += 60 { // 10-minute means climb all the way
		m := traceStatsOf(tr.Rates[i : i+60]).mean
		want := 150 + 1350*(float64(i-360)+29.5)/720
		if m <= prev || math.Abs(m-want) > 0.02*want {
			t.Errorf("ramp at row %d: 10-minute mean %.0f, want ≈ %.0f and above %.0f", i, m, want, prev)
		}
		prev = m
	}
}

func TestTraceShapeFlashSpike(t *testing.T) {
	t.Parallel()
	tr := traceFixture(t, "flash-spike")
	traceCheckLayout(t, tr, traceT0.Add(12*time.Hour), 10*time.Second, 360)
	traceWithin(t, "before", tr.Rates[:120], 200, 0.03)
	traceWithin(t, "the rise's last step", tr.Rates[125:126], 200+1800*5.0/6, 0.03)
	traceWithin(t, "hold", tr.Rates[126:186], 2000, 0.03)
	traceWithin(t, "after", tr.Rates[216:], 200, 0.03)
	for i := 121; i < 126; i++ {
		if tr.Rates[i] <= tr.Rates[i-1] {
			t.Errorf("the rise falls at row %d", i)
		}
	}
	for i := 187; i < 216; i++ {
		if tr.Rates[i] >= tr.Rates[i-1]*1.07 {
			t.Errorf("the fall rises at row %d", i)
		}
	}
}

func TestTraceShapeSawtooth(t *testing.T) {
	t.Parallel()
	tr := traceFixture(t, "sawtooth")
	traceCheckLayout(t, tr, traceT0.Add(12*time.Hour), 5*time.Second, 144)
	var runs []string
	for i, v := range tr.Rates {
		if v != 100 && v != 600 {
			t.Fatalf("row %d is %v: the sawtooth is 100 or 600, no noise", i, v)
		}
		if v == 600 && (i == 0 || tr.Rates[i-1] != 600) {
			n := 0
			for i+n < len(tr.Rates) && tr.Rates[i+n] == 600 {
				n++
			}
			runs = append(runs, fmt.Sprintf("%v+%v", time.Duration(i)*tr.Step, time.Duration(n)*tr.Step))
		}
	}
	want := []string{"2m0s+1m0s", "4m0s+1m0s", "6m0s+1m0s", "8m0s+1m0s", "10m0s+1m0s"}
	if !slices.Equal(runs, want) {
		t.Errorf("high periods %v, want %v", runs, want)
	}
}

func TestTraceShapeFlatNoisy(t *testing.T) {
	t.Parallel()
	tr := traceFixture(t, "flat-noisy")
	traceCheckLayout(t, tr, traceT0.Add(12*time.Hour), 10*time.Second, 720)
	traceWithin(t, "flat-noisy", tr.Rates, 240, 0.04)
	for i, v := range tr.Rates { // a fleet of 4 stays inside the tolerance band
		if u := v / 400; u < 0.54 || u > 0.66 {
			t.Errorf("row %d: %v is %.1f %% of 4 replicas", i, v, 100*u)
		}
	}
	if s := traceStatsOf(tr.Rates); math.Abs(s.mean-240) > 1 || s.max-s.min < 15 {
		t.Errorf("%v: want mean ≈ 240 and the noise's full width", s)
	}
}
