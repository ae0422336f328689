package store

import (
	"fmt"
	"math/big"

	"github.com/shopspring/decimal"
)

// The bounds of one cost line's amount. cost_amount is unconstrained
// numeric (every digit a source sends is kept), so these are the only
// limits, and every writer checks them: a line worth more than a
// quadrillion or finer than 10^-30 is a broken export, not a bill.
// FOCUS requires no precision; providers document theirs, and the finest
// seen is 10 to 12 decimals (decimal128, the spec's "extended", holds 34
// significant digits: both bounds together hold 45).
const (
	MaxAmountIntegerDigits  = 15
	MaxAmountFractionDigits = 30
)

// ChargeClassCorrection is FOCUS ChargeClass's one value: a correction to
// a previously invoiced billing period.
const ChargeClassCorrection = "Correction"

// ChargeClasses are the values of FOCUS ChargeClass that cost_tracking
// holds ("" for null); the schema's CHECK is tested against this list.
var ChargeClasses = []string{"", ChargeClassCorrection}

// CheckAmount says whether an amount (of money or of usage) can be stored
// exactly within the bounds; its error is a plain sentence, for readers to
// put beside the row and column. Trailing zeros do not count: 1.500000 has
// one fraction digit.
func CheckAmount(d decimal.Decimal) error {
	intDigits, fracDigits := Digits(d)
	switch {
	case intDigits > MaxAmountIntegerDigits:
		return fmt.Errorf("%d integer digits, more than %d (overflow)", intDigits, MaxAmountIntegerDigits)
	case fracDigits > MaxAmountFractionDigits:
		return fmt.Errorf("%d decimal places, more than %d", fracDigits, MaxAmountFractionDigits)
	}
	return nil
}

var ten = big.NewInt(10)

// Digits counts the significant digits of d before and after the decimal
// point, trailing zeros of the fraction left out.
func Digits(d decimal.Decimal) (intDigits, fracDigits int) {
	c := new(big.Int).Abs(d.Coefficient())
	if c.Sign() == 0 {
		return 0, 0
	}
	exp := int64(d.Exponent())
	// Strip trailing zeros of the coefficient into the exponent; a huge
	// exponent with a short coefficient costs nothing here.
	var q, r big.Int
	for exp < 0 {
		q.QuoRem(c, ten, &r)
		if r.Sign() != 0 {
			break
		}
		c.Set(&q)
		exp++
	}
	n := int64(len(c.String()))
	if exp < 0 {
		fracDigits = int(min(-exp, 1<<31-1))
		intDigits = int(max(0, n+exp))
		return intDigits, fracDigits
	}
	return int(min(n+exp, 1<<31-1)), 0
}
