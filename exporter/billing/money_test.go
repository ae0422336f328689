package billing

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParseAmount(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want, err string }{
		{"0.0000000123", "0.0000000123", ""},
		{"-100.2", "-100.2", ""},
		{" 4 ", "4", ""},
		{"+333", "333", ""},           // the spec forbids the plus; it is still one exact number
		{"1.23E-05", "0.0000123", ""}, // spreadsheets write exponents; exact all the same
		{"2.4e+12", "2400000000000", ""},
		{".5", "0.5", ""},
		{"-999999999999999.999999999999999999999999999999", "-999999999999999.999999999999999999999999999999", ""},
		{"1000000000000000", "", `"1000000000000000": 16 integer digits, more than 15 (overflow)`},
		{"1e400", "", `"1e400": 401 integer digits, more than 15 (overflow)`},
		{"1e-31", "", `"1e-31": 31 decimal places, more than 30`},
		{"1e9999999", "", `"1e9999999" is not a number`},
		{strings.Repeat("9", 81), "", "characters) is too long for an amount (overflow)"},
		{"3,432,342", "", `"3,432,342" is not a number`},
		{"$32", "", `"$32" is not a number`},
		{"32 GiB", "", `"32 GiB" is not a number`},
		{"1 1/2", "", `"1 1/2" is not a number`},
		{"NaN", "", `"NaN" is not a number`},
		{"Infinity", "", `"Infinity" is not a number`},
		{"0x10", "", `"0x10" is not a number`},
		{"", "", `"" is not a number`},
	} {
		got, err := ParseAmount(tt.in)
		switch {
		case tt.err == "" && (err != nil || got.String() != tt.want):
			t.Errorf("ParseAmount(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseAmount(%q) error %v, want %q", tt.in, err, tt.err)
		}
	}
}

// Supabase's monthly estimate spread over the days of a month sums back
// to the monthly amount exactly, whatever the month's length.
func TestDayShareSumsToTheMonth(t *testing.T) {
	t.Parallel()
	for _, m := range []string{"25", "10.01", "0.000001", "599", "0.123456789", "1"} {
		month := decimal.RequireFromString(m)
		for _, n := range []int{28, 29, 30, 31} {
			total := decimal.Zero
			lo, hi := decimal.Decimal{}, decimal.Decimal{}
			for d := 1; d <= n; d++ {
				s := DayShare(month, d, n)
				total = total.Add(s)
				if d == 1 || s.LessThan(lo) {
					lo = s
				}
				if d == 1 || s.GreaterThan(hi) {
					hi = s
				}
			}
			if !total.Equal(month) {
				t.Errorf("%s over %d days sums to %s", m, n, total)
			}
			// Even: the days differ by at most one unit of the last place.
			if unit := decimal.New(1, min(-6, month.Exponent())); hi.Sub(lo).GreaterThan(unit) {
				t.Errorf("%s over %d days: shares from %s to %s", m, n, lo, hi)
			}
		}
	}
}

// fileTotal sums a FOCUS CSV's amount column with encoding/csv and
// decimal, nothing of the reader: the figure the reader and the store
// must reproduce to the last digit.
func fileTotal(t *testing.T, path, column string) (total decimal.Decimal, rows int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range recs[0] {
		if h == column {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("%s: no %s", path, column)
	}
	for _, r := range recs[1:] {
		total = total.Add(decimal.RequireFromString(r[col]))
		rows++
	}
	return total, rows
}

// The fixtures written from the spec (FOCUS 1.0, 1.1, 1.2 column sets:
// the mandatory 21 and each version's additions; NULL, null and empty
// literals; refunds as negative usage and purchases, ChargeClass
// Correction dated in the period corrected; credits; sub-micro-dollar
// lines) read exactly: the lines' total is the file's own.
func TestFOCUSWrittenFromSpecTotals(t *testing.T) {
	t.Parallel()
	for _, v := range FocusVersions {
		for _, column := range []string{"BilledCost", "EffectiveCost"} {
			name := "focus_" + v + "_refunds_credits_written_from_spec.csv"
			t.Run(v+"/"+column, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join("testdata", name)
				want, rows := fileTotal(t, path, column)
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				lines, errs, err := ReadFOCUSCSV(f, name, FocusOptions{CostColumn: column, Version: v})
				if err != nil {
					t.Fatal(err)
				}
				if len(errs) > 0 {
					t.Errorf("row errors: %v", errs)
				}
				if len(lines) != rows {
					t.Errorf("%d lines of %d rows", len(lines), rows)
				}
				if got := sum(lines); !got.Equal(want) {
					t.Errorf("total %s, file's own %s", got, want)
				}
				corrections := 0
				for _, l := range lines {
					if l.ChargeClass == ChargeClassCorrection {
						corrections++
						if !l.Amount.IsNegative() || l.Date.Month() != 10 {
							t.Errorf("correction kept as %+v: want negative, dated in October (the period corrected)", l)
						}
					} else if l.ChargeClass != "" {
						t.Errorf("ChargeClass %q: a null literal read as a value", l.ChargeClass)
					}
					if l.ResourceID == "NULL" || l.ResourceID == "null" || l.UsageUnit == "NULL" || l.UsageUnit == "null" {
						t.Errorf("a null literal read as a value: %+v", l)
					}
				}
				if corrections != 1 {
					t.Errorf("%d corrections, want 1", corrections)
				}
			})
		}
	}
}

// A version makes its mandatory columns required; without a version only
// the amount and ChargePeriodStart are (the spec's own examples carry a
// subset of the columns).
func TestFOCUSVersionColumns(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/focus_1.2_refunds_credits_written_from_spec.csv")
	if err != nil {
		t.Fatal(err)
	}
	full := string(b)
	// Dropping ChargeClass (mandatory since 1.0) and ListCost from the header
	// and every row.
	recs, err := csv.NewReader(strings.NewReader(full)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	for _, r := range recs {
		var keep []string
		for i, f := range r {
			if recs[0][i] != "ChargeClass" && recs[0][i] != "ListCost" {
				keep = append(keep, f)
			}
		}
		w.Write(keep)
	}
	w.Flush()
	for _, v := range FocusVersions {
		_, _, err := ReadFOCUSCSV(strings.NewReader(sb.String()), "f.csv", FocusOptions{Version: v})
		if want := "f.csv:1: no ChargeClass, ListCost column (FOCUS " + v + " requires it)"; err == nil || err.Error() != want {
			t.Errorf("version %s: %v, want %s", v, err, want)
		}
	}
	if lines, errs, err := ReadFOCUSCSV(strings.NewReader(sb.String()), "f.csv", FocusOptions{}); err != nil || len(errs) > 0 || len(lines) != len(recs)-1 {
		t.Errorf("no version: %d lines, %v, %v", len(lines), errs, err)
	}
	// The spec's own partial example reads without a version and fails with one.
	ex, err := os.ReadFile("testdata/spec_v1.2_cd_flex_100pct_2_resources.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadFOCUSCSV(strings.NewReader(string(ex)), "ex.csv", FocusOptions{Version: "1.2"}); err == nil ||
		!strings.HasPrefix(err.Error(), "ex.csv:1: no BillingAccountId, BillingAccountName, BillingCurrency,") {
		t.Errorf("partial example with version 1.2: %v", err)
	}
	cfg := FocusFilesConfig{Paths: []string{"x"}, FocusOptions: FocusOptions{Version: "1.3", Currency: "usd"}}
	errs := cfg.Validate("sources[0].focus")
	if len(errs) != 2 || errs[0].Error() != `sources[0].focus.version: "1.3" is not one of 1.0, 1.1, 1.2` ||
		errs[1].Error() != `sources[0].focus.currency: "usd" is not an ISO 4217 code (three upper-case letters)` {
		t.Errorf("validate: %v", errs)
	}
	// Three letters are not enough: the code must be one ISO 4217 lists.
	cfg.FocusOptions = FocusOptions{Currency: "ZZZ"}
	if errs := cfg.Validate("sources[0].focus"); len(errs) != 1 || !strings.Contains(errs[0].Error(), `"ZZZ" is not an ISO 4217 code`) {
		t.Errorf("validate ZZZ: %v", errs)
	}
}

func TestFOCUSChargeClassAndQuantity(t *testing.T) {
	t.Parallel()
	csv := "BilledCost,ChargeCategory,ChargeClass,ChargePeriodStart,ServiceName,ConsumedQuantity,ConsumedUnit\n" +
		"-1.5,Usage,correction,2026-10-05,db,-2,Hours\n" + // case as real files write it
		"2,Usage,Refund,2026-11-05,db,1,Hours\n" + // not a class
		"3,Usage,NULL,2026-11-05,db,lots,Hours\n" + // the cost stands without the quantity
		"4,Usage,,2026-11-05,db,1e400,Hours\n"
	lines, errs, err := ReadFOCUSCSV(strings.NewReader(csv), "c.csv", FocusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`c.csv:3:9: ChargeClass: "Refund" is not Correction or null`,
		`c.csv:4:28: ConsumedQuantity: "lots" is not a number (the cost is kept without it)`,
		`c.csv:5:24: ConsumedQuantity: "1e400": 401 integer digits, more than 15 (overflow) (the cost is kept without it)`,
	}
	if got := errorStrings(errs); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("row errors:\n%s", strings.Join(got, "\n"))
	}
	if len(lines) != 3 || lines[0].ChargeClass != ChargeClassCorrection || !lines[0].UsageQuantity.Decimal.Equal(decimal.NewFromInt(-2)) ||
		lines[1].UsageQuantity.Valid || !sum(lines).Equal(decimal.RequireFromString("5.5")) {
		t.Errorf("lines: %+v", lines)
	}
}
