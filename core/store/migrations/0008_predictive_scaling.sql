-- Level-triggered and predictive scaling: events started by a scheduled
-- window, decisions held by a rate policy or that only a forecast would
-- have acted on (forecast_only policies).
ALTER TABLE scaling_events DROP CONSTRAINT scaling_events_initiated_by_check;
ALTER TABLE scaling_events ADD CONSTRAINT scaling_events_initiated_by_check CHECK (initiated_by IN
    ('autoscaler', 'manual', 'rollback', 'phase_transition', 'recommendation', 'scheduled'));
ALTER TABLE scaling_decisions DROP CONSTRAINT scaling_decisions_outcome_check;
ALTER TABLE scaling_decisions ADD CONSTRAINT scaling_decisions_outcome_check CHECK (outcome IN
    ('scale', 'no_data', 'cooldown', 'stabilizing', 'within_tolerance', 'at_bound', 'rate_limited', 'in_progress',
     'cost_ceiling', 'dry_run', 'forecast_only', 'error'));
