package replay

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/recommend"
	"github.com/wedsync/scaling/rules"
)

func savingsScenario(tb testing.TB, days int) SavingsConfig {
	tb.Helper()
	th, err := rules.EmbeddedThresholds()
	if err != nil {
		tb.Fatal(err)
	}
	pol, err := policy.Load(filepath.Join("testdata", "savings-policy.yml"))
	if err != nil {
		tb.Fatal(err)
	}
	c, err := SavingsScenario(pol, th.Profiles["production"], days)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// The claim on a short run (the 60-day one is BenchmarkSavings): two weeks,
// recommendations made at day 7 from the first week and in force for the
// second. The invariants: ≥ 15 % saved once they are in force, no
// SLO-violation minute added, every override within the file's bounds, and
// the cost rows what the prices say, computed here independently.
func TestSavingsReplay(t *testing.T) {
	t.Parallel()
	c := savingsScenario(t, 14)
	rep, err := RunSavings(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	last := rep.Periods[len(rep.Periods)-1]
	if !strings.HasPrefix(last.Name, "after the last review") || last.FromDay != 8 || last.ToDay != 14 {
		t.Fatalf("last period %+v, want days 8–14 after the review", last)
	}
	if last.SharePct.LessThan(decimal.NewFromInt(15)) {
		t.Errorf("saving %s %% once the recommendations are in force, want ≥ 15 %%", last.SharePct)
	}
	if rep.After.SLOTotal > rep.Before.SLOTotal {
		t.Errorf("SLO-violation minutes %d with recommendations, %d without: %v vs %v", rep.After.SLOTotal, rep.Before.SLOTotal,
			rep.After.SLOViolationMinutes, rep.Before.SLOViolationMinutes)
	}
	// Nothing recommended or applied in the first week; then one of each
	// kind the fleet has idle capacity of.
	kinds := map[string]string{}
	for _, a := range rep.After.Applied {
		if a.At != c.Trace.Start.Add(7*24*time.Hour) {
			t.Errorf("%s applied at %s, want the review of day 7", a.Title, a.At)
		}
		kinds[a.Service] = a.Type
		if !a.Estimated.Valid || !a.Estimated.Decimal.IsNegative() {
			t.Errorf("%s: estimated %v, want a known saving", a.Title, a.Estimated)
		}
		p := c.Policy.Services[a.Service]
		lo, hi := p.Bounds()
		r := a.Recommended
		if p.Mode == policy.Vertical {
			if i, j := p.TierIndex(r.MinTier), p.TierIndex(r.MaxTier); i < lo || j > hi || i > p.TierIndex(r.Tier) || p.TierIndex(r.Tier) > j {
				t.Errorf("%s: %s outside the file's tiers or inconsistent", a.Title, r.JSON())
			}
		} else if r.Replicas == nil || r.MinReplicas == nil || r.MaxReplicas == nil {
			t.Errorf("%s: %s lacks a target or a bound", a.Title, r.JSON())
		} else if *r.MinReplicas < lo || *r.MaxReplicas > hi || *r.MinReplicas > *r.Replicas || *r.Replicas > *r.MaxReplicas {
			t.Errorf("%s: %s outside the file's bounds [%d, %d] or inconsistent", a.Title, r.JSON(), lo, hi)
		}
	}
	want := map[string]string{"api": recommend.TypeRightsizing, "search": recommend.TypeIdle, "database": recommend.TypeDatabaseTier}
	for s, typ := range want {
		if kinds[s] != typ {
			t.Errorf("%s: applied %q, want %q (all: %v)", s, kinds[s], typ, kinds)
		}
	}
	if len(rep.Before.Applied) != 0 {
		t.Errorf("the run without recommendations applied %d", len(rep.Before.Applied))
	}
	// Independent arithmetic: without recommendations the database stays on
	// xlarge ($400/month) and search at its floor of 3 ($36.50 each): a day
	// costs price × 24 / 730.
	day := func(monthly string) decimal.Decimal {
		return decimal.RequireFromString(monthly).Mul(decimal.NewFromInt(24)).DivRound(decimal.NewFromInt(730), costScale)
	}
	for _, row := range rep.Before.Rows {
		switch row.Service {
		case "database":
			if !row.Amount.Equal(day("400")) {
				t.Fatalf("database on %s cost %s, want %s", row.Day, row.Amount, day("400"))
			}
		case "search":
			if !row.Amount.Equal(day("109.50")) {
				t.Fatalf("search on %s cost %s, want %s", row.Day, row.Amount, day("109.50"))
			}
		}
	}
	// The API's rows are its paid replica-hours at $36.50 / 730 an hour.
	for _, run := range []*SavingsRun{rep.Before, rep.After} {
		want := run.APIReplicaHours * 36.5 / 730
		if got := run.Cost["api"].InexactFloat64(); math.Abs(got-want) > 1e-6 {
			t.Errorf("api cost %v, want %v from %.3f replica-hours", got, want, run.APIReplicaHours)
		}
		var sum decimal.Decimal
		for _, row := range run.Rows {
			sum = sum.Add(row.Amount)
		}
		if !sum.Equal(run.CostTotal) || len(run.Rows) != 14*3 {
			t.Errorf("%d rows summing to %s, total %s", len(run.Rows), sum, run.CostTotal)
		}
	}
	// Realized from the cost rows: the database's and search's savings are
	// their price differences over 30 days of 24 h (a month of 730 h is
	// the estimate's unit): 200 × 720 / 730 and 73 × 720 / 730.
	realized := map[string]string{}
	for _, x := range rep.Realized {
		realized[x.Service] = x.Monthly.StringFixed(2)
	}
	if realized["database"] != "-197.26" || realized["search"] != "-72.00" || !strings.HasPrefix(realized["api"], "-") {
		t.Errorf("realized %v, want database -197.26, search -72.00 and an api saving", realized)
	}
	// With the database on large from day 8: $200/month those days.
	for _, row := range rep.After.Rows {
		if row.Service == "database" && row.Day >= "2027-03-08" && !row.Amount.Equal(day("200")) {
			t.Errorf("database on %s cost %s, want large's %s", row.Day, row.Amount, day("200"))
		}
	}
}

// A cache, once applied, is paid for by the minute and takes its share of
// the database's work.
func TestSavingsCacheCost(t *testing.T) {
	t.Parallel()
	c := savingsScenario(t, 1)
	st := &fleetState{c: &c, searchFloor: 1, searchMax: 6, dbTier: 3, dbMin: 3, dbMax: 3, cache: true,
		slo: map[string]int{}, units: []map[string]decimal.Decimal{{}}}
	var err error
	if st.search, err = newSearchFleet(&c, 1); err != nil {
		t.Fatal(err)
	}
	st.searchLevel = 1
	ms := make([]Minute, 90)
	for i := range ms {
		ms[i] = Minute{At: c.Trace.Start.Add(time.Duration(i) * time.Minute), Load: 1000, ReplicaSeconds: 120}
	}
	st.side(ms)
	// 90 minutes of a $45/month cache: 45 × 90 × 60 price-seconds.
	if got, want := st.units[0]["cache"], decimal.NewFromInt(45*90*60); !got.Equal(want) {
		t.Errorf("cache units %s, want %s", got, want)
	}
	// 1000 req/s × 0.004 vCPU × (1 − 0.4) on 16 vCPUs.
	if got := st.dbWeek[0].cpu; math.Abs(got-0.15) > 1e-12 {
		t.Errorf("database CPU with the cache %v, want 0.15", got)
	}
}

func TestSavingsConfigErrors(t *testing.T) {
	t.Parallel()
	c := savingsScenario(t, 1)
	c.APIFloor, c.DatabaseTier, c.SearchShare, c.Search = 99, "huge", 0, "database"
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`search: service "database" must scale horizontal`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: missing %q", err, want)
		}
	}
	c = savingsScenario(t, 1)
	c.APIFloor, c.DatabaseTier, c.SearchShare = 99, "huge", 0
	err = c.Validate()
	for _, want := range []string{"api_floor: 99 is outside the file's bounds [2, 40]", `database_tier: "huge" is not a tier of database`, "search_share: must be a positive number, got 0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: missing %q", err, want)
		}
	}
}

// BenchmarkSavings is the 60-day savings replay (run it with -benchtime
// 1x); with WEDSYNC_SAVINGS_OUT set to a path without extension, it writes
// <path>.md and <path>.json for bench/results.
func BenchmarkSavings(b *testing.B) {
	c := savingsScenario(b, 60)
	var rep *SavingsReport
	for b.Loop() {
		var err error
		if rep, err = RunSavings(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
	last := rep.Periods[len(rep.Periods)-1]
	b.ReportMetric(rep.Periods[0].SharePct.InexactFloat64(), "saving_pct_whole")
	b.ReportMetric(last.SharePct.InexactFloat64(), "saving_pct_after_last_review")
	b.ReportMetric(float64(rep.Before.SLOTotal), "slo_min_without")
	b.ReportMetric(float64(rep.After.SLOTotal), "slo_min_with")
	if path := os.Getenv("WEDSYNC_SAVINGS_OUT"); path != "" {
		var md, js strings.Builder
		if err := rep.WriteMarkdown(&md); err != nil {
			b.Fatal(err)
		}
		if err := rep.WriteJSON(&js); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path+".md", []byte(md.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path+".json", []byte(js.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
