-- The admin API's own facts: who may call it, what they did, and the
-- capacity plans they stored.

-- Bearer tokens. Only a SHA-256 of each token is kept: tokens are 160-bit
-- random strings, so a fast hash is as safe as a slow one here and keeps
-- every request's lookup to one index probe.
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._@-]{1,100}$'),
    role         text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    token_hash   text NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- Every mutating call, with who made it and how it ended.
CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,
    role            text NOT NULL,
    method          text NOT NULL,
    path            text NOT NULL,
    status          integer NOT NULL,
    resource_id     text,
    idempotency_key text,
    request         jsonb,
    error           text
);
CREATE INDEX audit_log_time ON audit_log (at DESC);

-- Stored capacity plans (POST /api/admin/capacity/plan).
CREATE TABLE capacity_plans (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    horizon     text NOT NULL,
    plan        jsonb NOT NULL CHECK (jsonb_typeof(plan) = 'object'),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Idempotency keys wait for their response: status 0 marks a request still
-- running, so a concurrent retry with the same key is told so instead of
-- running twice.
ALTER TABLE idempotency_keys ALTER COLUMN response_body DROP NOT NULL;

-- Keyset pagination of the event list walks (started_at, id) newest first.
DROP INDEX scaling_events_time;
CREATE INDEX scaling_events_time ON scaling_events (started_at DESC, id DESC);
