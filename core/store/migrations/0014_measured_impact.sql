-- Measured impact of an implemented recommendation, computed in Go from the
-- cost rows of the service's billing lines (the policy's mapping) and its
-- load, never from a join of policy names with billing names. A
-- recommendation that cannot be measured (unmapped, no cost rows, no load)
-- keeps actual_impact NULL and says why in measure_note: no row is unknown,
-- never 0.00. Columns are only added: another change edits statuses and the
-- estimate on this table.
ALTER TABLE optimization_recommendations ADD COLUMN actual_impact_confidence numeric(4, 3)
    CHECK (actual_impact_confidence BETWEEN 0 AND 1);
ALTER TABLE optimization_recommendations ADD COLUMN measured_at timestamptz;
ALTER TABLE optimization_recommendations ADD COLUMN measure_note text CHECK (length(measure_note) <= 1000);
-- The figures the measurement was made from (windows, costs, loads), so a
-- reader can redo the arithmetic.
ALTER TABLE optimization_recommendations ADD COLUMN measure_basis jsonb
    CHECK (measure_basis IS NULL OR jsonb_typeof(measure_basis) = 'object');
-- Every figure stored so far came from that join, which matched no row of
-- any real source: it is not a measurement. It is cleared and measured
-- again from the billing lines.
UPDATE optimization_recommendations SET actual_impact = NULL,
    measure_note = 'cleared: measured by joining policy and billing service names, which never matched'
    WHERE actual_impact IS NOT NULL;
-- A measured figure comes with its confidence and time, or not at all.
ALTER TABLE optimization_recommendations ADD CONSTRAINT optimization_recommendations_measured_whole
    CHECK ((actual_impact IS NULL) = (measured_at IS NULL) AND (actual_impact IS NULL) = (actual_impact_confidence IS NULL));
