package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func rec(date, service, resource, team, amount string) store.CostRecord {
	return store.CostRecord{Date: day(date), Service: service, ResourceType: resource, Team: team, Amount: dec(amount)}
}

type costRow struct {
	Date, Service, Resource, Category, Team, Feature, Amount, Currency string
	Usage, Unit                                                        *string
	Tags                                                               map[string]string
}

func costRows(t *testing.T, dsn, source string) []costRow {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT cost_date::text, service_name, resource_type, charge_category, team, feature,
		cost_amount::text, currency, usage_quantity::text, usage_unit, tags
		FROM cost_tracking WHERE source = $1 ORDER BY 1, 2, 3, 4, 5, 6`, source)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (costRow, error) {
		var c costRow
		err := r.Scan(&c.Date, &c.Service, &c.Resource, &c.Category, &c.Team, &c.Feature, &c.Amount, &c.Currency, &c.Usage, &c.Unit, &c.Tags)
		return c, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReplaceCostsIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	days := store.CostScope{Days: []time.Time{day("2026-11-01"), day("2026-11-02")}}
	first := []store.CostRecord{
		rec("2026-11-01", "openai", "gpt-4o", "ai", "0.1"),
		rec("2026-11-01", "openai", "gpt-4o", "ai", "0.2"), // same line: summed exactly
		rec("2026-11-02", "openai", "gpt-4o", "", "1.000001"),
	}
	for i := 0; i < 2; i++ { // re-running a day replaces, never duplicates
		res, err := s.ReplaceCosts(ctx, "openai", days, first)
		if err != nil {
			t.Fatal(err)
		}
		if res.Inserted != 2 {
			t.Fatalf("run %d inserted %d rows, want 2", i, res.Inserted)
		}
	}
	got := costRows(t, dsn, "openai")
	if len(got) != 2 || got[0].Amount != "0.3" || got[0].Team != "ai" || got[1].Team != store.Unattributed ||
		got[1].Feature != store.Unattributed || got[1].Amount != "1.000001" || got[1].Category != "Usage" || got[1].Currency != "USD" {
		t.Fatalf("rows after two runs: %+v", got)
	}
	// Revised billing: day 1 changes, day 2 has nothing left.
	res, err := s.ReplaceCosts(ctx, "openai", days, []store.CostRecord{rec("2026-11-01", "openai", "gpt-4o", "ai", "0.25")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 2 || res.Inserted != 1 {
		t.Errorf("revision: %+v", res)
	}
	// Late data for an earlier day leaves the others alone.
	if _, err := s.ReplaceCosts(ctx, "openai", store.CostScope{Days: []time.Time{day("2026-10-20")}},
		[]store.CostRecord{rec("2026-10-20", "openai", "gpt-4o", "ai", "3")}); err != nil {
		t.Fatal(err)
	}
	// Another source's rows are never touched.
	if _, err := s.ReplaceCosts(ctx, "twilio", days, []store.CostRecord{rec("2026-11-01", "twilio", "sms", "", "5")}); err != nil {
		t.Fatal(err)
	}
	got = costRows(t, dsn, "openai")
	if len(got) != 2 || got[0].Date != "2026-10-20" || got[1].Amount != "0.25" {
		t.Fatalf("rows after revision and late data: %+v", got)
	}
	// All: the source's whole history is the new rows.
	if _, err := s.ReplaceCosts(ctx, "openai", store.CostScope{All: true}, []store.CostRecord{rec("2026-09-01", "openai", "x", "", "1")}); err != nil {
		t.Fatal(err)
	}
	if got := costRows(t, dsn, "openai"); len(got) != 1 || got[0].Date != "2026-09-01" {
		t.Fatalf("after replacing all: %+v", got)
	}
	if got := costRows(t, dsn, "twilio"); len(got) != 1 {
		t.Fatalf("twilio rows: %+v", got)
	}
}

func TestReplaceCostsMergesUsageAndTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q := func(v string) decimal.NullDecimal { return decimal.NullDecimal{Decimal: dec(v), Valid: true} }
	rows := []store.CostRecord{
		{Date: day("2026-11-01"), Service: "twilio", ResourceType: "sms", Amount: dec("1.5"), UsageQuantity: q("10"), UsageUnit: "segments",
			Tags: map[string]string{"env": "prod", "region": "us"}},
		{Date: day("2026-11-01"), Service: "twilio", ResourceType: "sms", Amount: dec("0.5"), UsageQuantity: q("5"), UsageUnit: "segments",
			Tags: map[string]string{"env": "prod", "region": "eu"}},
		{Date: day("2026-11-01"), Service: "twilio", ResourceType: "calls", Amount: dec("1"), UsageQuantity: q("3"), UsageUnit: "minutes"},
		{Date: day("2026-11-01"), Service: "twilio", ResourceType: "calls", Amount: dec("1"), UsageQuantity: q("1"), UsageUnit: "calls"},
		{Date: day("2026-11-01"), Service: "twilio", ResourceType: "credit", ChargeCategory: "Credit", Amount: dec("-2")},
	}
	if _, err := s.ReplaceCosts(ctx, "twilio", store.CostScope{Days: []time.Time{day("2026-11-01")}}, rows); err != nil {
		t.Fatal(err)
	}
	got := costRows(t, dsn, "twilio")
	if len(got) != 3 {
		t.Fatalf("rows: %+v", got)
	}
	calls, credit, sms := got[0], got[1], got[2]
	if calls.Usage != nil || calls.Unit != nil || calls.Amount != "2" {
		t.Errorf("usage of different units must not be summed: %+v", calls)
	}
	if credit.Amount != "-2" || credit.Category != "Credit" {
		t.Errorf("credit: %+v", credit)
	}
	if sms.Usage == nil || *sms.Usage != "15" || *sms.Unit != "segments" || sms.Amount != "2.0" ||
		len(sms.Tags) != 1 || sms.Tags["env"] != "prod" {
		t.Errorf("sms: %+v (tags %v)", sms, sms.Tags)
	}
}

// A bad row fails the whole replacement and leaves the day as it was:
// nothing is half-written.
func TestReplaceCostsIsAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	scope := store.CostScope{Days: []time.Time{day("2026-11-01")}}
	if _, err := s.ReplaceCosts(ctx, "vercel", scope, []store.CostRecord{rec("2026-11-01", "vercel", "functions", "", "4")}); err != nil {
		t.Fatal(err)
	}
	// The second row is refused by the database itself (its CHECK on
	// currency), after the first was copied: the transaction undoes both.
	bad := []store.CostRecord{rec("2026-11-01", "vercel", "functions", "", "5"), rec("2026-11-01", "vercel", "bandwidth", "", "1")}
	bad[1].Currency = "usd"
	if _, err := s.ReplaceCosts(ctx, "vercel", scope, bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("currency refused by the schema: %v, want ErrInvalid", err)
	}
	outside := []store.CostRecord{rec("2026-11-02", "vercel", "functions", "", "5")}
	if _, err := s.ReplaceCosts(ctx, "vercel", scope, outside); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("row outside the scope: %v, want ErrInvalid", err)
	}
	mixed := []store.CostRecord{rec("2026-11-01", "vercel", "functions", "", "5"), rec("2026-11-01", "vercel", "functions", "", "5")}
	mixed[1].Currency = "EUR"
	if _, err := s.ReplaceCosts(ctx, "vercel", scope, mixed); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("two currencies on one line: %v, want ErrInvalid", err)
	}
	if got := costRows(t, dsn, "vercel"); len(got) != 1 || got[0].Amount != "4" {
		t.Fatalf("day changed by a failed replacement: %+v", got)
	}
}

func TestCostReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	// Ten days of openai/gpt-4o for team ai at 1.00 a day, 2.50 on the 10th;
	// a credit on the 9th; a series that only existed in October.
	var rows []store.CostRecord
	var days []time.Time
	for d := day("2026-11-01"); !d.After(day("2026-11-10")); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
		amount := "1.00"
		if d.Day() == 10 {
			amount = "2.50"
		}
		r := rec(d.Format(time.DateOnly), "openai", "gpt-4o", "ai", amount)
		r.UsageQuantity = decimal.NullDecimal{Decimal: dec("1000"), Valid: true}
		r.UsageUnit = "tokens"
		rows = append(rows, r)
	}
	credit := rec("2026-11-09", "openai", "gpt-4o", "ai", "-0.25")
	credit.ChargeCategory = "Credit"
	rows = append(rows, credit)
	if _, err := s.ReplaceCosts(ctx, "openai", store.CostScope{Days: days}, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceCosts(ctx, "vercel", store.CostScope{Days: []time.Time{day("2026-10-31"), day("2026-11-05")}},
		[]store.CostRecord{rec("2026-10-31", "vercel", "bandwidth", "web", "5"), rec("2026-11-05", "vercel", "bandwidth", "web", "7")}); err != nil {
		t.Fatal(err)
	}
	eur := rec("2026-11-10", "stripe", "fees", "", "9")
	eur.Currency = "EUR"
	if _, err := s.ReplaceCosts(ctx, "stripe", store.CostScope{Days: []time.Time{day("2026-11-10")}}, []store.CostRecord{eur}); err != nil {
		t.Fatal(err)
	}

	lines, err := s.CostLines(ctx, day("2026-11-10"), day("2026-11-10"), 7, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 {
		t.Fatalf("lines: %+v", lines)
	}
	oa, ve := lines[0], lines[1]
	// MTD 9×1 + 2.5 − 0.25; baseline (7 days before the 10th) (7 − 0.25)/7.
	if oa.Service != "openai" || !oa.Day.Equal(dec("2.5")) || !oa.MonthToDate.Equal(dec("11.25")) || !oa.Baseline.Equal(dec("0.964286")) {
		t.Errorf("openai line: %+v", oa)
	}
	// The credit is netted above and shown on its own, positive.
	if !oa.CreditsMonthToDate.Equal(dec("0.25")) || !ve.CreditsMonthToDate.IsZero() {
		t.Errorf("credits: openai %s, vercel %s; want 0.25 and 0", oa.CreditsMonthToDate, ve.CreditsMonthToDate)
	}
	if ve.Service != "vercel" || !ve.Day.IsZero() || !ve.MonthToDate.Equal(dec("7")) || !ve.Baseline.Equal(dec("1")) {
		t.Errorf("vercel line (nothing on the day, October left out): %+v", ve)
	}

	usageLines, err := s.UsageLines(ctx, day("2026-11-10"), 7)
	if err != nil {
		t.Fatal(err)
	}
	if usage := usageLines; len(usage) != 1 || usage[0].Unit != "tokens" || !usage[0].Day.Equal(dec("1000")) || !usage[0].Baseline.Equal(dec("1000")) {
		t.Errorf("usage: %+v", usage)
	}

	daily, err := s.DailyCosts(ctx, store.CostFilter{Team: "ai"}, day("2026-11-08"), day("2026-11-12"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1", "0.75", "2.5", "0", "0"}
	if len(daily) != len(want) {
		t.Fatalf("daily: %+v", daily)
	}
	for i, w := range want {
		if !daily[i].Amount.Equal(dec(w)) || !daily[i].Date.Equal(day("2026-11-08").AddDate(0, 0, i)) {
			t.Errorf("day %d: %s %s, want %s", i, daily[i].Date, daily[i].Amount, w)
		}
	}
	by, err := s.DailyCostsByService(ctx, store.CostFilter{}, day("2026-10-31"), day("2026-11-01"))
	if err != nil {
		t.Fatal(err)
	}
	if len(by) != 2 || !by["vercel"][0].Amount.Equal(dec("5")) || !by["vercel"][1].Amount.IsZero() || !by["openai"][1].Amount.Equal(dec("1")) {
		t.Errorf("by service: %+v", by)
	}
	eurDaily, err := s.DailyCosts(ctx, store.CostFilter{Currency: "EUR"}, day("2026-11-10"), day("2026-11-10"))
	if err != nil || !eurDaily[0].Amount.Equal(dec("9")) {
		t.Errorf("EUR: %+v %v", eurDaily, err)
	}
	usage, unit, err := s.UsageTotal(ctx, "openai", "gpt-4o", day("2026-11-01"), day("2026-11-05"))
	if err != nil || !usage.Equal(dec("5000")) || unit != "tokens" {
		t.Errorf("usage total %s %q %v", usage, unit, err)
	}
	total, err := s.SourceTotal(ctx, "openai", day("2026-11-01"), day("2026-11-30"))
	if err != nil || !total.Equal(dec("11.25")) {
		t.Errorf("source total %s %v", total, err)
	}
}

func TestBudgets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	for _, b := range []store.Budget{
		{Name: "platform", Limit: dec("100"), Active: true},
		{Name: "ai-team", Team: "ai", Limit: dec("10.50"), AlertThresholds: []int{80, 100}, Active: true},
		{Name: "openai-quarter", Service: "openai", Period: "quarterly", Limit: dec("300"), Active: true},
		{Name: "retired", Limit: dec("1"), Active: false},
	} {
		if _, err := s.UpsertBudget(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	var days []time.Time
	var rows []store.CostRecord
	for _, d := range []string{"2026-10-15", "2026-11-01", "2026-11-02"} {
		days = append(days, day(d))
		rows = append(rows, rec(d, "openai", "gpt-4o", "ai", "4.125"), rec(d, "vercel", "functions", "web", "1"))
	}
	if _, err := s.ReplaceCosts(ctx, "mixed", store.CostScope{Days: days}, rows); err != nil {
		t.Fatal(err)
	}
	budgets, err := s.RefreshBudgetSpend(ctx, day("2026-11-02"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.Budget{}
	for _, b := range budgets {
		got[b.Name] = b
	}
	if len(got) != 3 {
		t.Fatalf("active budgets: %+v", budgets)
	}
	for name, want := range map[string]string{"platform": "10.25", "ai-team": "8.25", "openai-quarter": "12.375"} { // exact: 3 × 4.125, not rounded to cents
		if !got[name].Spend.Equal(dec(want)) {
			t.Errorf("%s spend %s, want %s", name, got[name].Spend, want)
		}
	}
	if b := got["platform"]; b.Period != "monthly" || b.Currency != "USD" || len(b.AlertThresholds) != 4 || b.AlertThresholds[3] != 100 {
		t.Errorf("defaults: %+v", b)
	}
	if b := got["ai-team"]; b.Team != "ai" || b.Service != "" || !b.Limit.Equal(dec("10.5")) || len(b.AlertThresholds) != 2 {
		t.Errorf("ai-team: %+v", b)
	}
	// Unchanged spend is not rewritten.
	again, err := s.RefreshBudgetSpend(ctx, day("2026-11-02"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range again {
		if !b.UpdatedAt.Equal(got[b.Name].UpdatedAt) {
			t.Errorf("%s rewritten without a change", b.Name)
		}
	}
	all, err := s.ListBudgets(ctx, false)
	if err != nil || len(all) != 4 {
		t.Errorf("all budgets: %d %v", len(all), err)
	}
	if _, err := s.UpsertBudget(ctx, store.Budget{Name: "bad", Limit: dec("0"), Active: true}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("zero limit: %v", err)
	}
}

func TestPeriods(t *testing.T) {
	t.Parallel()
	tests := []struct{ period, day, start, end string }{
		{"monthly", "2026-11-17", "2026-11-01", "2026-11-30"},
		{"monthly", "2028-02-10", "2028-02-01", "2028-02-29"},
		{"quarterly", "2026-11-17", "2026-10-01", "2026-12-31"},
		{"quarterly", "2026-01-01", "2026-01-01", "2026-03-31"},
		{"yearly", "2026-06-30", "2026-01-01", "2026-12-31"},
	}
	for _, tt := range tests {
		if s, e := store.PeriodStart(tt.period, day(tt.day)), store.PeriodEnd(tt.period, day(tt.day)); !s.Equal(day(tt.start)) || !e.Equal(day(tt.end)) {
			t.Errorf("%s of %s: %s … %s, want %s … %s", tt.period, tt.day, s.Format(time.DateOnly), e.Format(time.DateOnly), tt.start, tt.end)
		}
	}
}
