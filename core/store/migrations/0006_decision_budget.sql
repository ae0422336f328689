-- Decisions held by a service's monthly cost ceiling.
ALTER TABLE scaling_decisions DROP CONSTRAINT scaling_decisions_outcome_check;
ALTER TABLE scaling_decisions ADD CONSTRAINT scaling_decisions_outcome_check CHECK (outcome IN
    ('scale', 'no_data', 'cooldown', 'stabilizing', 'within_tolerance', 'at_bound', 'in_progress', 'dry_run', 'error', 'cost_ceiling'));
