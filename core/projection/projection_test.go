package projection

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
)

// A flat 10.00 a day projects the month, quarter and year to 10.00 × their
// days, in decimal.
func TestProjectFlatSeries(t *testing.T) {
	t.Parallel()
	last := time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC) // through the 14th
	var days []store.DailyCost
	for d := HistoryStart(last, 120); !d.After(last); d = d.AddDate(0, 0, 1) {
		days = append(days, store.DailyCost{Date: d, Amount: decimal.RequireFromString("10.00")})
	}
	p, err := Project(days, last, 120, 7)
	if err != nil {
		t.Fatal(err)
	}
	for period, want := range map[string]string{"monthly": "300", "quarterly": "920", "yearly": "3650"} {
		if got := p.Total(period).Round(0).String(); got != want {
			t.Errorf("%s = %s, want %s (method %s)", period, p.Total(period), want, p.Method)
		}
	}
	if p.Confidence < 0.99 {
		t.Errorf("confidence %v on a flat series", p.Confidence)
	}
	if _, err := Project(days[:2], last, 120, 7); err == nil {
		t.Fatal("two days projected")
	}
}
