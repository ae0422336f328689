package store

import (
	"errors"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// CostAlertTypes are the cost_alert_type values of the contract
// (docs/contracts.md). CostAlertUnknown is what an alert of any other type
// is stored as, flagged, with its label kept. Migration 0013's CHECK lists
// the same (TestCostAlertListsMatchTheSchema).
var CostAlertTypes = []string{"budget_threshold", "cost_spike", "usage_spike", "projected_overrun",
	"capacity_exhaustion", "users_beyond_phase", "slo_over_budget", "billing_source_down"}

// Severities are the severity label's values of the contract.
var Severities = []string{"info", "warning", "critical"}

// CostAlertUnknown is the stored type or severity of an alert whose label
// is none of the contract's.
const CostAlertUnknown = "unknown"

// Why a received numeric field has no number: the reasons of a flag
// "<field>:<reason>".
const (
	ReasonNotANumber = "not_a_number" // "2.4T", "most", ""
	ReasonNotFinite  = "not_finite"   // NaN, +Inf, -Inf
	ReasonOutOfRange = "out_of_range" // beyond float64's magnitude: 1e400, 1e-400
	ReasonTooPrecise = "too_precise"  // more significant digits than MaxReceivedDigits
)

// The numeric fields of a cost alert that are kept as received.
const (
	FieldCurrentValue     = "current_value"
	FieldThresholdPercent = "threshold_percent"
)

// Flags of a cost alert that does not hold all it received.
const (
	FlagUnknownType     = "alert_type:unknown"
	FlagUnknownSeverity = "severity:unknown"
)

// CostAlertFlags are every flag a cost alert may carry (a row lists its
// own sorted); migration 0013's CHECK lists the same.
var CostAlertFlags = func() []string {
	var out []string
	for _, f := range []string{FieldCurrentValue, FieldThresholdPercent} {
		for _, r := range []string{ReasonNotANumber, ReasonNotFinite, ReasonOutOfRange, ReasonTooPrecise} {
			out = append(out, f+":"+r)
		}
	}
	return append(out, FlagUnknownType, FlagUnknownSeverity)
}()

// What ParseReceivedNumber accepts, and so what the unconstrained numeric
// columns hold exactly: every value a Prometheus sample can have (float64's
// magnitude: the largest is 1.8e308, the smallest non-zero 4.9e-324), in as
// many digits as anyone writes. The digit bound keeps a hostile "1.000…"
// far inside PostgreSQL's numeric (16383 digits after the point).
const (
	MaxReceivedDigits   = 1000
	MaxReceivedExponent = 308  // the leading digit's power of ten, at most
	MinReceivedExponent = -324 // and at least (non-zero values)
)

// ParseReceivedNumber reads a numeric field as an alert carried it
// (Prometheus prints "2.4e+12", "+Inf", "NaN"; rules print what they
// like). It returns the number when the columns hold it exactly, or the
// reason it does not, never a rounded value. Surrounding space is ignored.
func ParseReceivedNumber(text string) (decimal.NullDecimal, string) {
	s := strings.TrimSpace(text)
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "nan", "inf", "infinity":
		return decimal.NullDecimal{}, ReasonNotFinite
	}
	// The exponent is read apart: decimal.NewFromString refuses
	// "1e99999999999" like it refuses "most", and a value out of range is
	// not "not a number".
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	if mant == "" || strings.ContainsAny(mant, "_") {
		return decimal.NullDecimal{}, ReasonNotANumber
	}
	m, err := decimal.NewFromString(mant)
	if err != nil {
		return decimal.NullDecimal{}, ReasonNotANumber
	}
	var e int64
	if hasExp {
		if exp == "" || strings.ContainsAny(exp, "_") {
			return decimal.NullDecimal{}, ReasonNotANumber
		}
		e, err = strconv.ParseInt(exp, 10, 64)
		var ne *strconv.NumError
		switch {
		case errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange):
			if m.IsZero() {
				return decimal.NewNullDecimal(decimal.Zero), ""
			}
			return decimal.NullDecimal{}, ReasonOutOfRange
		case err != nil:
			return decimal.NullDecimal{}, ReasonNotANumber
		}
	}
	if m.IsZero() {
		return decimal.NewNullDecimal(decimal.Zero), ""
	}
	// Trailing zeros as written ("75.000") are digits the column stores,
	// so they count toward the bound.
	digits := int64(len(strings.TrimLeft(m.Coefficient().String(), "-")))
	if digits > MaxReceivedDigits {
		return decimal.NullDecimal{}, ReasonTooPrecise
	}
	if lead := int64(m.Exponent()) + digits - 1 + e; lead > MaxReceivedExponent || lead < MinReceivedExponent {
		return decimal.NullDecimal{}, ReasonOutOfRange
	}
	return decimal.NewNullDecimal(m.Shift(int32(e))), ""
}
