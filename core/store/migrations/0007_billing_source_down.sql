-- Cost alerts for a billing source that keeps failing (BillingSourceDown).
ALTER TABLE cost_alerts DROP CONSTRAINT cost_alerts_alert_type_check;
ALTER TABLE cost_alerts ADD CONSTRAINT cost_alerts_alert_type_check CHECK (alert_type IN
    ('budget_threshold', 'cost_spike', 'usage_spike', 'projected_overrun', 'capacity_exhaustion', 'users_beyond_phase',
     'slo_over_budget', 'billing_source_down'));
