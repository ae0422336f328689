-- The cost webhook never loses an alert (issue 12). Alertmanager does not
-- retry a 4xx, so a value the row cannot hold must not refuse the
-- notification: every field we interpret is kept as received (*_text), the
-- number beside it only when it is stored exactly, and flags say why not.
-- The *_text columns are NULL on rows written before this migration.
--
-- Unconstrained numeric holds exactly every value the webhook accepts
-- (store.ParseReceivedNumber: at most 1000 significant digits, magnitude
-- within float64's, 1e-324 to 1e309): no value is rounded, none overflows.
ALTER TABLE cost_alerts
    ALTER COLUMN current_value TYPE numeric,
    ALTER COLUMN threshold_percent TYPE numeric,
    ADD COLUMN current_value_text text,
    ADD COLUMN threshold_percent_text text,
    ADD COLUMN alert_type_text text,
    ADD COLUMN severity_text text,
    ADD COLUMN flags text[] NOT NULL DEFAULT '{}';

-- An alert of a type or severity we do not know is stored as 'unknown'
-- with its label in alert_type_text / severity_text, rather than refusing
-- its neighbours. The lists are store.CostAlertTypes, store.Severities and
-- store.CostAlertFlags (a test holds them to these CHECKs).
ALTER TABLE cost_alerts DROP CONSTRAINT cost_alerts_alert_type_check;
ALTER TABLE cost_alerts ADD CONSTRAINT cost_alerts_alert_type_check CHECK (alert_type IN
    ('budget_threshold', 'cost_spike', 'usage_spike', 'projected_overrun', 'capacity_exhaustion', 'users_beyond_phase',
     'slo_over_budget', 'billing_source_down', 'unknown'));
ALTER TABLE cost_alerts DROP CONSTRAINT cost_alerts_severity_check;
ALTER TABLE cost_alerts ADD CONSTRAINT cost_alerts_severity_check CHECK (severity IN ('info', 'warning', 'critical', 'unknown'));
ALTER TABLE cost_alerts ADD CONSTRAINT cost_alerts_flags_check CHECK (flags <@ ARRAY
    ['current_value:not_a_number', 'current_value:not_finite', 'current_value:out_of_range', 'current_value:too_precise',
     'threshold_percent:not_a_number', 'threshold_percent:not_finite', 'threshold_percent:out_of_range', 'threshold_percent:too_precise',
     'alert_type:unknown', 'severity:unknown']::text[]);
-- A flag and what it flags agree: an unknown type is flagged, a flagged
-- number is NULL (never a rounded or clipped value).
ALTER TABLE cost_alerts ADD CONSTRAINT cost_alerts_unknown_type_flagged
    CHECK ((alert_type = 'unknown') = ('alert_type:unknown' = ANY (flags)));
ALTER TABLE cost_alerts ADD CONSTRAINT cost_alerts_unknown_severity_flagged
    CHECK ((severity = 'unknown') = ('severity:unknown' = ANY (flags)));
ALTER TABLE cost_alerts ADD CONSTRAINT cost_alerts_flagged_value_null
    CHECK (current_value IS NULL OR NOT flags && ARRAY
        ['current_value:not_a_number', 'current_value:not_finite', 'current_value:out_of_range', 'current_value:too_precise']);
ALTER TABLE cost_alerts ADD CONSTRAINT cost_alerts_flagged_threshold_null
    CHECK (threshold_percent IS NULL OR NOT flags && ARRAY
        ['threshold_percent:not_a_number', 'threshold_percent:not_finite', 'threshold_percent:out_of_range', 'threshold_percent:too_precise']);
CREATE INDEX cost_alerts_flagged ON cost_alerts (starts_at DESC) WHERE flags <> '{}';

-- Budgets: exact to the last digit. A limit has at most its currency's
-- minor-unit digits (ISO 4217: USD 2, JPY 0, KWD 3; checked by the admin
-- API), which numeric(14, 2) could not hold for a three-digit currency; the
-- spend is a sum of exact cost rows and is kept exact. The generated
-- utilization depends on both and is rebuilt; unconstrained, it can no
-- longer overflow (a spend far over a small limit made numeric(9, 2) fail
-- the whole RefreshBudgetSpend). Widening numeric loses no existing digit.
ALTER TABLE cost_budgets DROP COLUMN IF EXISTS utilization_percent;
ALTER TABLE cost_budgets
    ALTER COLUMN budget_limit TYPE numeric,
    ALTER COLUMN current_spend TYPE numeric;
ALTER TABLE cost_budgets ADD COLUMN utilization_percent numeric
    GENERATED ALWAYS AS (round(current_spend / budget_limit * 100, 2)) STORED;
