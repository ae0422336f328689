package ingest

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/exporter/billing"
)

// rawRow is a FOCUS row as the test reads it itself (encoding/csv and
// decimal, nothing of the reader or the store).
type rawRow struct {
	amount                             decimal.Decimal
	day, category, class, key          string
	negativeNonCredit, credit, october bool
}

func readRaw(t *testing.T, path string) []rawRow {
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
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	get := func(r []string, c string) string {
		i, ok := col[c]
		if !ok || strings.EqualFold(r[i], "null") {
			return ""
		}
		return r[i]
	}
	var out []rawRow
	for _, r := range recs[1:] {
		a := decimal.RequireFromString(get(r, "BilledCost"))
		day := get(r, "ChargePeriodStart") // RFC 3339 in the versioned fixtures (M/D/YY in the saas sample: not grouped)
		day = day[:min(10, len(day))]
		cat := get(r, "ChargeCategory")
		class := get(r, "ChargeClass")
		out = append(out, rawRow{amount: a, day: day, category: cat, class: class,
			key:    strings.Join([]string{day, get(r, "ServiceName"), get(r, "ResourceType"), get(r, "ResourceId"), cat, class, fmt.Sprint(a.IsNegative())}, "|"),
			credit: cat == "Credit", october: strings.HasPrefix(day, "2026-10")})
	}
	return out
}

func sqlTotal(t *testing.T, c *pgx.Conn, source string) decimal.Decimal {
	t.Helper()
	var s string
	if err := c.QueryRow(context.Background(), `SELECT coalesce(sum(cost_amount), 0)::text FROM cost_tracking WHERE source = $1`, source).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return decimal.RequireFromString(s)
}

func focusRunner(st Store, name, dir, version string) *Runner {
	src := billing.NewFocusFiles(billing.FocusFilesConfig{Paths: []string{filepath.Join(dir, "*.csv")},
		FocusOptions: billing.FocusOptions{Version: version}}, "cloud")
	return &Runner{Name: name, Source: src, Refresh: refreshCfg(), Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return now }}
}

// Must show: FOCUS files with refunds, credits, sub-micro-dollar lines,
// 1.0/1.1/1.2 column sets and NULL literals, read, attributed and written
// to PostgreSQL: the total summed in SQL is the file's own sum, to the last
// digit. The spec's own sample files (recorded from the FOCUS repository)
// too. Credits and refunds are netted into the totals and also shown.
func TestFOCUSFilesExactInStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	files := []struct{ file, version string }{
		{"focus_1.0_refunds_credits_written_from_spec.csv", "1.0"},
		{"focus_1.1_refunds_credits_written_from_spec.csv", "1.1"},
		{"focus_1.2_refunds_credits_written_from_spec.csv", "1.2"},
		{"spec_v1.2_cd_flex_100pct_2_resources.csv", ""}, // recorded: the spec's example, a subset of the columns
		{"spec_v1.2_saas_spend_agreements_b2.csv", ""},   // recorded
	}
	for i, f := range files {
		dir := t.TempDir()
		b, err := os.ReadFile(filepath.Join("..", "billing", "testdata", f.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.file), b, 0o644); err != nil {
			t.Fatal(err)
		}
		source := fmt.Sprintf("focus%d", i)
		r := focusRunner(st, source, dir, f.version)
		if err := r.RefreshOnce(ctx, true); err != nil {
			t.Fatalf("%s: %v", f.file, err)
		}
		raw := readRaw(t, filepath.Join(dir, f.file))
		want := decimal.Zero
		for _, rr := range raw {
			want = want.Add(rr.amount)
		}
		if s := r.Status(); s.RowErrors != 0 {
			t.Errorf("%s: %d rows refused", f.file, s.RowErrors)
		}
		if got := sqlTotal(t, c, source); !got.Equal(want) {
			t.Errorf("%s: stored total %s, the file's own %s", f.file, got, want)
		}
		if f.version == "" {
			continue
		}
		// Credits and refunds, per month: rows of one key and sign are one
		// line; a refund is never netted into the usage it refunds.
		for _, month := range []struct {
			asOf    time.Time
			october bool
		}{{time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), false}, {time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC), true}} {
			byKey := map[string]decimal.Decimal{}
			wantCredits, wantTotal := decimal.Zero, decimal.Zero
			for _, rr := range raw {
				if rr.october != month.october {
					continue
				}
				byKey[rr.key] = byKey[rr.key].Add(rr.amount)
				wantTotal = wantTotal.Add(rr.amount)
				if rr.credit {
					wantCredits = wantCredits.Sub(rr.amount)
				}
			}
			wantRefunds := decimal.Zero
			for k, v := range byKey {
				if v.IsNegative() && strings.Split(k, "|")[4] != "Credit" {
					wantRefunds = wantRefunds.Sub(v)
				}
			}
			lines, err := st.CostLines(ctx, month.asOf, month.asOf, 7, "USD")
			if err != nil {
				t.Fatal(err)
			}
			credits, refunds, mtd := decimal.Zero, decimal.Zero, decimal.Zero
			for _, l := range lines {
				credits, refunds, mtd = credits.Add(l.CreditsMonthToDate), refunds.Add(l.RefundsMonthToDate), mtd.Add(l.MonthToDate)
			}
			// CostLines spans every source: the other files' rows are in
			// other months or counted below by subtraction.
			other := decimal.Zero
			for j := range i {
				var s string
				if err := c.QueryRow(ctx, `SELECT coalesce(sum(cost_amount), 0)::text FROM cost_tracking WHERE source = $1
					AND date_trunc('month', cost_date) = date_trunc('month', $2::date)`, fmt.Sprintf("focus%d", j), month.asOf).Scan(&s); err != nil {
					t.Fatal(err)
				}
				other = other.Add(decimal.RequireFromString(s))
			}
			if got := mtd.Sub(other); !got.Equal(wantTotal) {
				t.Errorf("%s %s: month to date %s, file's %s", f.file, month.asOf.Month(), got, wantTotal)
			}
			if i == 0 && (!credits.Equal(wantCredits) || !refunds.Equal(wantRefunds)) {
				t.Errorf("%s %s: credits %s refunds %s; want %s and %s", f.file, month.asOf.Month(), credits, refunds, wantCredits, wantRefunds)
			}
		}
	}
	// The 1.0 file's figures, written out: the sub-micro-dollar lines that
	// numeric(18, 6) rounded to 0 are here, and the refund of October.
	var got string
	if err := c.QueryRow(ctx, `SELECT string_agg(cost_amount::text, ' ' ORDER BY cost_amount) FROM cost_tracking
		WHERE source = 'focus0' AND (abs(cost_amount) < 0.000001 OR charge_class = 'Correction')`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "-2.469135780246 0.000000000001 0.0000000123 0.0000004999" {
		t.Errorf("small lines and the correction: %s", got)
	}
}

// A FOCUS file that cannot be read at all fails the refresh and writes
// nothing: the rows of the files read before it stand, every digit.
func TestFOCUSBrokenFileWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	dir := t.TempDir()
	name := "focus_1.2_refunds_credits_written_from_spec.csv"
	b, err := os.ReadFile(filepath.Join("..", "billing", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := focusRunner(st, "focus", dir, "1.2")
	if err := r.RefreshOnce(ctx, true); err != nil {
		t.Fatal(err)
	}
	before := sqlTotal(t, c, "focus")
	// A second file lacking a mandatory column of 1.2: were it skipped,
	// replacing the source's history would drop its rows.
	if err := os.WriteFile(filepath.Join(dir, "z.csv"), []byte("BilledCost,ChargePeriodStart\n5,2026-11-09\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.RefreshOnce(ctx, false); err == nil || !strings.Contains(err.Error(), "z.csv:1: no BillingAccountId") {
		t.Errorf("broken file: %v", err)
	}
	if after := sqlTotal(t, c, "focus"); !after.Equal(before) || after.String() != "1081.633456789018" {
		t.Errorf("total %s after a failed refresh, %s before (want 1081.633456789018)", after, before)
	}
}

// Property: for random sets of decimal line items (any sign, up to 12
// decimals, any category, spread over days), the total stored and summed
// in PostgreSQL equals the source's, to the last digit. A seeded loop: the
// seed is in the failure message.
func TestFOCUSRandomLinesExactInStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	dir := t.TempDir()
	r := focusRunner(st, "focus", dir, "")
	const seed = 20261203
	rng := rand.New(rand.NewSource(seed))
	for iter := range 40 {
		n := 1 + rng.Intn(60)
		var sb strings.Builder
		w := csv.NewWriter(&sb)
		w.Write([]string{"BilledCost", "BillingCurrency", "ChargeCategory", "ChargeClass", "ChargePeriodStart", "ServiceName", "ResourceId"})
		want := decimal.Zero
		for range n {
			// Up to 12 integer and 12 decimal digits, any sign; half of
			// them below a dollar, some below a micro-dollar.
			var whole int64
			if rng.Intn(2) == 0 {
				whole = rng.Int63n(1_000_000_000_000)
			}
			a := decimal.New(whole, 0).Add(decimal.New(rng.Int63n(1_000_000_000_000), -12)).Truncate(int32(rng.Intn(13)))
			if rng.Intn(2) == 0 {
				a = a.Neg()
			}
			want = want.Add(a)
			class := "NULL"
			if rng.Intn(5) == 0 {
				class = "Correction"
			}
			w.Write([]string{a.String(), "USD", billing.ChargeCategories[rng.Intn(len(billing.ChargeCategories))], class,
				fmt.Sprintf("2026-11-%02d", 1+rng.Intn(3)), []string{"db", "api", "cdn"}[rng.Intn(3)], fmt.Sprint("r", rng.Intn(4))})
		}
		w.Flush()
		if err := os.WriteFile(filepath.Join(dir, "lines.csv"), []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := r.RefreshOnce(ctx, iter == 0); err != nil {
			t.Fatalf("seed %d iteration %d: %v", seed, iter, err)
		}
		if s := r.Status(); s.RowErrors != 0 {
			t.Fatalf("seed %d iteration %d: %d rows refused", seed, iter, s.RowErrors)
		}
		if got := sqlTotal(t, c, "focus"); !got.Equal(want) {
			t.Fatalf("seed %d iteration %d: %d lines, stored total %s, source total %s", seed, iter, n, got, want)
		}
	}
}

// billing.ChargeCategories (what readers accept) is what cost_tracking's
// CHECK accepts: a category one accepts and the other refuses would fail
// a whole replacement.
func TestChargeCategoriesMatchSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, storetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	try := func(cat string) error {
		_, err := c.Exec(ctx, `INSERT INTO cost_tracking (cost_date, source, service_name, resource_type, charge_category, cost_amount)
			VALUES ('2026-11-01', 's', 'svc', $1, $1, -1)`, cat)
		return err
	}
	for _, cat := range billing.ChargeCategories {
		if err := try(cat); err != nil {
			t.Errorf("%s (negative) refused: %v", cat, err)
		}
	}
	for _, cat := range []string{"usage", "Refund", "Discount", ""} {
		if try(cat) == nil {
			t.Errorf("%q accepted", cat)
		}
	}
}
