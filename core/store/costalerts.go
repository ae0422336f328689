package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// CostAlert is one cost or capacity alert as Alertmanager delivered it.
type CostAlert struct {
	ID               string              `json:"id,omitempty"`
	Fingerprint      string              `json:"fingerprint"`
	StartsAt         time.Time           `json:"starts_at"`
	Type             string              `json:"alert_type"` // budget_threshold, cost_spike, …
	Severity         string              `json:"severity"`
	Budget           string              `json:"budget,omitempty"` // budget_name, when the alert is about one
	Service          string              `json:"service_name,omitempty"`
	ThresholdPercent decimal.NullDecimal `json:"threshold_percent"`
	CurrentValue     decimal.NullDecimal `json:"current_value"`
	Message          string              `json:"message"`
	Status           string              `json:"status"` // firing or resolved
	ResolvedAt       *time.Time          `json:"resolved_at,omitempty"`
	CreatedAt        time.Time           `json:"created_at,omitzero"`
}

// RecordCostAlerts records a cost notification's alerts, one row per alert
// instance (fingerprint, startsAt): a re-delivery updates, never
// duplicates; resolved is final. It reports how many rows were new.
func (s *Store) RecordCostAlerts(ctx context.Context, alerts []CostAlert) (inserted int, err error) {
	b := &pgx.Batch{}
	for _, a := range alerts {
		b.Queue(`INSERT INTO cost_alerts (budget_id, alert_type, severity, service_name, threshold_percent, current_value,
				message, status, fingerprint, starts_at, resolved_at)
			VALUES ((SELECT id FROM cost_budgets WHERE budget_name = $1), $2, $3, nullif($4, ''), $5::numeric, $6::numeric,
				$7, $8, $9, $10, $11)
			ON CONFLICT (fingerprint, starts_at) DO UPDATE SET
				status = CASE WHEN cost_alerts.status = 'resolved' THEN 'resolved' ELSE excluded.status END,
				resolved_at = coalesce(cost_alerts.resolved_at, excluded.resolved_at),
				current_value = coalesce(excluded.current_value, cost_alerts.current_value),
				message = excluded.message
			RETURNING xmax = 0`,
			a.Budget, a.Type, a.Severity, a.Service, nullDecimalText(a.ThresholdPercent), nullDecimalText(a.CurrentValue),
			a.Message, a.Status, a.Fingerprint, a.StartsAt, a.ResolvedAt)
	}
	br := s.pool.SendBatch(ctx, b)
	for range alerts {
		var isNew bool
		if err = br.QueryRow().Scan(&isNew); err != nil {
			break
		}
		if isNew {
			inserted++
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("record cost alerts: %w", translate(err))
	}
	return inserted, nil
}

// CostAlertFilter selects cost alerts, newest first.
type CostAlertFilter struct {
	Type, Status, Service string
	From, To              time.Time
	Limit                 int
}

// ListCostAlerts lists cost alerts matching f.
func (s *Store) ListCostAlerts(ctx context.Context, f CostAlertFilter) ([]CostAlert, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	from, to := optTime(f.From), optTime(f.To)
	rows, err := s.pool.Query(ctx, `SELECT a.id::text, a.fingerprint, a.starts_at, a.alert_type, a.severity, coalesce(b.budget_name, ''),
			coalesce(a.service_name, ''), a.threshold_percent::text, a.current_value::text, a.message, a.status, a.resolved_at, a.created_at
		FROM cost_alerts a LEFT JOIN cost_budgets b ON b.id = a.budget_id
		WHERE ($1 = '' OR a.alert_type = $1) AND ($2 = '' OR a.status = $2) AND ($3 = '' OR a.service_name = $3)
		  AND ($4::timestamptz IS NULL OR a.starts_at >= $4) AND ($5::timestamptz IS NULL OR a.starts_at < $5)
		ORDER BY a.starts_at DESC, a.id LIMIT $6`, f.Type, f.Status, f.Service, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("list cost alerts: %w", translate(err))
	}
	defer rows.Close()
	var out []CostAlert
	for rows.Next() {
		var a CostAlert
		var th, cur *string
		if err := rows.Scan(&a.ID, &a.Fingerprint, &a.StartsAt, &a.Type, &a.Severity, &a.Budget, &a.Service, &th, &cur,
			&a.Message, &a.Status, &a.ResolvedAt, &a.CreatedAt); err != nil {
			return nil, fmt.Errorf("list cost alerts: %w", translate(err))
		}
		if a.ThresholdPercent, err = parseNullDecimal(th); err != nil {
			return nil, err
		}
		if a.CurrentValue, err = parseNullDecimal(cur); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, translate(rows.Err())
}

func parseNullDecimal(s *string) (decimal.NullDecimal, error) {
	if s == nil {
		return decimal.NullDecimal{}, nil
	}
	d, err := decimal.NewFromString(*s)
	if err != nil {
		return decimal.NullDecimal{}, fmt.Errorf("numeric %q: %w", *s, err)
	}
	return decimal.NewNullDecimal(d), nil
}
