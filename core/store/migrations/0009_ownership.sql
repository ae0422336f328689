-- Ownership: every autoscaler replica holds a lease (a row it heartbeats);
-- every unfinished event and running load test names the replica that owns
-- it. Only work whose owner's lease has expired is taken over by another
-- replica, so a restarting replica never fails a live action of another.
CREATE TABLE autoscaler_leases (
    holder       text PRIMARY KEY CHECK (holder <> '' AND length(holder) <= 200),
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    -- The longest an actuator call of this holder may run: a taker-over
    -- waits this long after the lease expired before applying again, so a
    -- call the dead holder had in flight cannot overlap the new one.
    actuator_timeout_ms bigint NOT NULL DEFAULT 0 CHECK (actuator_timeout_ms >= 0)
);

ALTER TABLE scaling_events ADD COLUMN owner text;
ALTER TABLE scaling_events ADD COLUMN retry_of uuid REFERENCES scaling_events (id);
-- A failed event is retried at most once at a time.
CREATE UNIQUE INDEX scaling_events_one_retry ON scaling_events (retry_of) WHERE retry_of IS NOT NULL AND status <> 'failed';
ALTER TABLE scaling_events DROP CONSTRAINT scaling_events_initiated_by_check;
ALTER TABLE scaling_events ADD CONSTRAINT scaling_events_initiated_by_check CHECK (initiated_by IN
    ('autoscaler', 'manual', 'rollback', 'retry', 'phase_transition', 'recommendation', 'scheduled'));

ALTER TABLE load_tests ADD COLUMN owner text;

-- no_state: the actuator could not be read, so nothing was decided.
ALTER TABLE scaling_decisions DROP CONSTRAINT scaling_decisions_outcome_check;
ALTER TABLE scaling_decisions ADD CONSTRAINT scaling_decisions_outcome_check CHECK (outcome IN
    ('scale', 'no_data', 'no_state', 'cooldown', 'stabilizing', 'within_tolerance', 'at_bound', 'rate_limited', 'in_progress',
     'cost_ceiling', 'dry_run', 'forecast_only', 'error'));
