package billing

import (
	"bytes"
	"os"
	"testing"
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
