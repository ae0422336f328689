package replay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Trace is a load trace: requests per second at fixed steps. The file
// format, a contract other tools script against, is CSV with the header
// `timestamp,requests_per_second`, RFC 3339 times and any fixed step.
type Trace struct {
	Start time.Time     // first timestamp (UTC)
	Step  time.Duration // fixed step
	Rates []float64     // Rates[i] is the rate during [Start+i·Step, Start+(i+1)·Step)
}

// TraceHeader is the first line of a trace file.
const TraceHeader = "timestamp,requests_per_second"

// Limits of a trace file.
const (
	maxTraceRows = 10_000_000
	maxTraceLine = 1 << 10
)

// End is when the trace's last step ends.
func (t Trace) End() time.Time { return t.Start.Add(t.Duration()) }

// Duration is the trace's length.
func (t Trace) Duration() time.Duration { return time.Duration(len(t.Rates)) * t.Step }

// At is the rate in force at an instant (0 outside the trace).
func (t Trace) At(at time.Time) float64 {
	if at.Before(t.Start) || t.Step <= 0 {
		return 0
	}
	i := int(at.Sub(t.Start) / t.Step)
	if i >= len(t.Rates) {
		return 0
	}
	return t.Rates[i]
}

// ReadTraceFile reads a trace file.
func ReadTraceFile(path string) (Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return Trace{}, err
	}
	defer f.Close()
	t, err := ReadTrace(f)
	if err != nil {
		return Trace{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ReadTrace reads a trace strictly: anything it cannot take whole is an
// error naming the line and the column, and nothing is skipped.
func ReadTrace(r io.Reader) (Trace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxTraceLine+2)
	var t Trace
	var prev time.Time
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSuffix(sc.Bytes(), []byte{'\r'})
		if !utf8.Valid(b) {
			return Trace{}, fmt.Errorf("trace line %d: not valid UTF-8", line)
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return Trace{}, fmt.Errorf("trace line %d: contains a NUL byte", line)
		}
		s := string(b)
		if line == 1 {
			if strings.TrimPrefix(s, "\ufeff") != TraceHeader {
				return Trace{}, fmt.Errorf("trace line 1: header %q, want %q", truncate(s), TraceHeader)
			}
			continue
		}
		if line-1 > maxTraceRows {
			return Trace{}, fmt.Errorf("trace line %d: more than %d rows", line, maxTraceRows)
		}
		ts, rate, ok := strings.Cut(s, ",")
		if !ok || strings.Contains(rate, ",") {
			return Trace{}, fmt.Errorf("trace line %d: %d fields, want 2 (timestamp,requests_per_second)", line, strings.Count(s, ",")+1)
		}
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return Trace{}, fmt.Errorf("trace line %d, column timestamp: %q is not an RFC 3339 time", line, truncate(ts))
		}
		at = at.UTC()
		v, err := strconv.ParseFloat(rate, 64)
		switch {
		case err != nil || math.IsNaN(v) || math.IsInf(v, 0) || strings.ContainsAny(rate, "xXpP_") || strings.EqualFold(strings.TrimLeft(rate, "+-"), "inf"):
			return Trace{}, fmt.Errorf("trace line %d, column requests_per_second: %q is not a finite number", line, truncate(rate))
		case v < 0:
			return Trace{}, fmt.Errorf("trace line %d, column requests_per_second: %s is negative", line, rate)
		}
		switch n := len(t.Rates); {
		case n == 0:
			t.Start = at
		case !at.After(prev):
			return Trace{}, fmt.Errorf("trace line %d, column timestamp: %s is not after the previous line's %s (unsorted or duplicate)",
				line, ts, prev.Format(time.RFC3339Nano))
		case n == 1:
			t.Step = at.Sub(prev)
		case at.Sub(prev) != t.Step:
			return Trace{}, fmt.Errorf("trace line %d, column timestamp: step %s, but the trace's step is %s (a gap or an irregular step)",
				line, at.Sub(prev), t.Step)
		}
		t.Rates = append(t.Rates, v)
		prev = at
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Trace{}, fmt.Errorf("trace line %d: longer than %d bytes", line+1, maxTraceLine)
		}
		return Trace{}, fmt.Errorf("trace: %w", err)
	}
	switch {
	case line == 0:
		return Trace{}, errors.New("trace: empty file")
	case len(t.Rates) < 2:
		return Trace{}, fmt.Errorf("trace: %d rows, need at least 2 (the step is the difference of two timestamps)", len(t.Rates))
	}
	return t, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// WriteCSV writes the trace in its file format.
func (t Trace) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(TraceHeader + "\n")
	for i, v := range t.Rates {
		at := t.Start.Add(time.Duration(i) * t.Step).UTC()
		bw.WriteString(at.Format(time.RFC3339Nano))
		bw.WriteByte(',')
		bw.WriteString(strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
