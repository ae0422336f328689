package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// ImpactCandidates lists the implemented recommendations not yet measured
// whose implementation is before implementedBefore, oldest first.
func (s *Store) ImpactCandidates(ctx context.Context, implementedBefore time.Time) ([]Recommendation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+recColumns+` FROM optimization_recommendations
		WHERE status = 'implemented' AND actual_impact IS NULL AND implemented_at < $1
		ORDER BY implemented_at, id LIMIT 1000`, implementedBefore)
	if err != nil {
		return nil, fmt.Errorf("impact candidates: %w", translate(err))
	}
	defer rows.Close()
	var out []Recommendation
	for rows.Next() {
		r, err := scanRec(rows)
		if err != nil {
			return nil, fmt.Errorf("impact candidates: %w", err)
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}

// Measurement is a measured monthly impact (negative = saving).
type Measurement struct {
	Impact     decimal.Decimal
	Confidence decimal.Decimal // in [0, 1]
	Note       string
	Basis      json.RawMessage // a JSON object: what it was computed from
	At         time.Time
}

// RecordImpact stores a measurement once: a recommendation measured
// already (by another replica, or a pass run twice) keeps its first
// figure, and false is returned.
func (s *Store) RecordImpact(ctx context.Context, id string, m Measurement) (bool, error) {
	if m.Confidence.IsNegative() || m.Confidence.GreaterThan(decimal.NewFromInt(1)) {
		return false, fmt.Errorf("record impact of %s: confidence %s is outside [0, 1]: %w", id, m.Confidence, ErrInvalid)
	}
	if m.Impact.Round(2).Abs().GreaterThanOrEqual(decimal.New(1, 12)) {
		return false, fmt.Errorf("record impact of %s: %s does not fit numeric(14, 2): %w", id, m.Impact, ErrInvalid)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE optimization_recommendations SET actual_impact = $2::numeric,
			actual_impact_confidence = $3::numeric, measured_at = $4, measure_note = nullif($5, ''), measure_basis = $6::jsonb,
			updated_at = now()
		WHERE id::text = $1 AND status = 'implemented' AND actual_impact IS NULL`,
		id, m.Impact.Round(2).String(), m.Confidence.Round(3).String(), m.At, m.Note, basisOrNull(m.Basis))
	if err != nil {
		return false, fmt.Errorf("record impact of %s: %w", id, translate(err))
	}
	return tag.RowsAffected() == 1, nil
}

// RecordUnmeasured says why an implemented recommendation has no measured
// impact yet; it is tried again on the next pass (cost rows come late).
func (s *Store) RecordUnmeasured(ctx context.Context, id, note string, basis json.RawMessage) error {
	if r := []rune(note); len(r) > 1000 {
		note = string(r[:1000])
	}
	_, err := s.pool.Exec(ctx, `UPDATE optimization_recommendations SET measure_note = $2, measure_basis = $3::jsonb, updated_at = now()
		WHERE id::text = $1 AND status = 'implemented' AND actual_impact IS NULL
		  AND (measure_note IS DISTINCT FROM $2 OR measure_basis IS DISTINCT FROM $3::jsonb)`, id, note, basisOrNull(basis))
	if err != nil {
		return fmt.Errorf("record why %s is unmeasured: %w", id, translate(err))
	}
	return nil
}

func basisOrNull(b json.RawMessage) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}
