package replay

// Load traces are a contract that other tools script against (see
// testdata/traces/README.md), so ReadTrace is strict: a trace that reads
// is exactly the trace its author meant, and anything else is refused with
// the line and column at fault rather than repaired or skipped.
//
// Unexported names in this file start with "trace" because other files of
// the package are written by others at the same time.

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

const (
	traceHeader = "timestamp,requests_per_second"
	// 10M rows is 19 years at a minute or 116 days at a second: more than
	// any replay needs, and it keeps a hostile file to ~80 MB of rates.
	traceMaxRows = 10_000_000
	// The longest valid row is ~350 bytes (a 35-byte timestamp and the
	// longest float64 in 'f' form); 1 KiB leaves room and bounds a line.
	traceMaxLineBytes = 1024
	traceColTimestamp = "timestamp"
	traceColRate      = "requests_per_second"
)

// Trace is a load trace: requests per second at fixed steps.
type Trace struct {
	Start time.Time     // first timestamp (UTC)
	Step  time.Duration // fixed step
	Rates []float64     // Rates[i] is the rate during [Start+i*Step, Start+(i+1)*Step)
}

// End is the instant the last step ends, not the last row's timestamp,
// because the last rate is in force for a whole step.
func (t Trace) End() time.Time { return t.Start.Add(t.Duration()) }

// Duration is the time the trace covers, last step included.
func (t Trace) Duration() time.Duration { return time.Duration(len(t.Rates)) * t.Step }

// At is the rate in force at an instant: a step function, 0 before Start
// and from End on, so a simulation that outruns its trace sees no load
// rather than the last value forever.
func (t Trace) At(at time.Time) float64 {
	if t.Step <= 0 || len(t.Rates) == 0 || at.Before(t.Start) {
		return 0
	}
	// Sub saturates rather than wrapping, so a far-off instant lands past
	// the end instead of at a bogus index.
	i := at.Sub(t.Start) / t.Step
	if i >= time.Duration(len(t.Rates)) {
		return 0
	}
	return t.Rates[i]
}

// ReadTraceFile reads a trace with ReadTrace; errors name the file.
func ReadTraceFile(path string) (Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return Trace{}, err
	}
	defer f.Close()
	tr, err := ReadTrace(f)
	if err != nil {
		return Trace{}, fmt.Errorf("%s: %w", path, err)
	}
	return tr, nil
}

// ReadTrace reads a CSV trace: the header line
// "timestamp,requests_per_second", then at least two rows of an RFC 3339
// timestamp and a non-negative finite decimal rate, at one fixed step.
// LF or CRLF line ends, with or without one at the end of the file.
func ReadTrace(r io.Reader) (Trace, error) {
	return traceRead(r, traceMaxRows)
}

// traceRead takes the row limit so tests can reach it without writing
// ten million rows.
func traceRead(r io.Reader, maxRows int) (Trace, error) {
	// The buffer only has to hold one line of the allowed length; a line
	// that fills it is too long whatever the rest of it holds.
	br := bufio.NewReaderSize(r, 4*traceMaxLineBytes)
	var (
		tr   Trace
		prev time.Time
		line int
	)
	for eof := false; !eof; {
		raw, err := br.ReadSlice('\n')
		switch {
		case err == io.EOF:
			eof = true
			if len(raw) == 0 {
				continue
			}
		case errors.Is(err, bufio.ErrBufferFull):
			return Trace{}, fmt.Errorf("trace line %d: longer than %d bytes", line+1, traceMaxLineBytes)
		case err != nil:
			return Trace{}, fmt.Errorf("trace line %d: %w", line+1, err)
		}
		line++
		text := raw
		if n := len(text); n > 0 && text[n-1] == '\n' {
			text = text[:n-1]
			if n := len(text); n > 0 && text[n-1] == '\r' {
				text = text[:n-1]
			}
		}
		if len(text) > traceMaxLineBytes {
			return Trace{}, fmt.Errorf("trace line %d: longer than %d bytes", line, traceMaxLineBytes)
		}
		if line == 1 {
			if err := traceCheckHeader(text); err != nil {
				return Trace{}, err
			}
			continue
		}
		if len(tr.Rates) == maxRows {
			return Trace{}, fmt.Errorf("trace line %d: more than %d rows", line, maxRows)
		}
		at, rate, err := traceParseRow(text, line)
		if err != nil {
			return Trace{}, err
		}
		switch len(tr.Rates) {
		case 0:
			tr.Start = at
		default:
			step := at.Sub(prev)
			if step <= 0 {
				return Trace{}, fmt.Errorf("trace line %d, column %s: %s is not after the previous row's %s (unsorted or duplicate)",
					line, traceColTimestamp, at.Format(time.RFC3339Nano), prev.Format(time.RFC3339Nano))
			}
			// Sub saturates at ~292 years; the step must be the real one.
			if !prev.Add(step).Equal(at) {
				return Trace{}, fmt.Errorf("trace line %d, column %s: the step from the previous row is longer than a time.Duration holds (about 292 years)",
					line, traceColTimestamp)
			}
			if len(tr.Rates) == 1 {
				tr.Step = step
			} else if step != tr.Step {
				return Trace{}, fmt.Errorf("trace line %d, column %s: step %v, but the trace's step is %v (a gap or an irregular step)",
					line, traceColTimestamp, step, tr.Step)
			}
			// Duration and End must not overflow for any accepted trace.
			if tr.Step > time.Duration(math.MaxInt64)/time.Duration(len(tr.Rates)+1) {
				return Trace{}, fmt.Errorf("trace line %d: the trace would last longer than a time.Duration holds (about 292 years)", line)
			}
		}
		prev = at
		tr.Rates = append(tr.Rates, rate)
	}
	switch {
	case line == 0:
		return Trace{}, fmt.Errorf("trace is empty; want the header line %q", traceHeader)
	case len(tr.Rates) < 2:
		rows := "no rows"
		if len(tr.Rates) == 1 {
			rows = "only 1 row"
		}
		return Trace{}, fmt.Errorf("trace has %s after the header; want at least 2, the step is the difference between the first two timestamps", rows)
	}
	return tr, nil
}

func traceCheckHeader(text []byte) error {
	switch {
	case bytes.IndexByte(text, 0) >= 0:
		return fmt.Errorf("trace line 1: header %q contains a NUL byte", text)
	case !utf8.Valid(text):
		return fmt.Errorf("trace line 1: header %q is not valid UTF-8", text)
	case string(text) == traceHeader:
		return nil
	}
	hint := ""
	if rest, ok := bytes.CutPrefix(text, []byte("\uFEFF")); ok && string(rest) == traceHeader {
		hint = " (a UTF-8 byte order mark precedes it)"
	} else if ts, _, ok := bytes.Cut(text, []byte(",")); ok {
		if _, ok := traceParseTime(ts); ok {
			hint = " (the header line is missing)"
		}
	}
	return fmt.Errorf("trace line 1: header %q, want %q%s", text, traceHeader, hint)
}

func traceParseRow(text []byte, line int) (time.Time, float64, error) {
	if len(text) == 0 {
		return time.Time{}, 0, fmt.Errorf("trace line %d: empty line", line)
	}
	if i := bytes.IndexByte(text, 0); i >= 0 {
		col, field := traceFieldAt(text, i)
		return time.Time{}, 0, fmt.Errorf("trace line %d, column %s: %q contains a NUL byte", line, col, field)
	}
	if !utf8.Valid(text) {
		col, field := traceFieldAt(text, traceFirstInvalidUTF8(text))
		return time.Time{}, 0, fmt.Errorf("trace line %d, column %s: %q is not valid UTF-8", line, col, field)
	}
	ts, rateText, ok := bytes.Cut(text, []byte(","))
	if !ok || bytes.IndexByte(rateText, ',') >= 0 {
		n := bytes.Count(text, []byte(",")) + 1
		fields := "fields"
		if n == 1 {
			fields = "field"
		}
		return time.Time{}, 0, fmt.Errorf("trace line %d: %d %s, want 2 (%s)", line, n, fields, traceHeader)
	}
	at, ok := traceParseTime(ts)
	if !ok {
		return time.Time{}, 0, fmt.Errorf("trace line %d, column %s: %q is not an RFC 3339 time", line, traceColTimestamp, ts)
	}
	rate, problem := traceParseRate(rateText)
	if problem != "" {
		return time.Time{}, 0, fmt.Errorf("trace line %d, column %s: %q %s", line, traceColRate, rateText, problem)
	}
	return at, rate, nil
}

// traceFieldAt names the column holding byte i of a line and returns that
// field, so that a bad byte is reported where the author will look for it.
func traceFieldAt(text []byte, i int) (string, []byte) {
	n := bytes.Count(text[:i], []byte(","))
	start := bytes.LastIndexByte(text[:i], ',') + 1
	end := len(text)
	if j := bytes.IndexByte(text[i:], ','); j >= 0 {
		end = i + j
	}
	col := strconv.Itoa(n + 1)
	switch n {
	case 0:
		col = traceColTimestamp
	case 1:
		col = traceColRate
	}
	return col, text[start:end]
}

func traceFirstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return 0
}

// traceParseTime parses RFC 3339 (section 5.6) by hand: time.Parse also
// takes one-digit hours, a comma before the fraction and other forms that
// are not RFC 3339, and a hand parser is several times faster. A leap
// second (:60) is refused because time.Time cannot hold one.
func traceParseTime(b []byte) (time.Time, bool) {
	if len(b) < len("2006-01-02T15:04:05Z") ||
		b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := traceDigits(b[0:4])
	month, ok2 := traceDigits(b[5:7])
	day, ok3 := traceDigits(b[8:10])
	hour, ok4 := traceDigits(b[11:13])
	minute, ok5 := traceDigits(b[14:16])
	sec, ok6 := traceDigits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > traceDaysIn(year, month) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := b[19:]
	nsec := 0
	if rest[0] == '.' {
		digits := 0
		for digits+1 < len(rest) && rest[digits+1] >= '0' && rest[digits+1] <= '9' {
			// RFC 3339 allows any number of digits; time.Time ends at ns.
			if digits < 9 {
				nsec = nsec*10 + int(rest[digits+1]-'0')
			}
			digits++
		}
		if digits == 0 {
			return time.Time{}, false
		}
		for i := digits; i < 9; i++ {
			nsec *= 10
		}
		rest = rest[1+digits:]
	}
	var offset int
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := traceDigits(rest[1:3])
		om, ok2 := traceDigits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

func traceDigits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func traceDaysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// traceParseRate takes a plain decimal, optionally with an exponent
// ("1.5", "1e-05": what spreadsheets and pandas write). It refuses what
// strconv.ParseFloat would also take (hex, underscores, "+", "Inf"), since
// other tools reading the same file would not. It returns why the text is
// refused, or "".
func traceParseRate(b []byte) (float64, string) {
	if !traceIsDecimal(b) {
		s := strings.ToLower(strings.TrimLeft(string(b), "+-"))
		if s == "nan" || s == "inf" || s == "infinity" {
			return 0, "is not a finite number"
		}
		return 0, "is not a decimal number"
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, "is not a decimal number"
	}
	if b[0] == '-' && traceNonzeroMantissa(b) {
		return 0, "is negative"
	}
	if math.IsInf(v, 0) {
		return 0, "is not a finite number (too large for a float64)"
	}
	// Underflow is fine (the value rounds to 0 anyway), and "-0" is zero:
	// keep no negative zero that would write back as "-0".
	if v == 0 {
		v = 0
	}
	return v, ""
}

// traceIsDecimal matches -?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?
func traceIsDecimal(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if !digits() {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(b)
}

func traceNonzeroMantissa(b []byte) bool {
	for _, c := range b {
		switch {
		case c == 'e' || c == 'E':
			return false
		case c >= '1' && c <= '9':
			return true
		}
	}
	return false
}

// traceRound3 rounds to 3 decimals through the decimal text, so that the
// value is exactly what WriteCSV writes and ReadTrace reads back (math.Round
// of v*1000 misrounds values such as 1.0005 and overflows near MaxFloat64).
func traceRound3(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 3, 64), 64)
	if r == 0 {
		return 0
	}
	return r
}

// WriteCSV writes the trace in the format ReadTrace reads: the header, then
// one row per step, times in UTC with fractional seconds only when needed,
// rates rounded to 3 decimals (a thousandth of a request per second is
// below anything a simulation can see). It refuses a trace that ReadTrace
// would refuse, so that nothing it writes fails to read back.
func (t Trace) WriteCSV(w io.Writer) error {
	if err := t.traceWritable(); err != nil {
		return fmt.Errorf("write trace: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(traceHeader + "\n")
	var buf []byte
	for i, v := range t.Rates {
		buf = t.Start.Add(time.Duration(i)*t.Step).UTC().AppendFormat(buf[:0], time.RFC3339Nano)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, traceRound3(v), 'f', -1, 64)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("write trace: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write trace: %w", err)
	}
	return nil
}

func (t Trace) traceWritable() error {
	n := len(t.Rates)
	switch {
	case t.Step <= 0:
		return fmt.Errorf("step %v is not positive", t.Step)
	case n < 2:
		return fmt.Errorf("%d rows, want at least 2", n)
	case n > traceMaxRows:
		return fmt.Errorf("%d rows, more than %d", n, traceMaxRows)
	case t.Step > time.Duration(math.MaxInt64)/time.Duration(n):
		return errors.New("the trace lasts longer than a time.Duration holds (about 292 years)")
	}
	// RFC 3339 has four-digit years.
	first, last := t.Start.UTC(), t.Start.Add(time.Duration(n-1)*t.Step).UTC()
	if first.Year() < 0 || last.Year() > 9999 {
		return fmt.Errorf("timestamps from %v to %v: RFC 3339 holds years 0000 to 9999 only", first, last)
	}
	for i, v := range t.Rates {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("row %d: rate %v is not a non-negative finite number", i, v)
		}
	}
	return nil
}
