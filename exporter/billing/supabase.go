package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"

	"github.com/wedsync/scaling/core/config"
)

// Supabase has no billing API. The cost is estimated from the plan, the
// compute add-on the project runs (read from the Management API), and
// usage (database size and monthly active users from the application
// database; egress from an estimate in the config), priced with the table
// in the config. The estimate is written for today only: what the add-on
// was on earlier days is not known.

// SupabaseConfig is the `supabase:` block of a source.
type SupabaseConfig struct {
	BaseURL     string          `yaml:"base_url,omitempty"` // default https://api.supabase.com
	AccessToken config.Secret   `yaml:"access_token"`
	ProjectRef  string          `yaml:"project_ref"`
	Plan        string          `yaml:"plan"`
	Pricing     SupabasePricing `yaml:"pricing"`
	// EgressGBPerDay estimates egress, which no API reports.
	EgressGBPerDay decimal.Decimal `yaml:"egress_gb_per_day,omitempty"`
	// Invoices recorded by hand, to show how close the estimate came.
	Invoices []Invoice `yaml:"invoices,omitempty"`
}

// SupabasePricing is the price list, in USD.
type SupabasePricing struct {
	Plans map[string]SupabasePlan `yaml:"plans"`
	// Compute is the monthly price of each compute add-on variant
	// (ci_micro, ci_small, …).
	Compute map[string]decimal.Decimal `yaml:"compute"`
	Overage SupabaseQuantities         `yaml:"overage"` // price per unit beyond what the plan includes
}

// SupabasePlan is one plan's monthly fee, compute credit and quotas.
type SupabasePlan struct {
	Monthly       decimal.Decimal    `yaml:"monthly"`
	ComputeCredit decimal.Decimal    `yaml:"compute_credit"`
	Included      SupabaseQuantities `yaml:"included"`
}

// SupabaseQuantities are the metered dimensions.
type SupabaseQuantities struct {
	DatabaseGB decimal.Decimal `yaml:"database_gb"`
	EgressGB   decimal.Decimal `yaml:"egress_gb"`
	MAU        decimal.Decimal `yaml:"mau"`
}

// Invoice is a month's recorded bill.
type Invoice struct {
	Month  string          `yaml:"month"` // 2026-10
	Amount decimal.Decimal `yaml:"amount"`
}

// MonthStart parses Month.
func (i Invoice) MonthStart() (time.Time, error) { return time.Parse("2006-01", i.Month) }

// Validate checks the block.
func (c *SupabaseConfig) Validate(path string) []error {
	var errs []error
	errs = appendErr(errs, validateBaseURL(path+".base_url", c.BaseURL))
	if c.AccessToken.IsZero() {
		errs = append(errs, fmt.Errorf("%s.access_token: required (file or env)", path))
	}
	errs = appendErr(errs, c.AccessToken.Validate(path+".access_token"))
	if c.ProjectRef == "" {
		errs = append(errs, fmt.Errorf("%s.project_ref: required", path))
	}
	if _, ok := c.Pricing.Plans[c.Plan]; !ok {
		errs = append(errs, fmt.Errorf("%s.plan: %q has no entry in pricing.plans (%s)", path, c.Plan, strings.Join(sortedKeys(c.Pricing.Plans), ", ")))
	}
	if len(c.Pricing.Compute) == 0 {
		errs = append(errs, fmt.Errorf("%s.pricing.compute: the monthly price of at least one compute variant is required", path))
	}
	negative := func(p string, d decimal.Decimal) {
		if d.IsNegative() {
			errs = append(errs, fmt.Errorf("%s: must not be negative, got %s", p, d))
		}
	}
	for _, name := range sortedKeys(c.Pricing.Plans) {
		p := c.Pricing.Plans[name]
		pp := path + ".pricing.plans." + name
		negative(pp+".monthly", p.Monthly)
		negative(pp+".compute_credit", p.ComputeCredit)
		p.Included.check(pp+".included", negative)
	}
	for _, v := range sortedKeys(c.Pricing.Compute) {
		negative(path+".pricing.compute."+v, c.Pricing.Compute[v])
	}
	c.Pricing.Overage.check(path+".pricing.overage", negative)
	negative(path+".egress_gb_per_day", c.EgressGBPerDay)
	for i, inv := range c.Invoices {
		if _, err := inv.MonthStart(); err != nil {
			errs = append(errs, fmt.Errorf("%s.invoices[%d].month: %q is not YYYY-MM", path, i, inv.Month))
		}
		if !inv.Amount.IsPositive() {
			errs = append(errs, fmt.Errorf("%s.invoices[%d].amount: must be positive, got %s", path, i, inv.Amount))
		}
	}
	return errs
}

func (q SupabaseQuantities) check(path string, negative func(string, decimal.Decimal)) {
	negative(path+".database_gb", q.DatabaseGB)
	negative(path+".egress_gb", q.EgressGB)
	negative(path+".mau", q.MAU)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SupabaseMeter reads the usage Supabase bills for from the application
// database.
type SupabaseMeter interface {
	DatabaseSizeBytes(ctx context.Context) (int64, error)
	MonthlyActiveUsers(ctx context.Context) (int64, error)
}

// Supabase is the estimating source.
type Supabase struct {
	cfg     SupabaseConfig
	token   string
	base    string
	service string
	meter   SupabaseMeter
	client  *http.Client
	now     func() time.Time
}

// NewSupabase builds the source; meter may be nil (no usage beyond the
// plan is then estimated).
func NewSupabase(c SupabaseConfig, service string, meter SupabaseMeter, client *http.Client) (*Supabase, error) {
	tok, err := c.AccessToken.Resolve()
	if err != nil {
		return nil, fmt.Errorf("access_token: %w", err)
	}
	return &Supabase{cfg: c, token: tok, base: baseURL(c.BaseURL, "https://api.supabase.com"), service: service,
		meter: meter, client: client, now: time.Now}, nil
}

// SupabaseUsage is a month's usage, as the estimate needs it.
type SupabaseUsage struct {
	ComputeVariant string
	DatabaseGB     decimal.Decimal
	EgressGB       decimal.Decimal // the whole month
	MAU            decimal.Decimal
}

// EstimateItem is one line of an estimated bill.
type EstimateItem struct {
	Resource   string // plan, compute, database_size, egress, mau
	ResourceID string
	Amount     decimal.Decimal
	Quantity   decimal.Decimal
	Unit       string
}

var gib = decimal.NewFromInt(1 << 30)

// EstimateMonth prices a month of usage: the plan, compute less the plan's
// credit, and each quota's overage.
func (p SupabasePricing) EstimateMonth(plan string, u SupabaseUsage) ([]EstimateItem, error) {
	pl, ok := p.Plans[plan]
	if !ok {
		return nil, fmt.Errorf("plan %q has no price", plan)
	}
	compute, ok := p.Compute[u.ComputeVariant]
	if !ok {
		return nil, fmt.Errorf("compute variant %q has no price in pricing.compute", u.ComputeVariant)
	}
	over := func(used, included, price decimal.Decimal) decimal.Decimal {
		return decimal.Max(decimal.Zero, used.Sub(included)).Mul(price)
	}
	return []EstimateItem{
		{Resource: "plan", ResourceID: plan, Amount: pl.Monthly, Quantity: decimal.NewFromInt(1), Unit: "month"},
		{Resource: "compute", ResourceID: u.ComputeVariant, Amount: decimal.Max(decimal.Zero, compute.Sub(pl.ComputeCredit)),
			Quantity: decimal.NewFromInt(1), Unit: "month"},
		{Resource: "database_size", Amount: over(u.DatabaseGB, pl.Included.DatabaseGB, p.Overage.DatabaseGB), Quantity: u.DatabaseGB, Unit: "GB"},
		{Resource: "egress", Amount: over(u.EgressGB, pl.Included.EgressGB, p.Overage.EgressGB), Quantity: u.EgressGB, Unit: "GB"},
		{Resource: "mau", Amount: over(u.MAU, pl.Included.MAU, p.Overage.MAU), Quantity: u.MAU, Unit: "users"},
	}, nil
}

type supabaseAddons struct {
	SelectedAddons []struct {
		Type    string `json:"type"`
		Variant struct {
			ID string `json:"id"`
		} `json:"variant"`
	} `json:"selected_addons"`
}

// ComputeVariant reads the project's compute add-on (ci_micro when none is
// selected: what every paid project runs by default).
func (s *Supabase) ComputeVariant(ctx context.Context) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, s.base+"/v1/projects/"+url.PathEscape(s.cfg.ProjectRef)+"/billing/addons", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "application/json")
	resp, err := do(ctx, s.client, req)
	if err != nil {
		return "", fmt.Errorf("supabase add-ons: %w", err)
	}
	body, err := readBody(resp)
	if err != nil {
		return "", fmt.Errorf("supabase add-ons: %w", err)
	}
	var a supabaseAddons
	if err := json.Unmarshal(body, &a); err != nil {
		return "", fmt.Errorf("supabase add-ons: %w", err)
	}
	for _, ad := range a.SelectedAddons {
		if ad.Type == "compute_instance" && ad.Variant.ID != "" {
			return ad.Variant.ID, nil
		}
	}
	return "ci_micro", nil
}

// Fetch estimates today's cost: the month's estimate at today's usage,
// spread evenly over the month's days.
func (s *Supabase) Fetch(ctx context.Context, _ Window) (Batch, error) {
	variant, err := s.ComputeVariant(ctx)
	if err != nil {
		return Batch{}, err
	}
	u := SupabaseUsage{ComputeVariant: variant}
	today := Day(s.now())
	n := time.Date(today.Year(), today.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	days := decimal.NewFromInt(int64(n))
	u.EgressGB = s.cfg.EgressGBPerDay.Mul(days)
	if s.meter != nil {
		size, err := s.meter.DatabaseSizeBytes(ctx)
		if err != nil {
			return Batch{}, fmt.Errorf("supabase database size: %w", err)
		}
		u.DatabaseGB = decimal.NewFromInt(size).DivRound(gib, 30) // exact: a power of two divides within 30 places
		mau, err := s.meter.MonthlyActiveUsers(ctx)
		if err != nil {
			return Batch{}, fmt.Errorf("supabase monthly active users: %w", err)
		}
		u.MAU = decimal.NewFromInt(mau)
	}
	items, err := s.cfg.Pricing.EstimateMonth(s.cfg.Plan, u)
	if err != nil {
		return Batch{}, fmt.Errorf("supabase estimate: %w", err)
	}
	out := Batch{Days: []time.Time{today}}
	for _, it := range items {
		l := Line{Date: today, Service: s.service, Resource: it.Resource, ResourceID: it.ResourceID, Project: s.cfg.ProjectRef,
			ChargeCategory: "Usage", Amount: DayShare(it.Amount, today.Day(), n), Currency: "USD", Origin: "estimate " + it.Resource}
		if it.Unit != "month" {
			l.UsageQuantity = decimal.NullDecimal{Decimal: it.Quantity, Valid: true}
			l.UsageUnit = it.Unit
			if it.Resource == "egress" {
				l.UsageQuantity.Decimal = s.cfg.EgressGBPerDay // the day's, not the month's
			}
		}
		out.Lines = append(out.Lines, l)
	}
	return out, nil
}

// DayShare is day d's (1-based) share of a monthly amount spread over the
// n days of its month. A month does not divide evenly (25/30 has no end),
// so each day is the difference of the rounded running totals: the days
// differ by at most one unit of the last place, and the month's shares sum
// to the amount exactly — no day's rounding is lost from the month.
func DayShare(month decimal.Decimal, d, n int) decimal.Decimal {
	places := int32(6)
	if _, frac := store.Digits(month); int32(frac) > places {
		places = int32(min(frac, store.MaxAmountFractionDigits))
	}
	running := func(k int) decimal.Decimal {
		return month.Mul(decimal.NewFromInt(int64(k))).DivRound(decimal.NewFromInt(int64(n)), places)
	}
	return running(d).Sub(running(d - 1))
}
