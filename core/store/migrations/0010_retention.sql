-- Retention: the pruning job (store.PruneBatch) deletes the oldest rows of
-- a table in small batches; these indexes let each batch find them without
-- a scan (audit_log_time already serves audit_log). Built inside the
-- migration's transaction, so they lock their table against writes while
-- they build: seconds on the tables as they are today.
CREATE INDEX webhook_notifications_last_received ON webhook_notifications (last_received_at);
CREATE INDEX scaling_alerts_last_seen ON scaling_alerts (last_seen_at);
CREATE INDEX scaling_decisions_time ON scaling_decisions (decided_at);
