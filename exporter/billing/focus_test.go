package billing

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func sum(lines []Line) decimal.Decimal {
	total := decimal.Zero
	for _, l := range lines {
		total = total.Add(l.Amount)
	}
	return total
}

// The FOCUS specification's own sample files (copied from
// ../shared/fixtures/focus, see SOURCES.md there), with their known totals.
func TestFOCUSFixtureTotals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		column string
		rows   int
		total  string
	}{
		{"spec_v1.2_cd_flex_100pct_2_resources.csv", "BilledCost", 3, "2.00"},
		{"spec_v1.2_cd_flex_100pct_2_resources.csv", "EffectiveCost", 3, "2.00"},
		{"spec_v1.2_cd_flex_100pct_2_resources.csv", "ListCost", 3, "8.00"},
		{"spec_v1.2_saas_spend_agreements_b2.csv", "BilledCost", 14, "1200"},
		{"spec_v1.2_saas_spend_agreements_b2.csv", "EffectiveCost", 14, "1200"},
		{"spec_v1.2_saas_spend_agreements_b2.csv", "ListCost", 14, "2457"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.column, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			lines, errs, err := ReadFOCUSCSV(f, tt.file, FocusOptions{CostColumn: tt.column, Service: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			if len(errs) > 0 {
				t.Errorf("row errors: %v", errs)
			}
			if len(lines) != tt.rows {
				t.Errorf("%d rows, want %d", len(lines), tt.rows)
			}
			if got := sum(lines); !got.Equal(decimal.RequireFromString(tt.total)) {
				t.Errorf("total %s, want %s", got, tt.total)
			}
		})
	}
}

func TestFOCUSFixtureFields(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/spec_v1.2_saas_spend_agreements_b2.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines, _, err := ReadFOCUSCSV(f, "saas.csv", FocusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// M/D/YY dates; the purchase has no ServiceName, the usage rows do.
	p, u := lines[0], lines[1]
	if !p.Date.Equal(time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)) || p.ChargeCategory != "Purchase" || p.Service != "Acme Co" ||
		p.Resource != "C-004" || p.Origin != "saas.csv:2" {
		t.Errorf("purchase row: %+v", p)
	}
	if u.Service != "AwesomeDB" || u.Resource != "U-123" || u.UsageUnit != "Server Hours" || !u.UsageQuantity.Decimal.Equal(decimal.NewFromInt(4)) {
		t.Errorf("usage row: %+v", u)
	}
	f2, _ := os.Open("testdata/spec_v1.2_cd_flex_100pct_2_resources.csv")
	defer f2.Close()
	lines, _, err = ReadFOCUSCSV(f2, "cd.csv", FocusOptions{Service: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	// CRLF with blank lines between rows: line numbers are the file's.
	if lines[1].Origin != "cd.csv:4" || lines[0].Service != "cloud" || lines[0].UsageQuantity.Valid || lines[1].ResourceID != "<my-medium-vm-id>" {
		t.Errorf("cd_flex rows: %+v", lines)
	}
}

// The quirks of real files, and a clear error for each row that cannot be
// read, with the rest of the file imported: negative amounts stand on every
// category; a row of the wrong width, an amount that is not a number or
// overflows, a currency that is not ISO 4217 are each that row's error.
func TestFOCUSQuirksAndRowErrors(t *testing.T) {
	t.Parallel()
	csv := "\ufeffBilledCost,BillingCurrency,ChargeCategory,ChargePeriodStart,ServiceName,Tags,x_Extra\r\n" +
		"1.10,USD,Usage,2026-11-01 10:00:00,Compute,\"{\"\"team\"\":\"\"ai\"\"}\",z\r\n" +
		"\r\n" +
		"2.20,usd,usage,11/2/26,Storage,NULL,z\r\n" +
		",USD,Usage,2026-11-03T00:00:00,Compute,null,\r\n" + // missing amount
		"abc,USD,Usage,2026-11-03T00:00:00Z,Compute,,\r\n" + // not a number
		"3.00,EUR,Usage,2026-11-03,Compute,,\r\n" + // another currency
		"-1.00,USD,Usage,2026-11-03,Compute,,\r\n" + // a refund as negative usage: kept
		"-0.50,USD,Credit,2026-11-03,Compute,,\r\n" + // a credit: kept
		"4.00,USD,Refund,2026-11-03,Compute,,\r\n" + // unknown category
		"5.00,USD,Usage,yesterday,Compute,,\r\n" + // bad date
		"6.00,USD,Usage,2026-11-04,Compute,{not json,\r\n" + // bad tags: kept, reported
		"7.00,USD,Usage,2026-11-04\r\n" + // short row
		"8.00,USD,Usage,2026-11-04,Compute,,z,and,more\r\n" + // wide row
		"1e400,USD,Usage,2026-11-04,Compute,,\r\n" + // overflow
		"\"1,234.00\",USD,Usage,2026-11-04,Compute,,\r\n" + // a comma: which number?
		"9.99,US$,Usage,2026-11-04,Compute,,\r\n" // not a currency code
	lines, errs, err := ReadFOCUSCSV(strings.NewReader(csv), "quirks.csv", FocusOptions{Service: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	wantErrs := []string{
		"quirks.csv:5:1: BilledCost: missing (FOCUS requires it)",
		`quirks.csv:6:1: BilledCost: "abc" is not a number`,
		"quirks.csv:7:6: BillingCurrency: EUR, not USD",
		`quirks.csv:10:10: ChargeCategory: "Refund" is not one of Usage, Purchase, Tax, Credit, Adjustment`,
		`quirks.csv:11:16: ChargePeriodStart: "yesterday" is not a date or datetime`,
		"quirks.csv:12:35: Tags: not a JSON object: invalid character 'n' looking for beginning of object key string",
		"quirks.csv:13:16: row has 4 fields, the header 7: no value for ServiceName",
		"quirks.csv:14:38: row has 9 fields, the header 7: field 8 has no column",
		`quirks.csv:15:1: BilledCost: "1e400": 401 integer digits, more than 15 (overflow)`,
		`quirks.csv:16:1: BilledCost: "1,234.00" is not a number`,
		`quirks.csv:17:6: BillingCurrency: "US$" is not an ISO 4217 code`,
	}
	if len(errs) != len(wantErrs) {
		t.Errorf("%d row errors, want %d: %v", len(errs), len(wantErrs), errs)
	}
	for i := range min(len(errs), len(wantErrs)) {
		if errs[i].Error() != wantErrs[i] {
			t.Errorf("error %d:\n got %s\nwant %s", i, errs[i], wantErrs[i])
		}
	}
	if got := sum(lines); !got.Equal(decimal.RequireFromString("7.8")) || len(lines) != 5 { // 1.10 + 2.20 − 1.00 − 0.50 + 6
		t.Errorf("imported total %s from %d lines: %+v", got, len(lines), lines)
	}
	if lines[0].Tags["team"] != "ai" || !lines[0].Date.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("first line: %+v", lines[0])
	}
	if lines[1].ChargeCategory != "Usage" || lines[1].Currency != "USD" || !lines[1].Date.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("second line: %+v", lines[1])
	}
	if lines[2].ChargeCategory != "Usage" || !lines[2].Amount.Equal(decimal.NewFromInt(-1)) {
		t.Errorf("negative usage: %+v", lines[2])
	}
}

func TestFOCUSFileErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ csv, want string }{
		{"", "f.csv: empty file"},
		{"ServiceName,ChargePeriodStart\nx,2026-11-01\n", "f.csv:1: no BilledCost column (FOCUS requires it)"},
		{"BilledCost\n1\n", "f.csv:1: no ChargePeriodStart column (FOCUS requires it)"},
	} {
		_, _, err := ReadFOCUSCSV(strings.NewReader(tt.csv), "f.csv", FocusOptions{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: %v, want %s", tt.csv, err, tt.want)
		}
	}
	// A broken quote is one row's error; the next row still counts.
	lines, errs, err := ReadFOCUSCSV(strings.NewReader("BilledCost,ChargePeriodStart,ServiceName\n1,2026-11-01,a\"b\"\"\n2,2026-11-01,c\n"), "q.csv", FocusOptions{Service: "s"})
	if err != nil || len(lines)+len(errs) < 1 || !sum(lines).Equal(decimal.NewFromInt(3)) && len(errs) == 0 {
		t.Errorf("quotes: %v %v %v", lines, errs, err)
	}
}

func TestFocusFilesSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"spec_v1.2_cd_flex_100pct_2_resources.csv", "spec_v1.2_saas_spend_agreements_b2.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := NewFocusFiles(FocusFilesConfig{Paths: []string{filepath.Join(dir, "*.csv"), filepath.Join(dir, "spec_*")}}, "cloud")
	b, err := src.Fetch(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	if !b.All || b.Unchanged || len(b.Lines) != 17 || !sum(b.Lines).Equal(decimal.NewFromInt(1202)) {
		t.Fatalf("batch: all %v unchanged %v lines %d total %s", b.All, b.Unchanged, len(b.Lines), sum(b.Lines))
	}
	again, err := src.Fetch(context.Background(), Window{})
	if err != nil || !again.Unchanged {
		t.Errorf("unchanged files read again: %v %v", again.Unchanged, err)
	}
	src.Forget()
	if again, _ := src.Fetch(context.Background(), Window{}); again.Unchanged {
		t.Error("Forget did not force a read")
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.csv"), []byte("ServiceName\nx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Fetch(context.Background(), Window{}); err == nil || !strings.Contains(err.Error(), "broken.csv:1: no BilledCost column") {
		t.Errorf("a broken file must fail the source (its rows would be deleted otherwise): %v", err)
	}
	empty := NewFocusFiles(FocusFilesConfig{Paths: []string{filepath.Join(dir, "none-*.csv")}}, "cloud")
	if _, err := empty.Fetch(context.Background(), Window{}); err == nil {
		t.Error("no files matched and no error")
	}
}
