package currency_test

import (
	"strings"
	"testing"

	"github.com/wedsync/scaling/core/currency"
)

func TestDigits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code   string
		digits int32
		err    string
	}{
		{"USD", 2, ""},
		{"EUR", 2, ""},
		{"JPY", 0, ""},
		{"KWD", 3, ""},
		{"CLF", 4, ""},
		{"usd", 0, "three upper-case letters"},
		{"US", 0, "three upper-case letters"},
		{"", 0, "three upper-case letters"},
		{"ABC", 0, "not a currency of ISO 4217"},
		{"ZZZ", 0, "not a currency of ISO 4217"},
	}
	for _, tc := range tests {
		d, err := currency.Digits(tc.code)
		if tc.err == "" && (err != nil || d != tc.digits) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: %d, %v; want %d %q", tc.code, d, err, tc.digits, tc.err)
		}
	}
}
