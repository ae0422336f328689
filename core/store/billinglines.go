package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// BillingLine selects cost rows the way a policy service names what it is
// billed through: every non-empty field must match (tags: every key/value
// given is on the row). The policy owns the type users write and its
// validation; this is the filter.
type BillingLine struct {
	Source       string            `json:"source,omitempty"`
	Service      string            `json:"service,omitempty"`
	ResourceType string            `json:"resource_type,omitempty"`
	ResourceID   string            `json:"resource_id,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
}

func (l BillingLine) empty() bool {
	return l.Source == "" && l.Service == "" && l.ResourceType == "" && l.ResourceID == "" && len(l.Tags) == 0
}

// LineDay is one day of the cost of a set of billing lines.
type LineDay struct {
	Date   time.Time
	Amount decimal.Decimal // the exact sum; zero on a day without rows
	// Rows is how many cost rows matched: a day with none is a day the
	// bill says nothing about, not a day that cost nothing.
	Rows int
}

// LineCosts is the daily cost of a set of billing lines over a range.
type LineCosts struct {
	Days []LineDay // one per day of the range, in order
}

// Matched reports whether any row matched on any day: no row is unknown,
// never $0.00.
func (c LineCosts) Matched() bool { return c.Covered() > 0 }

// Covered counts the days with at least one matching row.
func (c LineCosts) Covered() int {
	n := 0
	for _, d := range c.Days {
		if d.Rows > 0 {
			n++
		}
	}
	return n
}

// Daily is the range as DailyCost (days without rows as zero), for the
// projection.
func (c LineCosts) Daily() []DailyCost {
	out := make([]DailyCost, len(c.Days))
	for i, d := range c.Days {
		out[i] = DailyCost{Date: d.Date, Amount: d.Amount}
	}
	return out
}

// BillingLineCosts sums, per day from from to to (inclusive), the cost rows
// in currency (default USD) matching any of lines. A row matching several
// lines counts once. Sums are exact (numeric read as text).
func (s *Store) BillingLineCosts(ctx context.Context, lines []BillingLine, currency string, from, to time.Time) (LineCosts, error) {
	from, to = from.UTC().Truncate(24*time.Hour), to.UTC().Truncate(24*time.Hour)
	if to.Before(from) {
		return LineCosts{}, fmt.Errorf("billing line costs: %s is before %s: %w", to.Format(time.DateOnly), from.Format(time.DateOnly), ErrInvalid)
	}
	if len(lines) == 0 {
		return LineCosts{}, fmt.Errorf("billing line costs: no lines: %w", ErrInvalid)
	}
	for i, l := range lines {
		if l.empty() {
			// An empty line would match the whole bill.
			return LineCosts{}, fmt.Errorf("billing line costs: line %d names nothing: %w", i, ErrInvalid)
		}
	}
	if currency == "" {
		currency = "USD"
	}
	js, err := json.Marshal(lines)
	if err != nil {
		return LineCosts{}, fmt.Errorf("billing line costs: %w", err)
	}
	// The lines travel as one jsonb parameter: no SQL is assembled from
	// policy text, and one query serves any number of lines.
	rows, err := s.pool.Query(ctx, `SELECT c.cost_date, sum(c.cost_amount)::text, count(*)
		FROM cost_tracking c
		WHERE c.cost_date BETWEEN $1::date AND $2::date AND c.currency = $3
		  AND EXISTS (SELECT 1 FROM jsonb_to_recordset($4::jsonb)
				AS l(source text, service text, resource_type text, resource_id text, tags jsonb)
			WHERE (l.source IS NULL OR c.source = l.source)
			  AND (l.service IS NULL OR c.service_name = l.service)
			  AND (l.resource_type IS NULL OR c.resource_type = l.resource_type)
			  AND (l.resource_id IS NULL OR c.resource_id = l.resource_id)
			  AND (l.tags IS NULL OR c.tags @> l.tags))
		GROUP BY 1`, from, to, currency, string(js))
	if err != nil {
		return LineCosts{}, fmt.Errorf("billing line costs: %w", translate(err))
	}
	defer rows.Close()
	n := int(to.Sub(from)/(24*time.Hour)) + 1
	out := LineCosts{Days: make([]LineDay, n)}
	for i := range out.Days {
		out.Days[i] = LineDay{Date: from.AddDate(0, 0, i), Amount: decimal.Zero}
	}
	for rows.Next() {
		var date time.Time
		var amount string
		var count int
		if err := rows.Scan(&date, &amount, &count); err != nil {
			return LineCosts{}, fmt.Errorf("billing line costs: %w", translate(err))
		}
		d, err := parseDecimal(amount)
		if err != nil {
			return LineCosts{}, fmt.Errorf("billing line costs: %w", err)
		}
		i := int(date.Sub(from) / (24 * time.Hour))
		out.Days[i].Amount, out.Days[i].Rows = d, count
	}
	if err := rows.Err(); err != nil {
		return LineCosts{}, fmt.Errorf("billing line costs: %w", translate(err))
	}
	return out, nil
}
