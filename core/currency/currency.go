// Package currency is the one place that says which currency codes exist
// and how many decimal places an amount in each has: ISO 4217 as CLDR
// ships it in golang.org/x/text (USD 2, JPY 0, KWD 3, CLF 4). A budget's
// limit is exact to its currency's minor unit, never rounded to it.
package currency

import (
	"fmt"
	"regexp"

	"golang.org/x/text/currency"
)

var codeRE = regexp.MustCompile(`^[A-Z]{3}$`)

// Digits returns the minor-unit digits of an ISO 4217 code, or an error
// saying why it is not one (the caller names the field). The code must be
// upper case, as ISO writes it and the schema stores it.
func Digits(code string) (int32, error) {
	if !codeRE.MatchString(code) {
		return 0, fmt.Errorf("%q is not an ISO 4217 code: three upper-case letters (e.g. USD)", code)
	}
	u, err := currency.ParseISO(code)
	if err != nil {
		return 0, fmt.Errorf("%q is not a currency of ISO 4217 (e.g. USD, EUR, JPY)", code)
	}
	scale, _ := currency.Standard.Rounding(u)
	return int32(scale), nil
}
