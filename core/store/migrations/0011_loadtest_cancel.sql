-- Load tests across replicas. A cancel sent to a replica that does not run
-- the test is recorded on the row; the owner's runner polls for it and
-- stops the run, which then records its partial results as cancelled. The
-- first request is kept: the same cancel handled twice is handled once.
ALTER TABLE load_tests ADD COLUMN cancel_requested_at timestamptz;
ALTER TABLE load_tests ADD COLUMN cancel_requested_by text CHECK (length(cancel_requested_by) <= 200);
-- The longest the run can last (nominal length plus graceful stops), known
-- when it starts: a test that names no owner and is still running well past
-- it has lost whatever ran it. NULL for rows written before this migration.
ALTER TABLE load_tests ADD COLUMN max_duration_ms bigint CHECK (max_duration_ms >= 0);
-- The rescuer and the cancel poll read the unfinished tests only.
CREATE INDEX load_tests_unfinished ON load_tests (owner) WHERE status IN ('pending', 'running');
