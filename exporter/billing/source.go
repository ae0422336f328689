// Package billing reads what WedSync spends from where it is billed: one
// file per source (OpenAI, Vercel, Twilio, Supabase, FOCUS files, manual
// entries), each behind the one-method Source interface. Sources only read
// and normalize; validation against the store's rules, attribution and the
// write belong to the ingest package.
package billing

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
)

// Source is a place costs are read from.
type Source interface {
	// Fetch reads the costs of the window. An error means the source as a
	// whole failed (unreachable, refused, a page cut short): nothing of the
	// batch may be written. Problems with single rows are in Batch.Errors.
	Fetch(ctx context.Context, w Window) (Batch, error)
}

// Window is a span of whole UTC days, [From, To).
type Window struct {
	From, To time.Time
}

// Days lists the days of the window.
func (w Window) Days() []time.Time {
	var out []time.Time
	for d := w.From; d.Before(w.To); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}

// Contains reports whether t falls on a day of the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// Line is one cost line as a source reports it, before attribution.
type Line struct {
	Date           time.Time // UTC day
	Service        string
	Resource       string // what was billed: a line item, a usage category, a SKU
	ResourceID     string
	Project        string // the provider's project or sub-account, for attribution
	ChargeCategory string // Usage, Purchase, Tax, Credit, Adjustment
	ChargeClass    string // FOCUS ChargeClass: "" or Correction (a correction to an invoiced period)
	Amount         decimal.Decimal
	Currency       string // ISO 4217, upper case
	UsageQuantity  decimal.NullDecimal
	UsageUnit      string
	Tags           map[string]string
	// Team and Feature, when a source knows them (manual entries), win
	// over attribution rules.
	Team, Feature string
	// Origin says where the line came from, for error messages
	// ("costs.csv:12", "page 2").
	Origin string
}

// Batch is what one fetch read.
type Batch struct {
	Lines []Line
	// All: the lines are the source's whole history (files, manual
	// entries); otherwise they replace the window's days.
	All bool
	// Days, when set, are the days the lines replace instead of the
	// window's (an estimate that only knows today).
	Days []time.Time
	// Unchanged: nothing changed since the last fetch (same files); the
	// stored rows stand.
	Unchanged bool
	// Errors are the rows that could not be read; the other rows stand.
	Errors []RowError
}

// RowError is a row that was skipped, and where it was.
type RowError struct {
	Where string // "costs.csv:12:3", "page 2 bucket 2026-11-01 result 4"
	Err   error
	// Kept: the problem is in a column the cost does not depend on (Tags,
	// ConsumedQuantity); the row's cost was kept without it, reported
	// rather than lost.
	Kept bool
}

func (e RowError) Error() string { return e.Where + ": " + e.Err.Error() }
func (e RowError) Unwrap() error { return e.Err }

// ChargeCategories are FOCUS's values, which cost_tracking accepts.
var ChargeCategories = []string{"Usage", "Purchase", "Tax", "Credit", "Adjustment"}

// CheckAmount applies the store's bounds on an amount (store.CheckAmount:
// the one owner). Any sign is fine on any charge category: FOCUS writes
// refunds and corrections as negative Usage, Purchase or Tax rows.
func CheckAmount(amount decimal.Decimal) error { return store.CheckAmount(amount) }

// maxNumberLen bounds the text of a number before it is parsed: a longer
// one cannot be within CheckAmount's bounds (15 + 30 digits, a sign, a
// point, an exponent), and parsing it would only cost time.
const maxNumberLen = 80

// numberRE is FOCUS's numeric format (an optional minus, digits, one
// decimal point), widened to what exports write that is still one exact
// decimal: a leading plus and an exponent (1.23E-05 from spreadsheets).
// Commas, currency symbols, units and fractions are refused: "1,234"
// could be either of two numbers.
var numberRE = regexp.MustCompile(`^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?$`)

// ParseAmount reads a number exactly, to its last digit, within the
// store's bounds.
func ParseAmount(s string) (decimal.Decimal, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxNumberLen {
		return decimal.Decimal{}, fmt.Errorf("%.20q… (%d characters) is too long for an amount (overflow)", s, len(s))
	}
	if !numberRE.MatchString(s) {
		return decimal.Decimal{}, fmt.Errorf("%q is not a number", s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%q is not a number", s)
	}
	if err := CheckAmount(d); err != nil {
		return decimal.Decimal{}, fmt.Errorf("%q: %v", s, err)
	}
	return d, nil
}

// Day truncates a time to its UTC day.
func Day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
