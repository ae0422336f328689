package replay

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/rules"
)

func savingsScenario(tb testing.TB, days int) SavingsConfig {
	tb.Helper()
	th, err := rules.EmbeddedThresholds()
	if err != nil {
		tb.Fatal(err)
	}
	pol, err := policy.Load(filepath.Join("testdata", "savings-policy.yml"))
	if err != nil {
		tb.Fatal(err)
	}
	c, err := SavingsScenario(pol, th.Profiles["production"], days)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// TestSavingsExplore prints a run (development aid).
func TestSavingsExplore(t *testing.T) {
	days, _ := strconv.Atoi(os.Getenv("SAVINGS_DAYS"))
	if days == 0 {
		t.Skip("SAVINGS_DAYS not set")
	}
	rep, err := RunSavings(context.Background(), savingsScenario(t, days))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	_ = rep.WriteMarkdown(&b)
	t.Log("\n" + b.String())
	_ = decimal.Zero
}
