package store

import (
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/currency"
)

// MaxBudgetLimit bounds a budget's limit, exclusive: no budget is 10^12 of
// any currency. The column (numeric since 0013) holds every digit below.
var MaxBudgetLimit = decimal.New(1, 12)

// CheckBudgetCurrency refuses a code that is not ISO 4217's.
func CheckBudgetCurrency(code string) error {
	if _, err := currency.Digits(code); err != nil {
		return &ValidationError{Field: "currency", Message: err.Error()}
	}
	return nil
}

// CheckBudgetLimit is the rule for a budget's limit in its currency: a
// positive amount below MaxBudgetLimit with at most the currency's
// minor-unit digits (USD 2, JPY 0, KWD 3). Money is exact to the last
// digit: a limit is stored as given, so one with more digits than the
// currency has (0.001 USD, an amount nobody is billed) is refused, never
// rounded. The message leaves the value out: the caller shows its text.
func CheckBudgetLimit(limit decimal.Decimal, code string) error {
	if !limit.IsPositive() {
		return &ValidationError{Field: "budget_limit", Message: "is not a positive decimal (e.g. \"1500.00\")"}
	}
	if !limit.LessThan(MaxBudgetLimit) {
		return &ValidationError{Field: "budget_limit", Message: "is not below " + MaxBudgetLimit.String()}
	}
	digits, err := currency.Digits(code)
	if err != nil {
		return &ValidationError{Field: "currency", Message: err.Error()}
	}
	if !limit.Equal(limit.Round(digits)) {
		return &ValidationError{Field: "budget_limit", Message: "has more decimal places than " + code + "'s " +
			decimal.NewFromInt32(digits).String() + "; a limit is exact to the currency's minor unit"}
	}
	return nil
}
