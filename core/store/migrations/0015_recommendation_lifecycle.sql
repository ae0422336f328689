-- The recommendation lifecycle (issue 12, deliverable 5). The statuses stay
-- the spec's (pending, approved, implemented, rejected, expired): a dismiss
-- is a rejection with its reason, not a sixth status.
--
-- An unpriced service's saving is unknown, not $0.00.
ALTER TABLE optimization_recommendations ALTER COLUMN estimated_monthly_impact DROP NOT NULL;

-- Who rejected it and why (required: a rejection nobody can explain is
-- re-offered and re-argued), and the last failed attempt to implement it:
-- a failed or rate-limited action sends it back to approved with the error
-- kept here for the operator to read.
ALTER TABLE optimization_recommendations
    ADD COLUMN rejected_by   text CHECK (length(rejected_by) <= 200),
    ADD COLUMN rejected_at   timestamptz,
    ADD COLUMN reject_reason text CHECK (length(reject_reason) <= 500),
    ADD COLUMN last_error    text,
    ADD COLUMN last_error_at timestamptz;
UPDATE optimization_recommendations SET reject_reason = 'rejected before reasons were recorded', rejected_at = updated_at
    WHERE status = 'rejected';
ALTER TABLE optimization_recommendations ADD CONSTRAINT optimization_recommendations_rejected_reason
    CHECK (status <> 'rejected' OR (reject_reason IS NOT NULL AND reject_reason <> '' AND rejected_at IS NOT NULL));

-- A rightsizing that was implemented narrows the service's bounds until it
-- is reverted: the scaler applies it on every evaluation, inside the policy
-- file's hard bounds (an override the file no longer admits is dropped).
-- One per service: implementing another recommendation replaces it.
CREATE TABLE policy_overrides (
    service_name      text PRIMARY KEY CHECK (service_name <> ''),
    min_replicas      integer,
    max_replicas      integer,
    min_tier          text,
    max_tier          text,
    recommendation_id uuid REFERENCES optimization_recommendations (id),
    scaling_event_id  uuid REFERENCES scaling_events (id),
    created_by        text NOT NULL CHECK (created_by <> '' AND length(created_by) <= 200),
    created_at        timestamptz NOT NULL DEFAULT now(),
    -- Replicas or tiers, never both, never half.
    CHECK ((min_replicas IS NOT NULL AND max_replicas IS NOT NULL AND min_tier IS NULL AND max_tier IS NULL)
        OR (min_replicas IS NULL AND max_replicas IS NULL AND min_tier <> '' AND max_tier <> '')),
    CHECK (min_replicas IS NULL OR (min_replicas >= 1 AND min_replicas <= max_replicas))
);
