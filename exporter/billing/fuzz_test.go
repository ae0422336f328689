package billing

import (
	"bytes"
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// FuzzReadFOCUSCSV: whatever the bytes, the reader never panics, every
// line it keeps obeys the store's rules, and every row error says where.
// The seeds (the spec's files and the quirks) run in every `go test`.
func FuzzReadFOCUSCSV(f *testing.F) {
	for _, name := range []string{"testdata/spec_v1.2_cd_flex_100pct_2_resources.csv", "testdata/spec_v1.2_saas_spend_agreements_b2.csv"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("BilledCost,ChargePeriodStart\r\n\r\n1,1/2/06\r\nnull,NULL\r\n"))
	f.Add([]byte("BilledCost,ChargePeriodStart,ChargeCategory,Tags\n-1,2026-01-01 00:00:00,Credit,\"{\"\"a\"\":1}\"\n"))
	f.Add([]byte("\"BilledCost\",\"ChargePeriodStart\"\n\"1\"x,\"2026\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, errs, err := ReadFOCUSCSV(bytes.NewReader(data), "fuzz.csv", FocusOptions{Service: "s"})
		if err != nil {
			return
		}
		for _, l := range lines {
			if err := CheckAmount(l.Amount); err != nil {
				t.Fatalf("kept a line the store would refuse: %v", err)
			}
			if l.Currency != "USD" || l.Date.IsZero() || l.Service == "" {
				t.Fatalf("kept an incomplete line: %+v", l)
			}
		}
		for _, e := range errs {
			if len(e.Where) < len("fuzz.csv:1") {
				t.Fatalf("row error without a place: %v", e)
			}
		}
	})
}

// FuzzFOCUSTotal: two exact decimal lines (any sign, up to 12 decimals) and
// a third field of any text. The two are always kept, to the last digit;
// the third is kept only as the exact number its text says, or reported
// at its row and the BilledCost column; the total is the kept lines' own.
func FuzzFOCUSTotal(f *testing.F) {
	f.Add(int64(123), uint8(10), int64(-5), uint8(0), "0.0000000123")
	f.Add(int64(-2469135780246), uint8(12), int64(1), uint8(12), "-0.000000000001")
	f.Add(int64(0), uint8(0), int64(999999999999), uint8(3), "1e400")
	f.Add(int64(1), uint8(2), int64(-1), uint8(2), "1,234.00")
	f.Add(int64(7), uint8(0), int64(7), uint8(1), "NULL")
	f.Fuzz(func(t *testing.T, c1 int64, e1 uint8, c2 int64, e2 uint8, third string) {
		a := decimal.New(c1, -int32(e1%13))
		b := decimal.New(c2, -int32(e2%13))
		var sb strings.Builder
		w := csv.NewWriter(&sb)
		w.Write([]string{"BilledCost", "ChargeCategory", "ChargePeriodStart", "ServiceName"})
		w.Write([]string{a.String(), "Usage", "2026-11-01", "s"})
		w.Write([]string{b.String(), "Credit", "2026-11-02", "s"})
		w.Write([]string{third, "Tax", "2026-11-03", "s"})
		w.Flush()
		lines, errs, err := ReadFOCUSCSV(strings.NewReader(sb.String()), "f.csv", FocusOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) < 2 || !lines[0].Amount.Equal(a) || !lines[1].Amount.Equal(b) {
			t.Fatalf("exact lines %s and %s not kept as such: %+v %v", a, b, lines, errs)
		}
		want := a.Add(b)
		switch {
		case len(lines) == 3:
			v, perr := decimal.NewFromString(strings.TrimSpace(third))
			if perr != nil || !v.Equal(lines[2].Amount) {
				t.Fatalf("third field %q kept as %s", third, lines[2].Amount)
			}
			want = want.Add(v)
		case len(errs) == 0:
			t.Fatalf("third field %q neither kept nor reported", third)
		default:
			if !strings.HasPrefix(errs[0].Where, "f.csv:4") && !strings.HasPrefix(errs[0].Where, "f.csv:5") {
				t.Fatalf("error for the third row at %s: %v", errs[0].Where, errs[0])
			}
		}
		if got := sum(lines); !got.Equal(want) {
			t.Fatalf("total %s, want %s", got, want)
		}
	})
}
