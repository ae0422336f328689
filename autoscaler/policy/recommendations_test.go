package policy

import (
	"strings"
	"testing"
)

func TestRecommendationsConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want, price string
		priced                  bool
	}{
		{"absent: the cache is unpriced", base, "", "0", false},
		{"priced", "recommendations: {cache_monthly_cost: 45.10}\n" + base, "", "45.1", true},
		{"zero is a price", "recommendations: {cache_monthly_cost: 0}\n" + base, "", "0", true},
		{"negative", "recommendations: {cache_monthly_cost: -1}\n" + base, "recommendations.cache_monthly_cost: must not be negative, got -1", "", false},
		{"unknown field", "recommendations: {cache_cost: 3}\n" + base, "field cache_cost not found", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.yaml))
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, ok := f.Recommendations.CachePrice()
			if ok != tc.priced || p.String() != tc.price {
				t.Errorf("cache price %s %v, want %s %v", p, ok, tc.price, tc.priced)
			}
		})
	}
}
