package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// Recommendation is an optimization recommendation.
type Recommendation struct {
	ID                     string              `json:"id"`
	Type                   string              `json:"recommendation_type"` // rightsizing, idle_resource, caching, queue_workers, …
	Service                string              `json:"service_name"`
	Title                  string              `json:"title"`
	Description            string              `json:"description"`
	CurrentConfig          json.RawMessage     `json:"current_config"`
	RecommendedConfig      json.RawMessage     `json:"recommended_config"`
	EstimatedMonthlyImpact decimal.Decimal     `json:"estimated_monthly_impact"` // negative = savings
	Confidence             decimal.Decimal     `json:"confidence"`
	Effort                 string              `json:"effort"`
	Priority               string              `json:"priority"`
	Status                 string              `json:"status"`
	ActualImpact           decimal.NullDecimal `json:"actual_impact"`
	// The measurement of ActualImpact (impact.go): its confidence, when it
	// was made, why there is none yet (MeasureNote) and what it was made of.
	ActualImpactConfidence decimal.NullDecimal `json:"actual_impact_confidence"`
	MeasuredAt             *time.Time          `json:"measured_at"`
	MeasureNote            string              `json:"measure_note,omitempty"`
	MeasureBasis           json.RawMessage     `json:"measure_basis,omitempty"`
	ScalingEventID         string              `json:"scaling_event_id,omitempty"`
	ApprovedBy             string              `json:"approved_by,omitempty"`
	ApprovedAt             *time.Time          `json:"approved_at,omitempty"`
	ImplementedAt          *time.Time          `json:"implemented_at,omitempty"`
	ExpiresAt              *time.Time          `json:"expires_at,omitempty"`
	CreatedAt              time.Time           `json:"created_at"`
}

const recColumns = `id::text, recommendation_type, service_name, title, description, current_config, recommended_config,
	estimated_monthly_impact::text, confidence::text, effort, priority, status, actual_impact::text,
	coalesce(scaling_event_id::text, ''), coalesce(approved_by, ''), approved_at, implemented_at, expires_at, created_at,
	actual_impact_confidence::text, measured_at, coalesce(measure_note, ''), measure_basis`

func scanRec(row pgx.Row) (Recommendation, error) {
	var r Recommendation
	var impact, conf string
	var actual, actualConf *string
	err := row.Scan(&r.ID, &r.Type, &r.Service, &r.Title, &r.Description, &r.CurrentConfig, &r.RecommendedConfig,
		&impact, &conf, &r.Effort, &r.Priority, &r.Status, &actual, &r.ScalingEventID, &r.ApprovedBy, &r.ApprovedAt,
		&r.ImplementedAt, &r.ExpiresAt, &r.CreatedAt, &actualConf, &r.MeasuredAt, &r.MeasureNote, &r.MeasureBasis)
	if err != nil {
		return Recommendation{}, translate(err)
	}
	if r.EstimatedMonthlyImpact, err = decimal.NewFromString(impact); err != nil {
		return Recommendation{}, err
	}
	if r.Confidence, err = decimal.NewFromString(conf); err != nil {
		return Recommendation{}, err
	}
	if r.ActualImpact, err = parseNullDecimal(actual); err != nil {
		return Recommendation{}, err
	}
	r.ActualImpactConfidence, err = parseNullDecimal(actualConf)
	return r, err
}

// OfferRecommendation records a fresh recommendation. An open one (pending
// or approved) of the same type for the service is refreshed in place —
// new figures, same id — so that a schedule re-running finds no duplicates
// and an approval is not lost.
func (s *Store) OfferRecommendation(ctx context.Context, r Recommendation) (Recommendation, error) {
	out, err := scanRec(s.pool.QueryRow(ctx, `INSERT INTO optimization_recommendations
			(recommendation_type, service_name, title, description, current_config, recommended_config,
			 estimated_monthly_impact, confidence, effort, priority, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8::numeric, $9, $10, $11)
		ON CONFLICT (service_name, recommendation_type) WHERE status IN ('pending', 'approved') DO UPDATE SET
			title = excluded.title, description = excluded.description, current_config = excluded.current_config,
			recommended_config = excluded.recommended_config, estimated_monthly_impact = excluded.estimated_monthly_impact,
			confidence = excluded.confidence, effort = excluded.effort, priority = excluded.priority,
			expires_at = excluded.expires_at, updated_at = now()
		RETURNING `+recColumns,
		r.Type, r.Service, r.Title, r.Description, jsonOrEmpty(r.CurrentConfig), jsonOrEmpty(r.RecommendedConfig),
		r.EstimatedMonthlyImpact.String(), r.Confidence.String(), r.Effort, r.Priority, r.ExpiresAt))
	if err != nil {
		return Recommendation{}, fmt.Errorf("offer recommendation: %w", err)
	}
	return out, nil
}

// RecommendationFilter selects recommendations, newest first.
type RecommendationFilter struct {
	Status, Service, Type string
	From, To              time.Time
	Limit                 int
}

// ListRecommendations lists recommendations matching f.
func (s *Store) ListRecommendations(ctx context.Context, f RecommendationFilter) ([]Recommendation, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	from, to := optTime(f.From), optTime(f.To)
	rows, err := s.pool.Query(ctx, `SELECT `+recColumns+` FROM optimization_recommendations
		WHERE ($1 = '' OR status = $1) AND ($2 = '' OR service_name = $2) AND ($3 = '' OR recommendation_type = $3)
		  AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5)
		ORDER BY created_at DESC, id LIMIT $6`, f.Status, f.Service, f.Type, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("list recommendations: %w", translate(err))
	}
	defer rows.Close()
	var out []Recommendation
	for rows.Next() {
		r, err := scanRec(rows)
		if err != nil {
			return nil, fmt.Errorf("list recommendations: %w", err)
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}

// GetRecommendation reads one recommendation.
func (s *Store) GetRecommendation(ctx context.Context, id string) (Recommendation, error) {
	r, err := scanRec(s.pool.QueryRow(ctx, `SELECT `+recColumns+` FROM optimization_recommendations WHERE id::text = $1`, id))
	if err != nil {
		return Recommendation{}, fmt.Errorf("recommendation %s: %w", id, err)
	}
	return r, nil
}

// MoveRecommendation changes a recommendation's status from one of from to
// to; any other current status is a ConflictError naming it. by is who
// approved (for approved) and eventID the optimization event (for
// implemented).
func (s *Store) MoveRecommendation(ctx context.Context, id string, from []string, to, by, eventID string) (Recommendation, error) {
	var out Recommendation
	err := s.inAuditedTx(ctx, func(tx pgx.Tx) (string, error) {
		cur, err := scanRec(tx.QueryRow(ctx, `SELECT `+recColumns+` FROM optimization_recommendations WHERE id::text = $1 FOR UPDATE`, id))
		if err != nil {
			return "", fmt.Errorf("recommendation %s: %w", id, err)
		}
		ok := false
		for _, f := range from {
			ok = ok || cur.Status == f
		}
		if !ok {
			return "", &ConflictError{What: "recommendation " + id, State: cur.Status}
		}
		var ev *string
		if eventID != "" {
			ev = &eventID
		}
		out, err = scanRec(tx.QueryRow(ctx, `UPDATE optimization_recommendations SET status = $2, updated_at = now(),
				approved_by = CASE WHEN $2 = 'approved' THEN $3 ELSE approved_by END,
				approved_at = CASE WHEN $2 = 'approved' THEN now() ELSE approved_at END,
				implemented_at = CASE WHEN $2 = 'implemented' THEN now() ELSE implemented_at END,
				scaling_event_id = coalesce($4::uuid, scaling_event_id)
			WHERE id::text = $1 RETURNING `+recColumns, id, to, by, ev))
		return id, err
	})
	return out, err
}

// ExpireRecommendations expires the pending ones past their expiry.
func (s *Store) ExpireRecommendations(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE optimization_recommendations SET status = 'expired', updated_at = now()
		WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("expire recommendations: %w", translate(err))
	}
	return tag.RowsAffected(), nil
}

// ImpactSummary totals recommendations by status: estimated monthly impact,
// and for implemented ones the measured impact (where measured).
type ImpactSummary struct {
	Status    string              `json:"status"`
	Count     int                 `json:"count"`
	Estimated decimal.Decimal     `json:"estimated_monthly_impact"`
	Actual    decimal.NullDecimal `json:"actual_monthly_impact"`
	Measured  int                 `json:"measured"`
}

// RecommendationImpact sums, in SQL numeric (exact), per status.
func (s *Store) RecommendationImpact(ctx context.Context) ([]ImpactSummary, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, count(*), sum(estimated_monthly_impact)::text, sum(actual_impact)::text, count(actual_impact)
		FROM optimization_recommendations GROUP BY status ORDER BY status`)
	if err != nil {
		return nil, fmt.Errorf("recommendation impact: %w", translate(err))
	}
	defer rows.Close()
	var out []ImpactSummary
	for rows.Next() {
		var x ImpactSummary
		var est string
		var act *string
		if err := rows.Scan(&x.Status, &x.Count, &est, &act, &x.Measured); err != nil {
			return nil, fmt.Errorf("recommendation impact: %w", translate(err))
		}
		if x.Estimated, err = decimal.NewFromString(est); err != nil {
			return nil, err
		}
		if x.Actual, err = parseNullDecimal(act); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, translate(rows.Err())
}
