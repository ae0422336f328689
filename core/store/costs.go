package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
)

// Unattributed is the team and feature of cost that no attribution rule
// claimed: it stays visible under this name, never dropped.
const Unattributed = "unattributed"

// CostRecord is one line of daily cost (a row of cost_tracking).
type CostRecord struct {
	Date           time.Time // the UTC day; the time of day is ignored
	Service        string
	ResourceType   string
	ResourceID     string
	ChargeCategory string // Usage (default), Purchase, Tax, Credit, Adjustment
	ChargeClass    string // FOCUS ChargeClass: "" or Correction (see ChargeClasses)
	Team           string // default Unattributed
	Feature        string // default Unattributed
	Amount         decimal.Decimal
	Currency       string // ISO 4217, default USD
	UsageQuantity  decimal.NullDecimal
	UsageUnit      string
	Tags           map[string]string
}

// CostScope says which rows of a source a replacement stands for.
type CostScope struct {
	// Days the new rows replace, each whole: a day without new rows ends
	// up with none (billing revised to nothing).
	Days []time.Time
	// All replaces every row of the source: for sources whose whole
	// history is re-read each time (files, manual entries), so that a
	// line removed from them disappears here too.
	All bool
}

// ReplaceResult counts what a replacement did.
type ReplaceResult struct {
	Deleted  int64
	Inserted int64
}

// costKey is cost_tracking's unique key less the source.
type costKey struct {
	date                                                              string
	service, resourceType, resourceID, category, class, team, feature string
	negative                                                          bool
}

// ReplaceCosts makes the source's rows for scope exactly rows, in one
// transaction: re-running a day or receiving revised billing replaces,
// never duplicates, and a failure leaves the previous rows untouched.
// Lines that share a key (same day, service, resource, category, class,
// team, feature and sign) are summed in decimal, every digit kept; their usage
// quantities are summed when their units agree and dropped otherwise. An
// amount outside CheckAmount's bounds fails the whole replacement.
func (s *Store) ReplaceCosts(ctx context.Context, source string, scope CostScope, rows []CostRecord) (ReplaceResult, error) {
	if source == "" {
		return ReplaceResult{}, fmt.Errorf("replace costs: empty source: %w", ErrInvalid)
	}
	days := map[string]bool{}
	var dayList []time.Time
	for _, d := range scope.Days {
		k := d.UTC().Format(time.DateOnly)
		if !days[k] {
			days[k] = true
			dayList = append(dayList, d.UTC().Truncate(24*time.Hour))
		}
	}
	merged, order, err := mergeCosts(rows, scope.All, days)
	if err != nil {
		return ReplaceResult{}, fmt.Errorf("replace costs of %s: %w", source, err)
	}
	var res ReplaceResult
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// Two exporters refreshing one source take turns.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('cost_tracking'), hashtext($1))", source); err != nil {
			return translate(err)
		}
		var tag interface{ RowsAffected() int64 }
		var err error
		if scope.All {
			tag, err = tx.Exec(ctx, "DELETE FROM cost_tracking WHERE source = $1", source)
		} else {
			tag, err = tx.Exec(ctx, "DELETE FROM cost_tracking WHERE source = $1 AND cost_date = ANY($2::date[])", source, dayList)
		}
		if err != nil {
			return translate(err)
		}
		res.Deleted = tag.RowsAffected()
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"cost_tracking"},
			[]string{"cost_date", "source", "service_name", "resource_type", "resource_id", "charge_category", "charge_class", "team", "feature",
				"cost_amount", "currency", "usage_quantity", "usage_unit", "tags"},
			pgx.CopyFromSlice(len(order), func(i int) ([]any, error) {
				r := merged[order[i]]
				tags, err := json.Marshal(r.Tags)
				if err != nil {
					return nil, err
				}
				var qty pgtype.Numeric
				if r.UsageQuantity.Valid {
					qty = numeric(r.UsageQuantity.Decimal)
				}
				var unit *string
				if r.UsageUnit != "" {
					unit = &r.UsageUnit
				}
				return []any{r.Date, source, r.Service, r.ResourceType, r.ResourceID, r.ChargeCategory, r.ChargeClass, r.Team, r.Feature,
					numeric(r.Amount), r.Currency, qty, unit, tags}, nil
			}))
		if err != nil {
			return translate(err)
		}
		res.Inserted = n
		return nil
	})
	if err != nil {
		return ReplaceResult{}, fmt.Errorf("replace costs of %s: %w", source, err)
	}
	return res, nil
}

func mergeCosts(rows []CostRecord, all bool, days map[string]bool) (map[costKey]*CostRecord, []costKey, error) {
	merged := make(map[costKey]*CostRecord, len(rows))
	var order []costKey
	for i, r := range rows {
		r.Date = r.Date.UTC().Truncate(24 * time.Hour)
		day := r.Date.Format(time.DateOnly)
		if !all && !days[day] {
			return nil, nil, fmt.Errorf("row %d is dated %s, outside the days replaced: %w", i, day, ErrInvalid)
		}
		if r.ChargeCategory == "" {
			r.ChargeCategory = "Usage"
		}
		if r.Team == "" {
			r.Team = Unattributed
		}
		if r.Feature == "" {
			r.Feature = Unattributed
		}
		if r.Currency == "" {
			r.Currency = "USD"
		}
		if err := CheckAmount(r.Amount); err != nil {
			return nil, nil, fmt.Errorf("row %d: amount %s: %v: %w", i, r.Amount, err, ErrInvalid)
		}
		if r.UsageQuantity.Valid {
			if err := CheckAmount(r.UsageQuantity.Decimal); err != nil {
				return nil, nil, fmt.Errorf("row %d: usage quantity %s: %v: %w", i, r.UsageQuantity.Decimal, err, ErrInvalid)
			}
		}
		// The sign is in the key: a refund stays a line of its own (the
		// refunds figure), summed with the other refunds of its line only.
		k := costKey{day, r.Service, r.ResourceType, r.ResourceID, r.ChargeCategory, r.ChargeClass, r.Team, r.Feature, r.Amount.IsNegative()}
		m, ok := merged[k]
		if !ok {
			cp := r
			cp.Tags = copyTags(r.Tags)
			merged[k] = &cp
			order = append(order, k)
			continue
		}
		if m.Currency != r.Currency {
			return nil, nil, fmt.Errorf("row %d: %s and %s on one cost line (%s %s %s): %w", i, m.Currency, r.Currency, day, r.Service, r.ResourceType, ErrInvalid)
		}
		m.Amount = m.Amount.Add(r.Amount)
		switch {
		case m.UsageQuantity.Valid && r.UsageQuantity.Valid && m.UsageUnit == r.UsageUnit:
			m.UsageQuantity.Decimal = m.UsageQuantity.Decimal.Add(r.UsageQuantity.Decimal)
		case m.UsageQuantity.Valid || r.UsageQuantity.Valid:
			m.UsageQuantity, m.UsageUnit = decimal.NullDecimal{}, ""
		}
		// Keep the tags the merged lines agree on.
		for tk, tv := range m.Tags {
			if r.Tags[tk] != tv {
				delete(m.Tags, tk)
			}
		}
	}
	return merged, order, nil
}

func copyTags(t map[string]string) map[string]string {
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}

// numeric carries a decimal to PostgreSQL exactly (no text or float detour).
func numeric(d decimal.Decimal) pgtype.Numeric {
	return pgtype.Numeric{Int: new(big.Int).Set(d.Coefficient()), Exp: d.Exponent(), Valid: true}
}

func parseDecimal(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("numeric %q: %w", s, err)
	}
	return d, nil
}

// CostFilter narrows cost reads; empty fields match everything.
type CostFilter struct {
	Service, Team, Feature string
	Currency               string // default USD
}

func (f CostFilter) currency() string {
	if f.Currency == "" {
		return "USD"
	}
	return f.Currency
}

// CostLine is one series of cost as the exporter shows it: summed over
// sources, resource ids and charge categories (credits subtract).
type CostLine struct {
	Service, Resource, Team, Feature string
	Day                              decimal.Decimal // on the day asked for
	MonthToDate                      decimal.Decimal // from the 1st of asOf's month through asOf
	Baseline                         decimal.Decimal // mean daily cost over the baseline days before the day
	// CreditsMonthToDate is what credits (charge category Credit) took off
	// MonthToDate, as a positive amount: netted, they would hide what the
	// series really costs once a promotion or commitment runs out.
	CreditsMonthToDate decimal.Decimal
	// RefundsMonthToDate is what negative lines of the other categories
	// (refunds, corrections: FOCUS allows them on any category) took off
	// MonthToDate, as a positive amount. Negative lines are stored apart
	// from the positive ones of their key, so each shows here whole.
	RefundsMonthToDate decimal.Decimal
}

// CostLines reads every cost series with its value on day, its month to
// date at asOf, and its mean over the baselineDays before day. Only the
// days these need are read, whatever the length of the history.
func (s *Store) CostLines(ctx context.Context, day, asOf time.Time, baselineDays int, currency string) ([]CostLine, error) {
	if baselineDays < 1 {
		return nil, fmt.Errorf("cost lines: baseline of %d days: %w", baselineDays, ErrInvalid)
	}
	if currency == "" {
		currency = "USD"
	}
	rows, err := s.pool.Query(ctx, `SELECT service_name, resource_type, team, feature,
			coalesce(sum(cost_amount) FILTER (WHERE cost_date = $1::date), 0)::text,
			coalesce(sum(cost_amount) FILTER (WHERE cost_date >= date_trunc('month', $2::date)::date), 0)::text,
			coalesce(sum(cost_amount) FILTER (WHERE cost_date >= $1::date - $3::int AND cost_date < $1::date), 0)::text,
			coalesce(-sum(cost_amount) FILTER (WHERE cost_date >= date_trunc('month', $2::date)::date AND charge_category = 'Credit'), 0)::text,
			coalesce(-sum(cost_amount) FILTER (WHERE cost_date >= date_trunc('month', $2::date)::date AND charge_category <> 'Credit' AND cost_amount < 0), 0)::text
		FROM cost_tracking
		WHERE cost_date >= least($1::date - $3::int, date_trunc('month', $2::date)::date) AND cost_date <= greatest($1::date, $2::date)
			AND currency = $4
		GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`, day.UTC(), asOf.UTC(), baselineDays, currency)
	if err != nil {
		return nil, fmt.Errorf("cost lines: %w", translate(err))
	}
	defer rows.Close()
	var out []CostLine
	n := decimal.NewFromInt(int64(baselineDays))
	for rows.Next() {
		var l CostLine
		var dayS, mtdS, baseS, creditS, refundS string
		if err := rows.Scan(&l.Service, &l.Resource, &l.Team, &l.Feature, &dayS, &mtdS, &baseS, &creditS, &refundS); err != nil {
			return nil, fmt.Errorf("cost lines: %w", translate(err))
		}
		var errs [5]error
		l.Day, errs[0] = parseDecimal(dayS)
		l.MonthToDate, errs[1] = parseDecimal(mtdS)
		var base decimal.Decimal
		base, errs[2] = parseDecimal(baseS)
		l.CreditsMonthToDate, errs[3] = parseDecimal(creditS)
		l.RefundsMonthToDate, errs[4] = parseDecimal(refundS)
		for _, e := range errs {
			if e != nil {
				return nil, fmt.Errorf("cost lines: %w", e)
			}
		}
		l.Baseline = base.DivRound(n, 6)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cost lines: %w", translate(err))
	}
	return out, nil
}

// UsageLine is a series of usage quantity, by service, resource and unit.
type UsageLine struct {
	Service, Resource, Unit string
	Day                     decimal.Decimal
	Baseline                decimal.Decimal // mean daily usage over the baseline days before the day
}

// UsageLines reads usage quantities on day and their mean over the
// baselineDays before it.
func (s *Store) UsageLines(ctx context.Context, day time.Time, baselineDays int) ([]UsageLine, error) {
	if baselineDays < 1 {
		return nil, fmt.Errorf("usage lines: baseline of %d days: %w", baselineDays, ErrInvalid)
	}
	rows, err := s.pool.Query(ctx, `SELECT service_name, resource_type, usage_unit,
			coalesce(sum(usage_quantity) FILTER (WHERE cost_date = $1::date), 0)::text,
			coalesce(sum(usage_quantity) FILTER (WHERE cost_date < $1::date), 0)::text
		FROM cost_tracking
		WHERE cost_date >= $1::date - $2::int AND cost_date <= $1::date AND usage_quantity IS NOT NULL
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, day.UTC(), baselineDays)
	if err != nil {
		return nil, fmt.Errorf("usage lines: %w", translate(err))
	}
	defer rows.Close()
	var out []UsageLine
	n := decimal.NewFromInt(int64(baselineDays))
	for rows.Next() {
		var l UsageLine
		var dayS, baseS string
		if err := rows.Scan(&l.Service, &l.Resource, &l.Unit, &dayS, &baseS); err != nil {
			return nil, fmt.Errorf("usage lines: %w", translate(err))
		}
		d, err1 := parseDecimal(dayS)
		b, err2 := parseDecimal(baseS)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("usage lines: %v %v", err1, err2)
		}
		l.Day, l.Baseline = d, b.DivRound(n, 6)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage lines: %w", translate(err))
	}
	return out, nil
}

// DailyCost is one day's total.
type DailyCost struct {
	Date   time.Time
	Amount decimal.Decimal
}

// DailyCosts returns the daily totals matching f from from to to
// (inclusive), one entry per day, days without cost as zero.
func (s *Store) DailyCosts(ctx context.Context, f CostFilter, from, to time.Time) ([]DailyCost, error) {
	byService, err := s.dailyCosts(ctx, f, from, to, false)
	if err != nil {
		return nil, err
	}
	return byService[""], nil
}

// DailyCostsByService is DailyCosts for every service at once.
func (s *Store) DailyCostsByService(ctx context.Context, f CostFilter, from, to time.Time) (map[string][]DailyCost, error) {
	return s.dailyCosts(ctx, f, from, to, true)
}

func (s *Store) dailyCosts(ctx context.Context, f CostFilter, from, to time.Time, byService bool) (map[string][]DailyCost, error) {
	from, to = from.UTC().Truncate(24*time.Hour), to.UTC().Truncate(24*time.Hour)
	if to.Before(from) {
		return nil, fmt.Errorf("daily costs: %s is before %s: %w", to.Format(time.DateOnly), from.Format(time.DateOnly), ErrInvalid)
	}
	group := "''"
	if byService {
		group = "service_name"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+group+`, cost_date, sum(cost_amount)::text
		FROM cost_tracking
		WHERE cost_date BETWEEN $1::date AND $2::date AND currency = $3
			AND ($4 = '' OR service_name = $4) AND ($5 = '' OR team = $5) AND ($6 = '' OR feature = $6)
		GROUP BY 1, 2`, from, to, f.currency(), f.Service, f.Team, f.Feature)
	if err != nil {
		return nil, fmt.Errorf("daily costs: %w", translate(err))
	}
	defer rows.Close()
	days := int(to.Sub(from)/(24*time.Hour)) + 1
	out := map[string][]DailyCost{}
	series := func(key string) []DailyCost {
		ds, ok := out[key]
		if !ok {
			ds = make([]DailyCost, days)
			for i := range ds {
				ds[i] = DailyCost{Date: from.AddDate(0, 0, i), Amount: decimal.Zero}
			}
			out[key] = ds
		}
		return ds
	}
	if !byService {
		series("")
	}
	for rows.Next() {
		var key, amount string
		var date time.Time
		if err := rows.Scan(&key, &date, &amount); err != nil {
			return nil, fmt.Errorf("daily costs: %w", translate(err))
		}
		d, err := parseDecimal(amount)
		if err != nil {
			return nil, fmt.Errorf("daily costs: %w", err)
		}
		series(key)[int(date.Sub(from)/(24*time.Hour))].Amount = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("daily costs: %w", translate(err))
	}
	return out, nil
}

// UsageTotal sums a billed resource's usage quantity between two days
// (inclusive), and names its unit ("" without usage).
func (s *Store) UsageTotal(ctx context.Context, service, resource string, from, to time.Time) (decimal.Decimal, string, error) {
	var total, unit string
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(usage_quantity), 0)::text, coalesce(min(usage_unit), '') FROM cost_tracking
		WHERE service_name = $1 AND resource_type = $2 AND cost_date BETWEEN $3::date AND $4::date AND usage_quantity IS NOT NULL`,
		service, resource, from.UTC(), to.UTC()).Scan(&total, &unit)
	if err != nil {
		return decimal.Decimal{}, "", fmt.Errorf("usage of %s/%s: %w", service, resource, translate(err))
	}
	d, err := parseDecimal(total)
	return d, unit, err
}

// SourceTotal sums the cost a source recorded between two days
// (inclusive): what an estimate is compared with an invoice by.
func (s *Store) SourceTotal(ctx context.Context, source string, from, to time.Time) (decimal.Decimal, error) {
	var total string
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(cost_amount), 0)::text FROM cost_tracking
		WHERE source = $1 AND cost_date BETWEEN $2::date AND $3::date`, source, from.UTC(), to.UTC()).Scan(&total)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("total of %s: %w", source, translate(err))
	}
	return parseDecimal(total)
}

// Budget is a row of cost_budgets. Empty Service, Team or Feature means the
// budget spans all of them.
type Budget struct {
	ID              string
	Name            string
	Service         string
	Team            string
	Feature         string
	Period          string // monthly, quarterly, yearly
	Limit           decimal.Decimal
	Spend           decimal.Decimal // current_spend, kept by RefreshBudgetSpend
	Currency        string
	AlertThresholds []int // percent of the limit
	Active          bool
	UpdatedAt       time.Time
}

const budgetColumns = `id::text, budget_name, coalesce(service_name, ''), coalesce(team, ''), coalesce(feature, ''), period,
	budget_limit::text, current_spend::text, currency, alert_thresholds, is_active, updated_at`

func scanBudget(row pgx.Row) (Budget, error) {
	var b Budget
	var limit, spend string
	var thresholds []int32
	if err := row.Scan(&b.ID, &b.Name, &b.Service, &b.Team, &b.Feature, &b.Period, &limit, &spend, &b.Currency, &thresholds, &b.Active, &b.UpdatedAt); err != nil {
		return Budget{}, translate(err)
	}
	var err error
	if b.Limit, err = parseDecimal(limit); err != nil {
		return Budget{}, err
	}
	if b.Spend, err = parseDecimal(spend); err != nil {
		return Budget{}, err
	}
	b.Currency = strings.TrimSpace(b.Currency)
	for _, t := range thresholds {
		b.AlertThresholds = append(b.AlertThresholds, int(t))
	}
	sort.Ints(b.AlertThresholds)
	return b, nil
}

// UpsertBudget creates or updates the budget of that name. Zero-valued
// Period, Currency and AlertThresholds take the schema's defaults.
func (s *Store) UpsertBudget(ctx context.Context, b Budget) (Budget, error) {
	thresholds := budgetThresholds(b.AlertThresholds)
	if b.Period == "" {
		b.Period = "monthly"
	}
	if b.Currency == "" {
		b.Currency = "USD"
	}
	if err := CheckBudgetLimit(b.Limit, b.Currency); err != nil {
		return Budget{}, fmt.Errorf("upsert budget %q: %w", b.Name, err)
	}
	row := s.pool.QueryRow(ctx, `INSERT INTO cost_budgets (budget_name, service_name, team, feature, period, budget_limit, currency, alert_thresholds, is_active)
		VALUES ($1, nullif($2, ''), nullif($3, ''), nullif($4, ''), $5, $6::numeric, $7, $8, $9)
		ON CONFLICT (budget_name) DO UPDATE SET service_name = excluded.service_name, team = excluded.team, feature = excluded.feature,
			period = excluded.period, budget_limit = excluded.budget_limit, currency = excluded.currency,
			alert_thresholds = excluded.alert_thresholds, is_active = excluded.is_active, updated_at = now()
		RETURNING `+budgetColumns,
		b.Name, b.Service, b.Team, b.Feature, b.Period, b.Limit.String(), b.Currency, thresholds, b.Active)
	out, err := scanBudget(row)
	if err != nil {
		return Budget{}, fmt.Errorf("upsert budget %q: %w", b.Name, err)
	}
	return out, nil
}

// ListBudgets lists the budgets by name, only the active ones if asked.
func (s *Store) ListBudgets(ctx context.Context, activeOnly bool) ([]Budget, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+budgetColumns+` FROM cost_budgets WHERE is_active OR NOT $1 ORDER BY budget_name`, activeOnly)
	if err != nil {
		return nil, fmt.Errorf("list budgets: %w", translate(err))
	}
	defer rows.Close()
	var out []Budget
	for rows.Next() {
		b, err := scanBudget(rows)
		if err != nil {
			return nil, fmt.Errorf("list budgets: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list budgets: %w", translate(err))
	}
	return out, nil
}

// PeriodStart is the first day of the budget period (monthly, quarterly,
// yearly) that holds day.
func PeriodStart(period string, day time.Time) time.Time {
	y, m, _ := day.UTC().Date()
	switch period {
	case "quarterly":
		m = (m-1)/3*3 + 1
	case "yearly":
		m = 1
	}
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// PeriodEnd is the last day of the budget period that holds day.
func PeriodEnd(period string, day time.Time) time.Time {
	months := 1
	switch period {
	case "quarterly":
		months = 3
	case "yearly":
		months = 12
	}
	return PeriodStart(period, day).AddDate(0, months, -1)
}

// RefreshBudgetSpend recomputes current_spend of every active budget from
// cost_tracking: the budget's currency and scope, from the start of its
// period through asOf. Rows change only when the spend did. It returns the
// active budgets.
func (s *Store) RefreshBudgetSpend(ctx context.Context, asOf time.Time) ([]Budget, error) {
	_, err := s.pool.Exec(ctx, `UPDATE cost_budgets b SET current_spend = s.spend, updated_at = now()
		FROM (
			SELECT b2.id, coalesce((
				SELECT sum(c.cost_amount) FROM cost_tracking c
				WHERE c.cost_date >= date_trunc(CASE b2.period WHEN 'monthly' THEN 'month' WHEN 'quarterly' THEN 'quarter' ELSE 'year' END, $1::date)::date
					AND c.cost_date <= $1::date AND c.currency = b2.currency
					AND (b2.service_name IS NULL OR c.service_name = b2.service_name)
					AND (b2.team IS NULL OR c.team = b2.team)
					AND (b2.feature IS NULL OR c.feature = b2.feature)), 0) AS spend -- exact (0013): no rounding
			FROM cost_budgets b2 WHERE b2.is_active
		) s
		WHERE b.id = s.id AND b.current_spend <> s.spend`, asOf.UTC())
	if err != nil {
		return nil, fmt.Errorf("refresh budget spend: %w", translate(err))
	}
	return s.ListBudgets(ctx, true)
}
