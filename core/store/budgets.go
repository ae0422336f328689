package store

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"
)

// CreateBudget adds a budget; an existing name is a ConflictError.
// Zero-valued Period, Currency and AlertThresholds take the defaults.
func (s *Store) CreateBudget(ctx context.Context, b Budget, createdBy string) (Budget, error) {
	thresholds := budgetThresholds(b.AlertThresholds)
	if b.Period == "" {
		b.Period = "monthly"
	}
	if b.Currency == "" {
		b.Currency = "USD"
	}
	if err := CheckBudgetLimit(b.Limit, b.Currency); err != nil {
		return Budget{}, fmt.Errorf("create budget %q: %w", b.Name, err)
	}
	var out Budget
	err := s.audited(ctx, func(db DBTX) (string, error) {
		var err error
		out, err = scanBudget(db.QueryRow(ctx, `INSERT INTO cost_budgets (budget_name, service_name, team, feature, period,
			budget_limit, currency, alert_thresholds, is_active, created_by)
		VALUES ($1, nullif($2, ''), nullif($3, ''), nullif($4, ''), $5, $6::numeric, $7, $8, true, $9)
		RETURNING `+budgetColumns,
			b.Name, b.Service, b.Team, b.Feature, b.Period, b.Limit.String(), b.Currency, thresholds, createdBy))
		return out.ID, err
	})
	if uniqueViolation(err, "cost_budgets_budget_name_key") {
		return Budget{}, &ConflictError{What: "budget " + b.Name, State: "exists"}
	}
	if err != nil {
		return Budget{}, fmt.Errorf("create budget %q: %w", b.Name, err)
	}
	return out, nil
}

// GetBudget reads one budget by id.
func (s *Store) GetBudget(ctx context.Context, id string) (Budget, error) {
	b, err := scanBudget(s.pool.QueryRow(ctx, `SELECT `+budgetColumns+` FROM cost_budgets WHERE id::text = $1`, id))
	if err != nil {
		return Budget{}, fmt.Errorf("budget %s: %w", id, err)
	}
	return b, nil
}

// BudgetUpdate changes what is set.
type BudgetUpdate struct {
	Limit           *decimal.Decimal
	Period          *string
	AlertThresholds []int
	Active          *bool
}

// UpdateBudget changes a budget by id; the database's checks refuse bad
// values as ErrInvalid.
func (s *Store) UpdateBudget(ctx context.Context, id string, u BudgetUpdate) (Budget, error) {
	var limit *string
	if u.Limit != nil {
		v := u.Limit.String()
		limit = &v
	}
	var thresholds []int32
	if u.AlertThresholds != nil {
		thresholds = budgetThresholds(u.AlertThresholds)
	}
	var b Budget
	err := s.audited(ctx, func(db DBTX) (string, error) {
		if u.Limit != nil {
			// The limit's digits are the stored currency's; locked so the
			// check and the write see the same row.
			var cur string
			if err := db.QueryRow(ctx, `SELECT currency FROM cost_budgets WHERE id::text = $1 FOR UPDATE`, id).Scan(&cur); err != nil {
				return id, translate(err)
			}
			if err := CheckBudgetLimit(*u.Limit, cur); err != nil {
				return id, err
			}
		}
		var err error
		b, err = scanBudget(db.QueryRow(ctx, `UPDATE cost_budgets SET
			budget_limit = coalesce($2::numeric, budget_limit), period = coalesce($3, period),
			alert_thresholds = coalesce($4, alert_thresholds), is_active = coalesce($5, is_active), updated_at = now()
		WHERE id::text = $1 RETURNING `+budgetColumns, id, limit, u.Period, thresholds, u.Active))
		return id, err
	})
	if err != nil {
		return Budget{}, fmt.Errorf("update budget %s: %w", id, err)
	}
	return b, nil
}

func budgetThresholds(ts []int) []int32 {
	if len(ts) == 0 {
		return []int32{50, 75, 90, 100}
	}
	out := make([]int32, len(ts))
	for i, t := range ts {
		out[i] = int32(t)
	}
	return out
}
