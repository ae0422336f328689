package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// Rows shaped as the exporter writes them: a provider API source whose
// service is the source's (vercel), and a FOCUS file whose service is the
// file's ServiceName, with attribution tags.
func seedBilling(t *testing.T, s *store.Store, day time.Time) {
	t.Helper()
	ctx := context.Background()
	next := day.AddDate(0, 0, 1)
	if _, err := s.ReplaceCosts(ctx, "vercel", store.CostScope{Days: []time.Time{day, next}}, []store.CostRecord{
		{Date: day, Service: "vercel", ResourceType: "Function Duration", Amount: d("12.345678")},
		{Date: day, Service: "vercel", ResourceType: "Fast Data Transfer", Amount: d("0.000001")},
		{Date: next, Service: "vercel", ResourceType: "Function Duration", Amount: d("10")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceCosts(ctx, "focus-aws", store.CostScope{All: true}, []store.CostRecord{
		{Date: day, Service: "Amazon Elastic Compute Cloud", ResourceType: "Compute", ResourceID: "i-1", Amount: d("5.25"),
			Tags: map[string]string{"app": "api", "env": "prod"}},
		{Date: day, Service: "Amazon Elastic Compute Cloud", ResourceType: "Compute", ResourceID: "i-2", Amount: d("7"),
			Tags: map[string]string{"app": "search", "env": "prod"}},
		{Date: day, Service: "Amazon Elastic Compute Cloud", ResourceType: "Compute", ResourceID: "i-1", ChargeCategory: "Credit",
			Amount: d("-1.25"), Tags: map[string]string{"app": "api", "env": "prod"}},
	}); err != nil {
		t.Fatal(err)
	}
}

func TestBillingLineCosts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	seedBilling(t, s, day)
	tests := []struct {
		name    string
		lines   []store.BillingLine
		first   string // the first day's sum
		rows    int
		covered int
	}{
		{"a billing service", []store.BillingLine{{Service: "vercel"}}, "12.345679", 2, 2},
		{"a source", []store.BillingLine{{Source: "vercel"}}, "12.345679", 2, 2},
		{"a product", []store.BillingLine{{Service: "vercel", ResourceType: "Fast Data Transfer"}}, "0.000001", 1, 1},
		{"tags: all must match, credits net", []store.BillingLine{{Tags: map[string]string{"app": "api", "env": "prod"}}}, "4.00", 2, 1},
		{"tags that no row has both of", []store.BillingLine{{Tags: map[string]string{"app": "api", "env": "dev"}}}, "0", 0, 0},
		{"a resource id", []store.BillingLine{{Source: "focus-aws", ResourceID: "i-2"}}, "7", 1, 1},
		// A row two lines match counts once.
		{"overlapping lines", []store.BillingLine{{Service: "vercel"}, {Source: "vercel", ResourceType: "Function Duration"}}, "12.345679", 2, 2},
		{"two providers", []store.BillingLine{{Service: "vercel"}, {Tags: map[string]string{"app": "api"}}}, "16.345679", 4, 2},
		{"a service no source writes", []store.BillingLine{{Service: "api"}}, "0", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.BillingLineCosts(ctx, tt.lines, "", day, day.AddDate(0, 0, 1))
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Days) != 2 || !got.Days[0].Date.Equal(day) {
				t.Fatalf("days = %+v", got.Days)
			}
			if !got.Days[0].Amount.Equal(d(tt.first)) || got.Days[0].Rows != tt.rows || got.Covered() != tt.covered {
				t.Fatalf("first day %s over %d rows, %d days covered; want %s, %d, %d", got.Days[0].Amount, got.Days[0].Rows, got.Covered(), tt.first, tt.rows, tt.covered)
			}
			if got.Matched() != (tt.covered > 0) {
				t.Fatalf("matched = %v with %d days covered", got.Matched(), tt.covered)
			}
		})
	}
	// The sum is exact to the source's last digit, not rounded to cents.
	got, _ := s.BillingLineCosts(ctx, []store.BillingLine{{Service: "vercel"}}, "USD", day, day)
	if got.Days[0].Amount.String() != "12.345679" {
		t.Fatalf("vercel on %s = %s, want 12.345679 (12.345678 + 0.000001)", day.Format(time.DateOnly), got.Days[0].Amount)
	}
	for _, bad := range []struct {
		name  string
		lines []store.BillingLine
		from  time.Time
	}{
		{"no lines", nil, day},
		{"an empty line", []store.BillingLine{{Service: "vercel"}, {}}, day},
		{"a range ending before it starts", []store.BillingLine{{Service: "vercel"}}, day.AddDate(0, 0, 2)},
	} {
		if _, err := s.BillingLineCosts(ctx, bad.lines, "", bad.from, day); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", bad.name, err)
		}
	}
}

// A measurement is stored once, with its confidence and time; a second
// pass (another replica) keeps the first figure.
func TestRecordImpactOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	rec, err := s.OfferRecommendation(ctx, store.Recommendation{Type: "rightsizing", Service: "api", Title: "t",
		EstimatedMonthlyImpact: d("-100"), Confidence: d("0.8"), Effort: "low", Priority: "medium"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MoveRecommendation(ctx, rec.ID, []string{"pending"}, "approved", "ops", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MoveRecommendation(ctx, rec.ID, []string{"approved"}, "implemented", "", ""); err != nil {
		t.Fatal(err)
	}
	if c, err := s.ImpactCandidates(ctx, time.Now().Add(-time.Hour)); err != nil || len(c) != 0 {
		t.Fatalf("candidates implemented before an hour ago = %d, %v", len(c), err)
	}
	c, err := s.ImpactCandidates(ctx, time.Now().Add(time.Hour))
	if err != nil || len(c) != 1 || c[0].ID != rec.ID {
		t.Fatalf("candidates = %+v, %v", c, err)
	}
	if err := s.RecordUnmeasured(ctx, rec.ID, "no billing lines", nil); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetRecommendation(ctx, rec.ID)
	if got.ActualImpact.Valid || got.MeasuredAt != nil || got.MeasureNote != "no billing lines" {
		t.Fatalf("unmeasured = %+v", got)
	}
	at := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	m := store.Measurement{Impact: d("-87.456"), Confidence: d("0.8123"), At: at, Basis: json.RawMessage(`{"window_days": 7}`)}
	if ok, err := s.RecordImpact(ctx, rec.ID, m); err != nil || !ok {
		t.Fatalf("record = %v, %v", ok, err)
	}
	m.Impact = d("-1")
	if ok, err := s.RecordImpact(ctx, rec.ID, m); err != nil || ok {
		t.Fatalf("second record = %v, %v; want kept", ok, err)
	}
	got, _ = s.GetRecommendation(ctx, rec.ID)
	if got.ActualImpact.Decimal.String() != "-87.46" || got.ActualImpactConfidence.Decimal.String() != "0.812" ||
		got.MeasuredAt == nil || !got.MeasuredAt.Equal(at) || got.MeasureNote != "" || string(got.MeasureBasis) != `{"window_days": 7}` {
		t.Fatalf("measured = %+v", got)
	}
	if c, _ := s.ImpactCandidates(ctx, time.Now().Add(time.Hour)); len(c) != 0 {
		t.Fatalf("a measured recommendation is still a candidate")
	}
	if _, err := s.RecordImpact(ctx, rec.ID, store.Measurement{Impact: d("1"), Confidence: d("1.5"), At: at}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("confidence 1.5: %v", err)
	}
}
