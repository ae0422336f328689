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
	// What the alert carried, as received: the value annotation, the
	// threshold_percent, cost_alert_type and severity labels. A number
	// above is NULL when its text is not stored exactly, and Flags say why
	// ("current_value:out_of_range"); Type and Severity are "unknown" when
	// the label is none of the contract's. The texts are null on rows
	// recorded before migration 0013.
	CurrentValueText     *string    `json:"current_value_text"`
	ThresholdPercentText *string    `json:"threshold_percent_text"`
	TypeText             *string    `json:"alert_type_text"`
	SeverityText         *string    `json:"severity_text"`
	Flags                []string   `json:"flags"`
	Message              string     `json:"message"`
	Status               string     `json:"status"` // firing or resolved
	ResolvedAt           *time.Time `json:"resolved_at,omitempty"`
	CreatedAt            time.Time  `json:"created_at,omitzero"`
}

// RecordCostAlerts records a cost notification's alerts, one row per alert
// instance (fingerprint, startsAt): a re-delivery updates, never
// duplicates; resolved is final. It reports how many rows were new.
func (s *Store) RecordCostAlerts(ctx context.Context, alerts []CostAlert) (inserted int, err error) {
	b := &pgx.Batch{}
	for _, a := range alerts {
		flags := a.Flags
		if flags == nil {
			flags = []string{}
		}
		// Labels are part of the fingerprint, so type, severity and
		// threshold never change for a row; the value annotation does, and
		// the last one received wins with its text and flags together.
		b.Queue(`INSERT INTO cost_alerts (budget_id, alert_type, severity, service_name, threshold_percent, current_value,
				message, status, fingerprint, starts_at, resolved_at,
				current_value_text, threshold_percent_text, alert_type_text, severity_text, flags)
			VALUES ((SELECT id FROM cost_budgets WHERE budget_name = $1), $2, $3, nullif($4, ''), $5::numeric, $6::numeric,
				$7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			ON CONFLICT (fingerprint, starts_at) DO UPDATE SET
				status = CASE WHEN cost_alerts.status = 'resolved' THEN 'resolved' ELSE excluded.status END,
				resolved_at = coalesce(cost_alerts.resolved_at, excluded.resolved_at),
				current_value = CASE WHEN excluded.current_value_text IS NULL AND excluded.current_value IS NULL
					THEN cost_alerts.current_value ELSE excluded.current_value END,
				current_value_text = coalesce(excluded.current_value_text, cost_alerts.current_value_text),
				flags = CASE WHEN excluded.current_value_text IS NULL THEN cost_alerts.flags
					ELSE array(SELECT f FROM unnest(cost_alerts.flags) f WHERE f NOT LIKE 'current_value:%'
						UNION SELECT f FROM unnest(excluded.flags) f WHERE f LIKE 'current_value:%' ORDER BY 1) END,
				message = excluded.message
			RETURNING xmax = 0`,
			a.Budget, a.Type, a.Severity, a.Service, nullDecimalText(a.ThresholdPercent), nullDecimalText(a.CurrentValue),
			a.Message, a.Status, a.Fingerprint, a.StartsAt, a.ResolvedAt,
			a.CurrentValueText, a.ThresholdPercentText, a.TypeText, a.SeverityText, flags)
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
	// Flagged: only alerts with flags (true) or only those without (false).
	Flagged *bool
	Limit   int
}

const costAlertColumns = `a.id::text, a.fingerprint, a.starts_at, a.alert_type, a.severity, coalesce(b.budget_name, ''),
	coalesce(a.service_name, ''), a.threshold_percent::text, a.current_value::text, a.message, a.status, a.resolved_at, a.created_at,
	a.current_value_text, a.threshold_percent_text, a.alert_type_text, a.severity_text, a.flags
	FROM cost_alerts a LEFT JOIN cost_budgets b ON b.id = a.budget_id`

// ListCostAlerts lists cost alerts matching f.
func (s *Store) ListCostAlerts(ctx context.Context, f CostAlertFilter) ([]CostAlert, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	from, to := optTime(f.From), optTime(f.To)
	rows, err := s.pool.Query(ctx, `SELECT `+costAlertColumns+`
		WHERE ($1 = '' OR a.alert_type = $1) AND ($2 = '' OR a.status = $2) AND ($3 = '' OR a.service_name = $3)
		  AND ($4::timestamptz IS NULL OR a.starts_at >= $4) AND ($5::timestamptz IS NULL OR a.starts_at < $5)
		  AND ($7::boolean IS NULL OR (a.flags <> '{}') = $7)
		ORDER BY a.starts_at DESC, a.id LIMIT $6`, f.Type, f.Status, f.Service, from, to, limit, f.Flagged)
	if err != nil {
		return nil, fmt.Errorf("list cost alerts: %w", translate(err))
	}
	defer rows.Close()
	var out []CostAlert
	for rows.Next() {
		a, err := scanCostAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("list cost alerts: %w", err)
		}
		out = append(out, a)
	}
	return out, translate(rows.Err())
}

// GetCostAlert reads one cost alert by id; ErrNotFound if there is none.
func (s *Store) GetCostAlert(ctx context.Context, id string) (CostAlert, error) {
	a, err := scanCostAlert(s.pool.QueryRow(ctx, `SELECT `+costAlertColumns+` WHERE a.id::text = $1`, id))
	if err != nil {
		return CostAlert{}, fmt.Errorf("cost alert %s: %w", id, err)
	}
	return a, nil
}

func scanCostAlert(row pgx.Row) (CostAlert, error) {
	var a CostAlert
	var th, cur *string
	if err := row.Scan(&a.ID, &a.Fingerprint, &a.StartsAt, &a.Type, &a.Severity, &a.Budget, &a.Service, &th, &cur,
		&a.Message, &a.Status, &a.ResolvedAt, &a.CreatedAt,
		&a.CurrentValueText, &a.ThresholdPercentText, &a.TypeText, &a.SeverityText, &a.Flags); err != nil {
		return CostAlert{}, translate(err)
	}
	var err error
	if a.ThresholdPercent, err = parseNullDecimal(th); err != nil {
		return CostAlert{}, err
	}
	if a.CurrentValue, err = parseNullDecimal(cur); err != nil {
		return CostAlert{}, err
	}
	return a, nil
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
