package policy

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// Recommendations prices what a recommendation would add that the services'
// own bounds and tiers do not price: today, a read cache in front of a
// database. Without it a caching recommendation's saving is unknown — the
// tier it avoids minus a cache of unknown price is not a figure.
type Recommendations struct {
	// CacheMonthlyCost is what a read cache (e.g. a managed Redis of the
	// size a service's hot reads need) costs per month.
	CacheMonthlyCost *decimal.Decimal `yaml:"cache_monthly_cost,omitempty"`
}

// CachePrice is the monthly price of a cache; ok is false when none is
// configured (shown as unknown, never as $0.00).
func (r *Recommendations) CachePrice() (decimal.Decimal, bool) {
	if r == nil || r.CacheMonthlyCost == nil {
		return decimal.Zero, false
	}
	return *r.CacheMonthlyCost, true
}

func (r *Recommendations) validate(p string) []error {
	if r == nil {
		return nil
	}
	var errs []error
	if c := r.CacheMonthlyCost; c != nil && c.IsNegative() {
		errs = append(errs, fmt.Errorf("%s.cache_monthly_cost: must not be negative, got %s", p, c))
	}
	return errs
}
