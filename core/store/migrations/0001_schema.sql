-- WS-257 schema. The spec writes INDEX clauses inside CREATE TABLE, which
-- PostgreSQL rejects; they are CREATE INDEX statements here. Its CHECK
-- constraints and generated columns are kept. Money is numeric, never float.

CREATE TABLE performance_metrics (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    metric_name  text NOT NULL CHECK (metric_name ~ '^[a-zA-Z_:][a-zA-Z0-9_:]*$'),
    metric_value double precision NOT NULL CHECK (metric_value <> 'NaN'::double precision), -- PostgreSQL's NaN equals itself
    metric_unit  text NOT NULL DEFAULT '',
    service_name text NOT NULL CHECK (service_name <> ''),
    labels       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX performance_metrics_service_metric_time ON performance_metrics (service_name, metric_name, recorded_at DESC);
CREATE INDEX performance_metrics_time ON performance_metrics (recorded_at DESC);

CREATE TABLE scaling_events (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_type          text NOT NULL CHECK (event_type IN ('scale_up', 'scale_down', 'migration', 'optimization')),
    service_name        text NOT NULL CHECK (service_name <> ''),
    trigger_reason      text NOT NULL,
    trigger_metrics     jsonb NOT NULL DEFAULT '{}',
    before_config       jsonb NOT NULL,
    after_config        jsonb NOT NULL,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'in_progress', 'completed', 'failed', 'rolled_back')),
    initiated_by        text NOT NULL CHECK (initiated_by IN ('autoscaler', 'manual', 'rollback', 'phase_transition', 'recommendation')),
    initiated_user_id   text,
    cost_impact_monthly numeric(14, 2),
    error_message       text,
    rollback_of         uuid REFERENCES scaling_events (id),
    rolled_back_by      uuid REFERENCES scaling_events (id),
    started_at          timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz,
    rolled_back_at      timestamptz,
    duration_ms         bigint GENERATED ALWAYS AS ((extract(epoch FROM (completed_at - started_at)) * 1000)::bigint) STORED,
    CHECK (status IN ('pending', 'in_progress') OR completed_at IS NOT NULL),
    CHECK (status <> 'failed' OR error_message IS NOT NULL),
    CHECK ((status = 'rolled_back') = (rolled_back_by IS NOT NULL))
);
-- At most one unfinished action per service: two replicas of the autoscaler,
-- or two deliveries of one notification, cannot both act.
CREATE UNIQUE INDEX scaling_events_one_unfinished ON scaling_events (service_name) WHERE status IN ('pending', 'in_progress');
-- An event is rolled back at most once.
CREATE UNIQUE INDEX scaling_events_one_rollback ON scaling_events (rollback_of) WHERE rollback_of IS NOT NULL AND status <> 'failed';
CREATE INDEX scaling_events_time ON scaling_events (started_at DESC, id);
CREATE INDEX scaling_events_service_time ON scaling_events (service_name, started_at DESC);

CREATE TABLE growth_phases (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    phase_name              text NOT NULL UNIQUE CHECK (phase_name ~ '^[a-z][a-z0-9_]*$'),
    phase_order             integer NOT NULL UNIQUE CHECK (phase_order >= 0),
    min_users               integer NOT NULL CHECK (min_users >= 0),
    max_users               integer CHECK (max_users IS NULL OR max_users > min_users),
    is_active               boolean NOT NULL DEFAULT false,
    auto_transition_enabled boolean NOT NULL DEFAULT true,
    scaling_config          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(scaling_config) = 'object'),
    performance_targets     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(performance_targets) = 'object'),
    description             text NOT NULL DEFAULT '',
    activated_at            timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX growth_phases_one_active ON growth_phases ((true)) WHERE is_active;

INSERT INTO growth_phases (phase_name, phase_order, min_users, max_users, is_active, activated_at, description, scaling_config, performance_targets) VALUES
 ('startup', 0, 0, 1000, true, now(), 'Lowest cost, single database instance',
  '{"services": {"api": {"min_replicas": 1, "max_replicas": 3}}, "database": {"compute_tier": "ci_micro", "read_replicas": 0}, "workers": {"queue": 1}}',
  '{"api_p95_ms": 2000, "api_p99_ms": 5000, "error_rate": 0.01}'),
 ('growth', 1, 1000, 10000, false, NULL, 'Autoscaled API fleet, larger database compute',
  '{"services": {"api": {"min_replicas": 2, "max_replicas": 10}}, "database": {"compute_tier": "ci_medium", "read_replicas": 0}, "workers": {"queue": 2}}',
  '{"api_p95_ms": 2000, "api_p99_ms": 5000, "error_rate": 0.01}'),
 ('scale', 2, 10000, 100000, false, NULL, 'Read replicas, caching, queue workers',
  '{"services": {"api": {"min_replicas": 4, "max_replicas": 40}}, "database": {"compute_tier": "ci_xlarge", "read_replicas": 2}, "workers": {"queue": 6}}',
  '{"api_p95_ms": 2000, "api_p99_ms": 5000, "error_rate": 0.005}'),
 ('enterprise', 3, 100000, NULL, false, NULL, 'Multi-region, dedicated capacity',
  '{"services": {"api": {"min_replicas": 10, "max_replicas": 200}}, "database": {"compute_tier": "ci_4xlarge", "read_replicas": 4}, "workers": {"queue": 20}}',
  '{"api_p95_ms": 2000, "api_p99_ms": 5000, "error_rate": 0.001}');

CREATE TABLE capacity_metrics (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    resource_type           text NOT NULL CHECK (resource_type IN
                            ('database_connections', 'database_storage', 'storage', 'bandwidth', 'compute', 'memory', 'replicas', 'api_requests', 'users')),
    service_name            text NOT NULL CHECK (service_name <> ''),
    current_usage           numeric NOT NULL CHECK (current_usage >= 0),
    max_capacity            numeric NOT NULL CHECK (max_capacity > 0),
    unit                    text NOT NULL DEFAULT '',
    utilization_percent     numeric(7, 2) GENERATED ALWAYS AS (round(current_usage / max_capacity * 100, 2)) STORED,
    projected_exhaustion_at timestamptz,
    recorded_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX capacity_metrics_resource_time ON capacity_metrics (resource_type, service_name, recorded_at DESC);

CREATE TABLE cost_tracking (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    cost_date       date NOT NULL,
    source          text NOT NULL CHECK (source <> ''),
    service_name    text NOT NULL CHECK (service_name <> ''),
    resource_type   text NOT NULL DEFAULT '',
    resource_id     text NOT NULL DEFAULT '',
    charge_category text NOT NULL DEFAULT 'Usage' CHECK (charge_category IN ('Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment')),
    team            text NOT NULL DEFAULT 'unattributed',
    feature         text NOT NULL DEFAULT 'unattributed',
    cost_amount     numeric(18, 6) NOT NULL,
    currency        char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    usage_quantity  numeric(24, 6),
    usage_unit      text,
    tags            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(tags) = 'object'),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (charge_category = 'Credit' OR cost_amount >= 0 OR charge_category = 'Adjustment'),
    -- One row per day and cost line: re-running a day replaces, never duplicates.
    UNIQUE (cost_date, source, service_name, resource_type, resource_id, charge_category, team, feature)
);
CREATE INDEX cost_tracking_date ON cost_tracking (cost_date DESC);
CREATE INDEX cost_tracking_service_date ON cost_tracking (service_name, cost_date DESC);

CREATE TABLE cost_budgets (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    budget_name         text NOT NULL UNIQUE CHECK (budget_name <> ''),
    service_name        text,
    team                text,
    feature             text,
    period              text NOT NULL DEFAULT 'monthly' CHECK (period IN ('monthly', 'quarterly', 'yearly')),
    budget_limit        numeric(14, 2) NOT NULL CHECK (budget_limit > 0),
    current_spend       numeric(14, 2) NOT NULL DEFAULT 0,
    currency            char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    alert_thresholds    integer[] NOT NULL DEFAULT '{50,75,90,100}'
                        CHECK (cardinality(alert_thresholds) > 0 AND 0 < ALL (alert_thresholds) AND 1000 >= ALL (alert_thresholds)),
    utilization_percent numeric(9, 2) GENERATED ALWAYS AS (round(current_spend / budget_limit * 100, 2)) STORED,
    is_active           boolean NOT NULL DEFAULT true,
    created_by          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cost_alerts (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    budget_id         uuid REFERENCES cost_budgets (id) ON DELETE SET NULL,
    alert_type        text NOT NULL CHECK (alert_type IN
                      ('budget_threshold', 'cost_spike', 'usage_spike', 'projected_overrun', 'capacity_exhaustion', 'users_beyond_phase', 'slo_over_budget')),
    severity          text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    service_name      text,
    threshold_percent numeric(7, 2),
    current_value     numeric(18, 6),
    message           text NOT NULL,
    status            text NOT NULL DEFAULT 'firing' CHECK (status IN ('firing', 'resolved')),
    fingerprint       text NOT NULL,
    starts_at         timestamptz NOT NULL,
    resolved_at       timestamptz,
    acknowledged_by   text,
    acknowledged_at   timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    -- Alertmanager delivers at least once: an alert instance is one row.
    UNIQUE (fingerprint, starts_at)
);
CREATE INDEX cost_alerts_time ON cost_alerts (starts_at DESC);

CREATE TABLE optimization_recommendations (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    recommendation_type      text NOT NULL CHECK (recommendation_type IN
                             ('rightsizing', 'idle_resource', 'caching', 'queue_workers', 'database_tier', 'reserved_capacity')),
    service_name             text NOT NULL CHECK (service_name <> ''),
    title                    text NOT NULL,
    description              text NOT NULL DEFAULT '',
    current_config           jsonb NOT NULL DEFAULT '{}',
    recommended_config       jsonb NOT NULL DEFAULT '{}',
    estimated_monthly_impact numeric(14, 2) NOT NULL,
    confidence               numeric(4, 3) NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    effort                   text NOT NULL CHECK (effort IN ('low', 'medium', 'high')),
    priority                 text NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    status                   text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'implemented', 'rejected', 'expired')),
    actual_impact            numeric(14, 2),
    scaling_event_id         uuid REFERENCES scaling_events (id),
    approved_by              text,
    approved_at              timestamptz,
    implemented_at           timestamptz,
    expires_at               timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'implemented' OR implemented_at IS NOT NULL)
);
CREATE UNIQUE INDEX optimization_recommendations_one_open ON optimization_recommendations (service_name, recommendation_type)
    WHERE status IN ('pending', 'approved');
CREATE INDEX optimization_recommendations_status ON optimization_recommendations (status, created_at DESC);

CREATE TABLE load_tests (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    test_name           text NOT NULL CHECK (test_name <> ''),
    test_type           text NOT NULL CHECK (test_type IN ('baseline', 'stress', 'spike', 'volume', 'endurance', 'custom')),
    status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    target_url          text NOT NULL,
    config              jsonb NOT NULL DEFAULT '{}',
    results             jsonb,
    baseline_comparison jsonb,
    passed_criteria     boolean,
    failure_reason      text,
    initiated_by        text,
    started_at          timestamptz,
    completed_at        timestamptz,
    duration_seconds    numeric GENERATED ALWAYS AS (extract(epoch FROM (completed_at - started_at))) STORED,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'failed' OR failure_reason IS NOT NULL)
);
CREATE INDEX load_tests_time ON load_tests (created_at DESC);

CREATE TABLE performance_benchmarks (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    load_test_id     uuid REFERENCES load_tests (id) ON DELETE CASCADE,
    benchmark_name   text NOT NULL CHECK (benchmark_name <> ''),
    test_type        text NOT NULL,
    p50_ms           double precision CHECK (p50_ms >= 0),
    p90_ms           double precision CHECK (p90_ms >= 0),
    p95_ms           double precision CHECK (p95_ms >= 0),
    p99_ms           double precision CHECK (p99_ms >= 0),
    max_ms           double precision CHECK (max_ms >= 0),
    throughput_rps   double precision CHECK (throughput_rps >= 0),
    error_rate       double precision CHECK (error_rate BETWEEN 0 AND 1),
    concurrent_users integer CHECK (concurrent_users >= 0),
    is_baseline      boolean NOT NULL DEFAULT false,
    recorded_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX performance_benchmarks_one_baseline ON performance_benchmarks (benchmark_name) WHERE is_baseline;
CREATE INDEX performance_benchmarks_name_time ON performance_benchmarks (benchmark_name, recorded_at DESC);
