package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestCheckAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		int, frac  int
		wantErrSub string
	}{
		{"0", 0, 0, ""},
		{"1.500000", 1, 1, ""},
		{"-0.0000000123", 0, 10, ""},
		{"123456789012345", 15, 0, ""},
		{"-999999999999999.999999999999999999999999999999", 15, 30, ""},
		{"1000000000000000", 16, 0, "16 integer digits, more than 15 (overflow)"},
		{"2.4e+12", 13, 0, ""},
		{"1e400", 401, 0, "401 integer digits"},
		{"1e-31", 0, 31, "31 decimal places, more than 30"},
		{"120e-3", 0, 2, ""},
	}
	for _, tt := range tests {
		d := dec(tt.in)
		i, f := store.Digits(d)
		if i != tt.int || f != tt.frac {
			t.Errorf("Digits(%s) = %d, %d; want %d, %d", tt.in, i, f, tt.int, tt.frac)
		}
		err := store.CheckAmount(d)
		switch {
		case tt.wantErrSub == "" && err != nil:
			t.Errorf("CheckAmount(%s): %v", tt.in, err)
		case tt.wantErrSub != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErrSub)):
			t.Errorf("CheckAmount(%s) = %v, want an error with %q", tt.in, err, tt.wantErrSub)
		}
	}
}

// 0012 widens cost_tracking on a database that already holds rows: every
// digit of every row reads back the same, and only then do new rows keep
// digits the old columns rounded away.
func TestMigrationExactMoneyKeepsEveryDigit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := storetest.Server(t)
	dsn, err := pg.CreateDatabase(ctx, "mig0012")
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	migs, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var m12 *store.Migration
	for i, m := range migs {
		if m.Version == 12 {
			m12 = &migs[i]
			break
		}
		if _, err := c.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("migration %d: %v", m.Version, err)
		}
	}
	if m12 == nil {
		t.Fatal("no migration 12")
	}
	// The extremes numeric(18, 6) and numeric(24, 6) hold, and the
	// shapes existing rows have (trailing zeros written by the scale).
	old := []struct{ amount, qty, category string }{
		{"999999999999.999999", "999999999999999999.999999", "Usage"},
		{"-999999999999.999999", "0.000001", "Credit"},
		{"0.000001", "", "Usage"},
		{"1.5", "3", "Purchase"},
		{"0", "0.000000", "Tax"},
		{"-2.25", "", "Adjustment"},
	}
	for i, r := range old {
		var qty any
		if r.qty != "" {
			qty = r.qty
		}
		if _, err := c.Exec(ctx, `INSERT INTO cost_tracking (cost_date, source, service_name, resource_type, charge_category, cost_amount, usage_quantity)
			VALUES ('2026-11-01', 'focus', 'svc', $1, $2, $3::numeric, $4::numeric)`, fmt.Sprint(i), r.category, r.amount, qty); err != nil {
			t.Fatalf("old row %d: %v", i, err)
		}
	}
	read := func() []string {
		rows, err := c.Query(ctx, `SELECT resource_type || ' ' || cost_amount::text || ' ' || coalesce(usage_quantity::text, 'null')
			FROM cost_tracking WHERE source = 'focus' ORDER BY resource_type`)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var sumBefore string
	if err := c.QueryRow(ctx, `SELECT sum(cost_amount)::text FROM cost_tracking`).Scan(&sumBefore); err != nil {
		t.Fatal(err)
	}
	before := read()
	if _, err := c.Exec(ctx, m12.SQL); err != nil {
		t.Fatalf("migration 12: %v", err)
	}
	after := read()
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Errorf("rows changed by the migration:\nbefore %q\nafter  %q", before, after)
	}
	var sumAfter string
	if err := c.QueryRow(ctx, `SELECT sum(cost_amount)::text FROM cost_tracking`).Scan(&sumAfter); err != nil {
		t.Fatal(err)
	}
	if sumAfter != sumBefore || sumBefore != "-0.749999" {
		t.Errorf("sum %s before, %s after; want -0.749999 both", sumBefore, sumAfter)
	}
	// What the old schema refused or rounded: a negative usage line, and
	// a line below a micro-dollar.
	var got string
	if err := c.QueryRow(ctx, `INSERT INTO cost_tracking (cost_date, source, service_name, resource_type, cost_amount, usage_quantity)
		VALUES ('2026-11-01', 'focus', 'svc', 'new', '-0.0000000123'::numeric, '0.000000000001'::numeric)
		RETURNING cost_amount::text || ' ' || usage_quantity::text`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "-0.0000000123 0.000000000001" {
		t.Errorf("new row reads %s", got)
	}
	// A refund (negative, no class) is a line of its own beside the usage
	// of the same key; so is a correction.
	if _, err := c.Exec(ctx, `INSERT INTO cost_tracking (cost_date, source, service_name, resource_type, cost_amount)
		VALUES ('2026-11-01', 'focus', 'svc', 'new', 4)`); err != nil {
		t.Errorf("usage beside its refund: %v", err)
	}
	if _, err := c.Exec(ctx, `INSERT INTO cost_tracking (cost_date, source, service_name, resource_type, cost_amount, charge_class)
		VALUES ('2026-11-01', 'focus', 'svc', 'new', -1, 'Correction')`); err != nil {
		t.Errorf("correction beside usage: %v", err)
	}
	if _, err := c.Exec(ctx, `INSERT INTO cost_tracking (cost_date, source, service_name, resource_type, cost_amount, charge_class)
		VALUES ('2026-11-01', 'focus', 'svc', 'new', -1, 'Correction')`); err == nil {
		t.Error("the same correction twice was accepted: the line key lost its uniqueness")
	}
}

// The schema's CHECK on charge_class accepts exactly store.ChargeClasses.
func TestChargeClassesMatchSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, storetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	try := func(class string) error {
		_, err := c.Exec(ctx, `INSERT INTO cost_tracking (cost_date, source, service_name, resource_type, cost_amount, charge_class)
			VALUES ('2026-11-01', 's', 'svc', $1, 1, $1)`, class)
		return err
	}
	for _, class := range store.ChargeClasses {
		if err := try(class); err != nil {
			t.Errorf("%q refused: %v", class, err)
		}
	}
	for _, class := range []string{"correction", "Refund", "Credit"} {
		if try(class) == nil {
			t.Errorf("%q accepted", class)
		}
	}
}

// Exact to the last digit: sub-micro-dollar lines, negative usage, a
// correction beside the usage it corrects, and the month's sums in SQL.
func TestReplaceCostsExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := day("2026-11-03")
	rows := []store.CostRecord{
		rec("2026-11-03", "cloud", "vm", "", "0.0000000123"),
		rec("2026-11-03", "cloud", "vm", "", "0.0000000004"), // same line: summed exactly
		rec("2026-11-03", "cloud", "disk", "", "-0.5"),       // negative usage
		rec("2026-11-03", "cloud", "vm", "", "10.123456789012"),
		rec("2026-11-03", "cloud", "vm", "", "-0.25"), // a refund within the period: a line of its own
	}
	corr := rec("2026-11-03", "cloud", "vm", "", "-3.000000000001")
	corr.ChargeClass = "Correction"
	credit := rec("2026-11-03", "cloud", "vm", "", "-1.25")
	credit.ChargeCategory = "Credit"
	rows = append(rows, corr, credit)
	if _, err := s.ReplaceCosts(ctx, "focus", store.CostScope{Days: []time.Time{d}}, rows); err != nil {
		t.Fatal(err)
	}
	total, err := s.SourceTotal(ctx, "focus", d, d)
	if err != nil {
		t.Fatal(err)
	}
	// 0.0000000123 + 0.0000000004 − 0.5 + 10.123456789012 − 0.25 − 3.000000000001 − 1.25
	if want := dec("5.123456801711"); !total.Equal(want) || total.String() != want.String() {
		t.Errorf("total %s, want %s", total, want)
	}
	got := costRows(t, dsn, "focus")
	if len(got) != 5 { // disk, vm usage, vm refund, vm correction, vm credit
		t.Fatalf("rows: %+v", got)
	}
	lines, err := s.CostLines(ctx, d, d, 7, "USD")
	if err != nil {
		t.Fatal(err)
	}
	refunds, credits, mtd := dec("0"), dec("0"), dec("0")
	for _, l := range lines {
		refunds, credits, mtd = refunds.Add(l.RefundsMonthToDate), credits.Add(l.CreditsMonthToDate), mtd.Add(l.MonthToDate)
	}
	if !mtd.Equal(total) || !credits.Equal(dec("1.25")) || !refunds.Equal(dec("3.750000000001")) {
		t.Errorf("month to date %s (want %s), credits %s (want 1.25), refunds %s (want 3.750000000001)", mtd, total, credits, refunds)
	}
	// Out of bounds: the whole replacement fails, the day stands.
	bad := append(append([]store.CostRecord(nil), rows...), rec("2026-11-03", "cloud", "net", "", "1e15"))
	if _, err := s.ReplaceCosts(ctx, "focus", store.CostScope{Days: []time.Time{d}}, bad); !errors.Is(err, store.ErrInvalid) ||
		!strings.Contains(err.Error(), "row 7: amount 1000000000000000: 16 integer digits") {
		t.Errorf("overflowing amount: %v", err)
	}
	if after := costRows(t, dsn, "focus"); len(after) != 5 {
		t.Errorf("a refused replacement changed the day: %+v", after)
	}
}
