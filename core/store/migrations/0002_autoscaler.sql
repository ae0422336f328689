-- What the webhook receiver and the decision loop need to be idempotent and
-- auditable. Not in WS-257: the spec assumes exactly-once delivery, which
-- Alertmanager does not give.

-- Every notification as received, once. A re-delivery (retry, HA peer) hits
-- the primary key and only bumps the counters.
CREATE TABLE webhook_notifications (
    dedup_key         text PRIMARY KEY,
    receiver          text NOT NULL,
    group_key         text NOT NULL,
    status            text NOT NULL CHECK (status IN ('firing', 'resolved')),
    alert_count       integer NOT NULL CHECK (alert_count >= 0),
    payload           jsonb NOT NULL,
    deliveries        integer NOT NULL DEFAULT 1,
    first_received_at timestamptz NOT NULL DEFAULT now(),
    last_received_at  timestamptz NOT NULL DEFAULT now()
);

-- The current state of every alert instance that can drive an action.
CREATE TABLE scaling_alerts (
    fingerprint    text NOT NULL,
    starts_at      timestamptz NOT NULL,
    alertname      text NOT NULL,
    service_name   text NOT NULL,
    scaling_action text NOT NULL CHECK (scaling_action IN ('scale_up', 'scale_down', 'migration', 'optimization')),
    reason         text NOT NULL,
    status         text NOT NULL CHECK (status IN ('firing', 'resolved')),
    labels         jsonb NOT NULL,
    annotations    jsonb NOT NULL,
    ends_at        timestamptz,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (fingerprint, starts_at)
);
CREATE INDEX scaling_alerts_firing ON scaling_alerts (service_name) WHERE status = 'firing';

-- Every decision taken while an alert asked for action, including the ones
-- that held (no data, cooldown, …): the "why" of the audit trail.
CREATE TABLE scaling_decisions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_name  text NOT NULL,
    decided_at    timestamptz NOT NULL DEFAULT now(),
    outcome       text NOT NULL CHECK (outcome IN
                  ('scale', 'no_data', 'cooldown', 'stabilizing', 'within_tolerance', 'at_bound', 'in_progress', 'dry_run', 'error')),
    scaling_action text NOT NULL,
    current_state jsonb NOT NULL DEFAULT '{}',
    desired_state jsonb NOT NULL DEFAULT '{}',
    inputs        jsonb NOT NULL DEFAULT '{}',
    reason        text NOT NULL DEFAULT '',
    event_id      uuid REFERENCES scaling_events (id)
);
CREATE INDEX scaling_decisions_service_time ON scaling_decisions (service_name, decided_at DESC);

-- Idempotency keys of acting API calls (admin API).
CREATE TABLE idempotency_keys (
    scope           text NOT NULL,
    key             text NOT NULL,
    request_hash    text NOT NULL,
    response_status integer NOT NULL,
    response_body   jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
