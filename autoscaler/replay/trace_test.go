package replay

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var traceT0 = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

// traceCSV is a trace file of the header and rows, LF-ended.
func traceCSV(rows ...string) string {
	return traceHeader + "\n" + strings.Join(append(rows, ""), "\n")
}

// traceMinuteRows are n rows a minute apart from traceT0, at rate 1.
func traceMinuteRows(n int) []string {
	rows := make([]string, n)
	for i := range rows {
		rows[i] = traceT0.Add(time.Duration(i)*time.Minute).Format(time.RFC3339) + ",1"
	}
	return rows
}

// traceSame compares as ReadTrace's contract promises: Start in UTC, the
// same step, the same rates bit for bit (so a negative zero shows).
func traceSame(a, b Trace) bool {
	if !a.Start.Equal(b.Start) || a.Start.Location() != b.Start.Location() || a.Step != b.Step || len(a.Rates) != len(b.Rates) {
		return false
	}
	for i := range a.Rates {
		if math.Float64bits(a.Rates[i]) != math.Float64bits(b.Rates[i]) {
			return false
		}
	}
	return true
}

func TestReadTraceRefuses(t *testing.T) {
	t.Parallel()
	const hdr = traceHeader + "\n"
	const r0, r1 = "2027-03-01T00:00:00Z,1", "2027-03-01T00:01:00Z,1"
	gap := traceMinuteRows(56)
	gap[55] = traceT0.Add(56*time.Minute).Format(time.RFC3339) + ",1"
	long := func(n int) string { // a valid row of n bytes
		return "2027-03-01T00:00:00Z,1." + strings.Repeat("0", n-len("2027-03-01T00:00:00Z,1."))
	}
	cases := []struct {
		name, in, want string
	}{
		{"empty file", "", `trace is empty; want the header line "timestamp,requests_per_second"`},
		{"wrong header", "time,rps\n" + r0 + "\n" + r1 + "\n",
			`trace line 1: header "time,rps", want "timestamp,requests_per_second"`},
		{"header in another case", "Timestamp,Requests_Per_Second\n" + r0 + "\n" + r1 + "\n",
			`trace line 1: header "Timestamp,Requests_Per_Second", want "timestamp,requests_per_second"`},
		{"header with a space", "timestamp, requests_per_second\n" + r0 + "\n" + r1 + "\n",
			`trace line 1: header "timestamp, requests_per_second", want "timestamp,requests_per_second"`},
		{"missing header", r0 + "\n" + r1 + "\n",
			`trace line 1: header "2027-03-01T00:00:00Z,1", want "timestamp,requests_per_second" (the header line is missing)`},
		{"byte order mark", "\uFEFF" + hdr + r0 + "\n" + r1 + "\n",
			`trace line 1: header "\ufefftimestamp,requests_per_second", want "timestamp,requests_per_second" (a UTF-8 byte order mark precedes it)`},
		{"blank first line", "\n" + hdr + r0 + "\n" + r1 + "\n",
			`trace line 1: header "", want "timestamp,requests_per_second"`},
		{"NUL in header", "timestamp\x00,requests_per_second\n" + r0 + "\n" + r1 + "\n",
			`trace line 1: header "timestamp\x00,requests_per_second" contains a NUL byte`},
		{"invalid UTF-8 in header", "timestamp,requests_per_second\xff\n" + r0 + "\n" + r1 + "\n",
			`trace line 1: header "timestamp,requests_per_second\xff" is not valid UTF-8`},
		{"UTF-16", "\xff\xfet\x00i\x00m\x00e\x00\n",
			`trace line 1: header "\xff\xfet\x00i\x00m\x00e\x00" contains a NUL byte`},
		{"NUL in a timestamp", hdr + "2027-03-01T00:00:00Z\x00,1\n" + r1 + "\n",
			`trace line 2, column timestamp: "2027-03-01T00:00:00Z\x00" contains a NUL byte`},
		{"NUL in a rate", hdr + r0 + "\n2027-03-01T00:01:00Z,1\x002\n",
			`trace line 3, column requests_per_second: "1\x002" contains a NUL byte`},
		{"invalid UTF-8 in a rate", hdr + "2027-03-01T00:00:00Z,1\xff\n" + r1 + "\n",
			`trace line 2, column requests_per_second: "1\xff" is not valid UTF-8`},
		{"invalid UTF-8 in a timestamp", hdr + "2027-03-01T00:00:00\xc3Z,1\n" + r1 + "\n",
			`trace line 2, column timestamp: "2027-03-01T00:00:00\xc3Z" is not valid UTF-8`},
		{"invalid UTF-8 in a third field", hdr + r0 + ",\xe2\x82\n" + r1 + "\n",
			`trace line 2, column 3: "\xe2\x82" is not valid UTF-8`},
		{"one field", hdr + "2027-03-01T00:00:00Z\n" + r1 + "\n",
			`trace line 2: 1 field, want 2 (timestamp,requests_per_second)`},
		{"three fields", hdr + r0 + "\n" + r1 + ",2\n",
			`trace line 3: 3 fields, want 2 (timestamp,requests_per_second)`},
		{"a trailing comma", hdr + r0 + ",\n" + r1 + "\n",
			`trace line 2: 3 fields, want 2 (timestamp,requests_per_second)`},
		{"semicolons", hdr + "2027-03-01T00:00:00Z;1\n" + r1 + "\n",
			`trace line 2: 1 field, want 2 (timestamp,requests_per_second)`},
		{"empty line between rows", hdr + r0 + "\n\n" + r1 + "\n", `trace line 3: empty line`},
		{"empty CRLF line", hdr + r0 + "\r\n\r\n" + r1 + "\r\n", `trace line 3: empty line`},
		{"two trailing newlines", hdr + r0 + "\n" + r1 + "\n\n", `trace line 4: empty line`},
		{"quoted timestamp", hdr + `"2027-03-01T00:00:00Z",1` + "\n" + r1 + "\n",
			`trace line 2, column timestamp: "\"2027-03-01T00:00:00Z\"" is not an RFC 3339 time`},
		{"unsorted", hdr + r1 + "\n" + r0 + "\n",
			`trace line 3, column timestamp: 2027-03-01T00:00:00Z is not after the previous row's 2027-03-01T00:01:00Z (unsorted or duplicate)`},
		{"duplicate", hdr + r0 + "\n" + r1 + "\n" + "2027-03-01T00:01:00Z,2\n",
			`trace line 4, column timestamp: 2027-03-01T00:01:00Z is not after the previous row's 2027-03-01T00:01:00Z (unsorted or duplicate)`},
		{"duplicate in another offset", hdr + r0 + "\n2027-03-01T01:00:00+01:00,1\n",
			`trace line 3, column timestamp: 2027-03-01T00:00:00Z is not after the previous row's 2027-03-01T00:00:00Z (unsorted or duplicate)`},
		{"a gap", traceCSV(gap...),
			`trace line 57, column timestamp: step 2m0s, but the trace's step is 1m0s (a gap or an irregular step)`},
		{"an irregular step", hdr + r0 + "\n" + r1 + "\n2027-03-01T00:01:30Z,1\n",
			`trace line 4, column timestamp: step 30s, but the trace's step is 1m0s (a gap or an irregular step)`},
		{"a nanosecond off", hdr + r0 + "\n" + r1 + "\n2027-03-01T00:02:00.000000001Z,1\n",
			`trace line 4, column timestamp: step 1m0.000000001s, but the trace's step is 1m0s (a gap or an irregular step)`},
		{"a step beyond time.Duration", hdr + "0001-01-01T00:00:00Z,1\n9999-01-01T00:00:00Z,1\n",
			`trace line 3, column timestamp: the step from the previous row is longer than a time.Duration holds (about 292 years)`},
		{"a span beyond time.Duration", hdr + "1800-01-01T00:00:00Z,1\n1990-01-01T00:00:00Z,1\n",
			`trace line 3: the trace would last longer than a time.Duration holds (about 292 years)`},
		{"header only", hdr,
			`trace has no rows after the header; want at least 2, the step is the difference between the first two timestamps`},
		{"header only, no newline", traceHeader,
			`trace has no rows after the header; want at least 2, the step is the difference between the first two timestamps`},
		{"one row", hdr + r0 + "\n",
			`trace has only 1 row after the header; want at least 2, the step is the difference between the first two timestamps`},
		{"a line of 1025 bytes", hdr + long(1025) + "\n" + r1 + "\n", `trace line 2: longer than 1024 bytes`},
		{"a line of 1025 bytes at the end", hdr + r0 + "\n" + long(1025), `trace line 3: longer than 1024 bytes`},
		{"a line of 5000 bytes", hdr + long(5000) + "\n" + r1 + "\n", `trace line 2: longer than 1024 bytes`},
		{"a header of 2000 bytes", strings.Repeat("t", 2000) + "\n", `trace line 1: longer than 1024 bytes`},
	}
	for _, bad := range []string{
		"2027-13-01T00:00:00Z", "2027-00-01T00:00:00Z", "2027-02-29T00:00:00Z", "2027-04-31T00:00:00Z",
		"2027-03-00T00:00:00Z", "2027-03-01T24:00:00Z", "2027-03-01T00:60:00Z", "2027-03-01T23:59:60Z",
		"2027-03-01 00:00:00Z", "2027-03-01T00:00:00", "2027-03-01T00:00:00.Z", "2027-03-01T00:00:00;5Z",
		"2027-03-01T00:00:00+0200", "2027-03-01T00:00:00+02", "2027-03-01T00:00:00+24:00", "2027-03-01T00:00:00+02:60",
		"2027-03-01T0:00:00Z", "2027-3-01T00:00:00Z", "27-03-01T00:00:00Z", "+2027-03-01T00:00:00Z",
		"2027-03-01", "1772323200", " 2027-03-01T00:00:00Z", "2027-03-01T00:00:00Z ", "2027-03-01T00:00:00ZZ",
		"2027-03-01T00:00:00UTC", "2027-03-01T00:00:00 +00:00", "", "Mon 01 Mar 2027 00:00:00 GMT",
		"2027-03-01T00:00:00.-1Z", "2027-03-01T00:00:00\u00a0Z", "２０２７-03-01T00:00:00Z",
	} {
		cases = append(cases, struct{ name, in, want string }{"timestamp " + bad, hdr + bad + ",1\n" + r1 + "\n",
			`trace line 2, column timestamp: ` + strconv.Quote(bad) + ` is not an RFC 3339 time`})
	}
	for bad, why := range map[string]string{
		"":                       "is not a decimal number",
		"abc":                    "is not a decimal number",
		" 1":                     "is not a decimal number",
		"1 ":                     "is not a decimal number",
		"+1":                     "is not a decimal number",
		".5":                     "is not a decimal number",
		"5.":                     "is not a decimal number",
		"1e":                     "is not a decimal number",
		"1e+":                    "is not a decimal number",
		"0x10":                   "is not a decimal number",
		"0x1p4":                  "is not a decimal number",
		"1_000":                  "is not a decimal number",
		"1,5":                    "", // three fields, tested above
		"1.5.5":                  "is not a decimal number",
		"--1":                    "is not a decimal number",
		`"1"`:                    "is not a decimal number",
		"1\r2":                   "is not a decimal number",
		"NaN":                    "is not a finite number",
		"nan":                    "is not a finite number",
		"Inf":                    "is not a finite number",
		"+Inf":                   "is not a finite number",
		"-inf":                   "is not a finite number",
		"1e309":                  "is not a finite number (too large for a float64)",
		strings.Repeat("9", 400): "is not a finite number (too large for a float64)",
		"-1":                     "is negative",
		"-0.001":                 "is negative",
		"-1e-400":                "is negative",
		"-1e309":                 "is negative",
	} {
		if why == "" {
			continue
		}
		cases = append(cases, struct{ name, in, want string }{"rate " + bad, hdr + "2027-03-01T00:00:00Z," + bad + "\n" + r1 + "\n",
			`trace line 2, column requests_per_second: ` + strconv.Quote(bad) + ` ` + why})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tr, err := ReadTrace(strings.NewReader(c.in))
			if err == nil {
				t.Fatalf("accepted: %+v", tr)
			}
			if err.Error() != c.want {
				t.Errorf("error\n got %s\nwant %s", err, c.want)
			}
			if !traceSame(tr, Trace{}) {
				t.Errorf("returned a partial trace with the error: %+v", tr)
			}
		})
	}
}

func TestReadTraceRowLimit(t *testing.T) {
	t.Parallel()
	in := traceCSV(traceMinuteRows(4)...)
	if _, err := traceRead(strings.NewReader(in), 4); err != nil {
		t.Fatalf("4 rows at a limit of 4: %v", err)
	}
	_, err := traceRead(strings.NewReader(in), 3)
	if want := "trace line 5: more than 3 rows"; err == nil || err.Error() != want {
		t.Fatalf("4 rows at a limit of 3: %v, want %s", err, want)
	}
	if traceMaxRows != 10_000_000 {
		t.Errorf("the row limit is %d, the contract says 10,000,000", traceMaxRows)
	}
}

func TestReadTraceLineLimit(t *testing.T) {
	t.Parallel()
	row := "2027-03-01T00:00:00Z,1." + strings.Repeat("0", traceMaxLineBytes-len("2027-03-01T00:00:00Z,1."))
	if len(row) != 1024 {
		t.Fatal(len(row))
	}
	for _, eol := range []string{"\n", "\r\n"} {
		tr, err := ReadTrace(strings.NewReader(traceHeader + eol + row + eol + "2027-03-01T00:01:00Z,2" + eol))
		if err != nil {
			t.Fatalf("a line of exactly 1 KiB (%q-ended): %v", eol, err)
		}
		if tr.Rates[0] != 1 {
			t.Errorf("rate %v, want 1", tr.Rates[0])
		}
	}
}

func TestReadTraceAccepts(t *testing.T) {
	t.Parallel()
	want := Trace{Start: traceT0, Step: time.Minute, Rates: []float64{1, 2.5, 0}}
	rows := []string{"2027-03-01T00:00:00Z,1", "2027-03-01T00:01:00Z,2.5", "2027-03-01T00:02:00Z,0"}
	cases := []struct {
		name string
		in   string
		want Trace
	}{
		{"LF", traceCSV(rows...), want},
		{"no trailing newline", strings.TrimSuffix(traceCSV(rows...), "\n"), want},
		{"CRLF", strings.ReplaceAll(traceCSV(rows...), "\n", "\r\n"), want},
		{"CRLF, no trailing newline", strings.TrimSuffix(strings.ReplaceAll(traceCSV(rows...), "\n", "\r\n"), "\r\n"), want},
		{"mixed line ends", traceHeader + "\r\n" + rows[0] + "\n" + rows[1] + "\r\n" + rows[2], want},
		{"offsets normalized to UTC", traceCSV("2027-03-01T02:00:00+02:00,1", "2027-02-28T19:01:00-05:00,2.5", "2027-03-01T05:32:00+05:30,0"), want},
		{"-00:00 is UTC", traceCSV("2027-03-01T00:00:00-00:00,1", "2027-03-01T00:01:00+00:00,2.5", "2027-03-01T00:02:00Z,0"), want},
		{"lower-case t and z (RFC 3339 allows them)", traceCSV("2027-03-01t00:00:00z,1", "2027-03-01T00:01:00z,2.5", "2027-03-01t00:02:00Z,0"), want},
		{"rate spellings", traceCSV("2027-03-01T00:00:00Z,001", "2027-03-01T00:01:00Z,25e-1", "2027-03-01T00:02:00Z,-0.000"), want},
		{"exponents", traceCSV("2027-03-01T00:00:00Z,0.1E1", "2027-03-01T00:01:00Z,2.5e+0", "2027-03-01T00:02:00Z,1e-400"), want},
		{"fractional seconds", traceCSV("2027-03-01T00:00:00.25Z,1", "2027-03-01T00:00:00.75Z,2", "2027-03-01T00:00:01.250Z,3"),
			Trace{Start: traceT0.Add(250 * time.Millisecond), Step: 500 * time.Millisecond, Rates: []float64{1, 2, 3}}},
		{"fractions of a nanosecond are cut", traceCSV("2027-03-01T00:00:00.0000000019Z,1", "2027-03-01T00:00:00.000000002999Z,2"),
			Trace{Start: traceT0.Add(time.Nanosecond), Step: time.Nanosecond, Rates: []float64{1, 2}}},
		{"fractions with an offset", traceCSV("2027-03-01T01:00:00.5+01:00,1", "2027-03-01T00:00:01Z,2"),
			Trace{Start: traceT0.Add(500 * time.Millisecond), Step: 500 * time.Millisecond, Rates: []float64{1, 2}}},
		{"a leap day", traceCSV("2028-02-29T23:59:00Z,1", "2028-03-01T00:00:00Z,2"),
			Trace{Start: time.Date(2028, 2, 29, 23, 59, 0, 0, time.UTC), Step: time.Minute, Rates: []float64{1, 2}}},
		{"year 0000 and a day's step", traceCSV("0000-12-31T00:00:00Z,1", "0001-01-01T00:00:00Z,2"),
			Trace{Start: time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC), Step: 24 * time.Hour, Rates: []float64{1, 2}}},
		{"a step of a week across a DST change", traceCSV("2027-03-22T12:00:00+01:00,1", "2027-03-29T12:00:00+02:00,2"),
			Trace{Start: time.Date(2027, 3, 22, 11, 0, 0, 0, time.UTC), Step: 7*24*time.Hour - time.Hour, Rates: []float64{1, 2}}},
		{"big and small rates", traceCSV("2027-03-01T00:00:00Z,1.7976931348623157e308", "2027-03-01T00:01:00Z,0.0000001"),
			Trace{Start: traceT0, Step: time.Minute, Rates: []float64{math.MaxFloat64, 1e-7}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := ReadTrace(strings.NewReader(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if !traceSame(got, c.want) {
				t.Errorf("got  %v %v %v (%v)\nwant %v %v %v", got.Start, got.Step, got.Rates, got.Start.Location(), c.want.Start, c.want.Step, c.want.Rates)
			}
		})
	}
}

// The reader must not depend on how the input arrives.
func TestReadTraceChunking(t *testing.T) {
	t.Parallel()
	in := strings.ReplaceAll(traceCSV(traceMinuteRows(50)...), "\n", "\r\n")
	want, err := ReadTrace(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]io.Reader{
		"one byte at a time": iotest.OneByteReader(strings.NewReader(in)),
		"halves":             iotest.HalfReader(strings.NewReader(in)),
		"EOF with the data":  iotest.DataErrReader(strings.NewReader(in)),
	} {
		got, err := ReadTrace(r)
		if err != nil || !traceSame(got, want) {
			t.Errorf("%s: %v, %v", name, got, err)
		}
	}
}

func TestReadTraceReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, err := ReadTrace(io.MultiReader(strings.NewReader(traceCSV("2027-03-01T00:00:00Z,1")), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || err.Error() != "trace line 3: boom" {
		t.Fatalf("%v, want trace line 3: boom wrapping it", err)
	}
}

func TestReadTraceFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := ReadTraceFile(filepath.Join(dir, "none.csv")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(path, []byte(traceCSV("2027-03-01T00:00:00Z,-1", "2027-03-01T00:01:00Z,1")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadTraceFile(path)
	if want := path + `: trace line 2, column requests_per_second: "-1" is negative`; err == nil || err.Error() != want {
		t.Errorf("%v, want %s", err, want)
	}
	good := filepath.Join(dir, "good.csv")
	if err := os.WriteFile(good, []byte(traceCSV(traceMinuteRows(3)...)), 0o644); err != nil {
		t.Fatal(err)
	}
	if tr, err := ReadTraceFile(good); err != nil || len(tr.Rates) != 3 {
		t.Errorf("%v, %v", tr, err)
	}
}

func TestTraceAt(t *testing.T) {
	t.Parallel()
	tr := Trace{Start: traceT0, Step: time.Minute, Rates: []float64{10, 20, 30}}
	if got, want := tr.End(), traceT0.Add(3*time.Minute); !got.Equal(want) {
		t.Errorf("End %v, want %v (the last step included)", got, want)
	}
	if got := tr.Duration(); got != 3*time.Minute {
		t.Errorf("Duration %v", got)
	}
	for _, c := range []struct {
		at   time.Time
		want float64
	}{
		{time.Time{}, 0},
		{traceT0.Add(-time.Nanosecond), 0},
		{traceT0, 10},
		{traceT0.Add(time.Minute - time.Nanosecond), 10},
		{traceT0.Add(time.Minute), 20},
		{traceT0.In(time.FixedZone("+02", 7200)).Add(90 * time.Second), 20},
		{traceT0.Add(3*time.Minute - time.Nanosecond), 30},
		{traceT0.Add(3 * time.Minute), 0},
		{traceT0.AddDate(400, 0, 0), 0},
		{time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC), 0},
	} {
		if got := tr.At(c.at); got != c.want {
			t.Errorf("At(%v) = %v, want %v", c.at, got, c.want)
		}
	}
	var zero Trace
	if zero.At(traceT0) != 0 || zero.Duration() != 0 || !zero.End().IsZero() {
		t.Error("the zero Trace is not empty")
	}
}

func TestWriteCSV(t *testing.T) {
	t.Parallel()
	tr := Trace{
		Start: time.Date(2027, 3, 1, 2, 0, 0, 0, time.FixedZone("CEST", 2*3600)),
		Step:  1500 * time.Millisecond,
		Rates: []float64{1, 2.5, 1.0005, 0.0005, 0.0004, 1234.5678, 1e21, 3.0000000001},
	}
	var buf bytes.Buffer
	if err := tr.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	// 1.0005 is 1.000499… in binary and rounds down; 0.0005 is 0.000500…01.
	want := traceCSV(
		"2027-03-01T00:00:00Z,1",
		"2027-03-01T00:00:01.5Z,2.5",
		"2027-03-01T00:00:03Z,1",
		"2027-03-01T00:00:04.5Z,0.001",
		"2027-03-01T00:00:06Z,0",
		"2027-03-01T00:00:07.5Z,1234.568",
		"2027-03-01T00:00:09Z,1000000000000000000000",
		"2027-03-01T00:00:10.5Z,3",
	)
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	var ns bytes.Buffer
	if err := (Trace{Start: traceT0.Add(time.Nanosecond), Step: time.Nanosecond, Rates: []float64{0, 0}}).WriteCSV(&ns); err != nil {
		t.Fatal(err)
	}
	if want := traceCSV("2027-03-01T00:00:00.000000001Z,0", "2027-03-01T00:00:00.000000002Z,0"); ns.String() != want {
		t.Errorf("got\n%s\nwant\n%s", ns.String(), want)
	}
}

func TestWriteCSVRefuses(t *testing.T) {
	t.Parallel()
	ok := []float64{1, 2}
	for _, c := range []struct {
		tr   Trace
		want string
	}{
		{Trace{Start: traceT0, Step: 0, Rates: ok}, "write trace: step 0s is not positive"},
		{Trace{Start: traceT0, Step: -time.Second, Rates: ok}, "write trace: step -1s is not positive"},
		{Trace{Start: traceT0, Step: time.Second, Rates: []float64{1}}, "write trace: 1 rows, want at least 2"},
		{Trace{Start: traceT0, Step: time.Second, Rates: []float64{1, -0.001}}, "write trace: row 1: rate -0.001 is not a non-negative finite number"},
		{Trace{Start: traceT0, Step: time.Second, Rates: []float64{math.NaN(), 1}}, "write trace: row 0: rate NaN is not a non-negative finite number"},
		{Trace{Start: traceT0, Step: time.Second, Rates: []float64{1, math.Inf(1)}}, "write trace: row 1: rate +Inf is not a non-negative finite number"},
		{Trace{Start: traceT0, Step: 200 * 365 * 24 * time.Hour, Rates: ok}, "write trace: the trace lasts longer than a time.Duration holds (about 292 years)"},
		{Trace{Start: time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC), Step: time.Minute, Rates: ok},
			"write trace: timestamps from 9999-12-31 23:59:00 +0000 UTC to 10000-01-01 00:00:00 +0000 UTC: RFC 3339 holds years 0000 to 9999 only"},
		{Trace{Step: time.Minute, Rates: ok}, ""},
		{Trace{Start: time.Date(-1, 12, 31, 23, 59, 0, 0, time.UTC), Step: time.Minute, Rates: ok},
			"write trace: timestamps from -0001-12-31 23:59:00 +0000 UTC to 0000-01-01 00:00:00 +0000 UTC: RFC 3339 holds years 0000 to 9999 only"},
	} {
		err := c.tr.WriteCSV(io.Discard)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.tr, err)
		case c.want != "" && (err == nil || err.Error() != c.want):
			t.Errorf("%+v: %v, want %s", c.tr, err, c.want)
		}
	}
	boom := errors.New("boom")
	err := Trace{Start: traceT0, Step: time.Second, Rates: ok}.WriteCSV(traceFailingWriter{boom})
	if !errors.Is(err, boom) {
		t.Errorf("a failing writer: %v", err)
	}
}

type traceFailingWriter struct{ err error }

func (w traceFailingWriter) Write([]byte) (int, error) { return 0, w.err }

// traceRoundTrips checks that tr, written and read back, is tr with its
// rates rounded to 3 decimals, and that writing that again gives the same
// bytes: a trace file is a fixed point of ReadTrace and WriteCSV.
func traceRoundTrips(t *testing.T, tr Trace) {
	t.Helper()
	var first bytes.Buffer
	if err := tr.WriteCSV(&first); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	back, err := ReadTrace(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatalf("ReadTrace of WriteCSV's output: %v\n%.500s", err, first.String())
	}
	want := Trace{Start: tr.Start.UTC(), Step: tr.Step, Rates: make([]float64, len(tr.Rates))}
	for i, v := range tr.Rates {
		want.Rates[i] = traceRound3(v)
	}
	if !traceSame(back, want) {
		t.Fatalf("read back as\n%v %v %v\nwant\n%v %v %v", back.Start, back.Step, back.Rates, want.Start, want.Step, want.Rates)
	}
	var second bytes.Buffer
	if err := back.WriteCSV(&second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatalf("written twice, differs:\n%.500s\n%.500s", first.String(), second.String())
	}
}

func TestTraceRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	steps := []time.Duration{time.Nanosecond, time.Millisecond, time.Second, 5 * time.Second, time.Minute, time.Hour, 24 * time.Hour}
	for range 500 {
		var step time.Duration
		if r.IntN(2) == 0 {
			step = steps[r.IntN(len(steps))]
		} else {
			step = time.Duration(1 + r.Int64N(int64(time.Hour)))
		}
		n := 2 + r.IntN(300)
		start := time.Date(r.IntN(9000), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1e9),
			time.FixedZone("", (r.IntN(48)-24)*1800))
		tr := Trace{Start: start, Step: step, Rates: make([]float64, n)}
		for i := range tr.Rates {
			switch r.IntN(6) {
			case 0:
				tr.Rates[i] = 0
			case 1:
				tr.Rates[i] = float64(r.IntN(5000))
			case 2:
				tr.Rates[i] = r.Float64() * 1e-2
			case 3:
				tr.Rates[i] = math.Ldexp(r.Float64(), r.IntN(1000))
			default:
				tr.Rates[i] = r.Float64() * 5000
			}
		}
		traceRoundTrips(t, tr)
	}
	for _, name := range TraceNames {
		tr, err := GenerateTrace(name)
		if err != nil {
			t.Fatal(err)
		}
		traceRoundTrips(t, tr)
	}
}

func FuzzReadTrace(f *testing.F) {
	for _, s := range []string{
		traceCSV(traceMinuteRows(3)...),
		strings.ReplaceAll(traceCSV(traceMinuteRows(3)...), "\n", "\r\n"),
		traceCSV("2027-03-01T00:00:00.25Z,1", "2027-03-01T00:00:00.75Z,2.5", "2027-03-01T00:00:01.25Z,3e2"),
		traceCSV("2027-03-01T02:00:00+02:00,1", "2027-02-28T19:01:00-05:00,1.7976931348623157e308"),
		traceCSV("0000-01-01T00:00:00Z,-0", "0100-01-01T00:00:00Z,1e-400"),
		traceCSV("2027-03-01T00:00:00Z,1", "2027-03-01T00:00:00Z,1"),
		traceCSV("2027-03-01T00:00:00Z,NaN", "2027-03-01T00:01:00Z,1"),
		traceHeader + "\n2027-03-01T00:00:00Z,1,2\n\n",
		"",
		"\uFEFF" + traceHeader,
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "traces", "sawtooth.csv")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ReadTrace(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "trace ") {
				t.Fatalf("error without the trace prefix: %v", err)
			}
			return
		}
		if tr.Step <= 0 || len(tr.Rates) < 2 || tr.Start.Location() != time.UTC {
			t.Fatalf("accepted a trace ReadTrace promises never to return: %v %v %d rows", tr.Start, tr.Step, len(tr.Rates))
		}
		for i, v := range tr.Rates {
			if !(v >= 0) || math.IsInf(v, 0) || math.Signbit(v) {
				t.Fatalf("row %d: rate %v", i, v)
			}
		}
		traceRoundTrips(t, tr)
	})
}

func BenchmarkReadTrace(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "traces", "daily.csv"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadTrace(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
