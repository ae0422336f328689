package forecast

import "github.com/shopspring/decimal"

// FromDecimals turns exact values (money kept in decimal) into the float
// series the methods fit. It is the one way in: callers never hold money
// in float themselves.
func FromDecimals(ds []decimal.Decimal) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.InexactFloat64()
	}
	return out
}

// SumDecimal sums forecast values back into a decimal rounded to places,
// counting values below zero as zero: a forecast of spending that dips
// under zero is an artefact of the fit, not a refund.
func SumDecimal(vs []float64, places int32) decimal.Decimal {
	total := decimal.Zero
	for _, v := range vs {
		if v > 0 {
			total = total.Add(decimal.NewFromFloat(v))
		}
	}
	return total.Round(places)
}
