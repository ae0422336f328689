import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/** Query types served by the backend (pkg/models/query.go). */
export const QueryTypes = {
  ScalingEvents: 'scaling_events',
  ScalingAnnotations: 'scaling_annotations',
  ScalingEventSummary: 'scaling_event_summary',
  GrowthPhases: 'growth_phases',
  GrowthProgress: 'growth_progress',
  CostCurrent: 'cost_current',
  CostTrend: 'cost_trend',
  CostBreakdown: 'cost_breakdown',
  CostProjection: 'cost_projection',
  Budgets: 'budgets',
  CostAlerts: 'cost_alerts',
  Recommendations: 'recommendations',
  LoadTests: 'load_tests',
  LoadTestResults: 'load_test_results',
  Benchmarks: 'benchmarks',
  CapacityForecast: 'capacity_forecast',
  CapacityExhaustion: 'capacity_exhaustion',
  Health: 'health',
} as const;

export type QueryType = (typeof QueryTypes)[keyof typeof QueryTypes];

/** One query: its type and the filters of that type; absent means "all". */
export interface WedSyncQuery extends DataQuery {
  queryType?: QueryType;
  service?: string;
  status?: string;
  eventType?: string;
  groupBy?: string;
  interval?: string;
  team?: string;
  feature?: string;
  currency?: string;
  alertType?: string;
  recommendationType?: string;
  testType?: string;
  name?: string;
  loadTestId?: string;
  resource?: string;
  horizonDays?: number;
  limit?: number;
  allTime?: boolean;
  includeInactive?: boolean;
}

export const DEFAULT_QUERY: Partial<WedSyncQuery> = {
  queryType: QueryTypes.ScalingEvents,
};

/** Settings stored in jsonData (pkg/models/settings.go). */
export interface WedSyncOptions extends DataSourceJsonData {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  sslMode?: string;
  apiUrl?: string;
  queryTimeoutSeconds?: number;
  streamIntervalSeconds?: number;
}

/** Secure fields: only the backend ever reads them. */
export interface WedSyncSecureData {
  password?: string;
  apiToken?: string;
}

export type Field =
  | 'service'
  | 'status'
  | 'eventType'
  | 'groupBy'
  | 'interval'
  | 'team'
  | 'feature'
  | 'currency'
  | 'alertType'
  | 'recommendationType'
  | 'testType'
  | 'name'
  | 'loadTestId'
  | 'resource'
  | 'horizonDays'
  | 'limit'
  | 'allTime'
  | 'includeInactive';

const cost: Field[] = ['service', 'team', 'feature', 'currency'];

/** The filters each query type takes, in the order the editor shows them. */
export const FIELDS: Record<QueryType, Field[]> = {
  scaling_events: ['service', 'status', 'eventType', 'limit', 'allTime'],
  scaling_annotations: ['service', 'status', 'eventType', 'limit'],
  scaling_event_summary: ['service', 'groupBy'],
  growth_phases: [],
  growth_progress: [],
  cost_current: cost,
  cost_trend: [...cost, 'groupBy'],
  cost_breakdown: [...cost, 'groupBy', 'interval'],
  cost_projection: [...cost, 'horizonDays'],
  budgets: ['includeInactive'],
  cost_alerts: ['service', 'status', 'alertType', 'limit', 'allTime'],
  recommendations: ['service', 'status', 'recommendationType', 'limit', 'allTime'],
  load_tests: ['name', 'status', 'testType', 'limit', 'allTime'],
  load_test_results: ['loadTestId', 'name'],
  benchmarks: ['name', 'limit', 'allTime'],
  capacity_forecast: ['resource', 'service', 'horizonDays'],
  capacity_exhaustion: ['resource', 'service'],
  health: [],
};

/** Allowed values of the enumerated filters, per query type where they differ. */
export function choices(queryType: QueryType, field: Field): string[] | undefined {
  switch (field) {
    case 'status':
      switch (queryType) {
        case 'cost_alerts':
          return ['firing', 'resolved'];
        case 'recommendations':
          return ['pending', 'approved', 'implemented', 'rejected', 'expired'];
        case 'load_tests':
          return ['pending', 'running', 'completed', 'failed', 'cancelled'];
        default:
          return ['in_progress', 'completed', 'failed', 'rolled_back'];
      }
    case 'eventType':
      return ['scale_up', 'scale_down', 'migration', 'optimization'];
    case 'groupBy':
      switch (queryType) {
        case 'scaling_event_summary':
          return ['event_type', 'status', 'service'];
        case 'cost_breakdown':
          return ['service', 'team', 'feature', 'resource', 'source'];
        default:
          return ['service', 'team', 'feature'];
      }
    case 'interval':
      return ['total', 'day', 'month'];
    case 'alertType':
      return [
        'budget_threshold',
        'cost_spike',
        'usage_spike',
        'projected_overrun',
        'capacity_exhaustion',
        'users_beyond_phase',
        'slo_over_budget',
      ];
    case 'recommendationType':
      return ['rightsizing', 'idle_resource', 'caching', 'queue_workers', 'database_tier', 'reserved_capacity'];
    case 'testType':
      return ['baseline', 'stress', 'spike', 'volume', 'endurance', 'custom'];
    case 'resource':
      return [
        'database_connections',
        'database_storage',
        'storage',
        'bandwidth',
        'compute',
        'memory',
        'replicas',
        'api_requests',
        'users',
      ];
  }
  return undefined;
}

export const LABELS: Record<QueryType, string> = {
  scaling_events: 'Scaling events',
  scaling_annotations: 'Scaling events (annotations)',
  scaling_event_summary: 'Scaling events per interval',
  growth_phases: 'Growth phases',
  growth_progress: 'Growth progress',
  cost_current: 'Cost: this month',
  cost_trend: 'Cost: daily trend',
  cost_breakdown: 'Cost: breakdown',
  cost_projection: 'Cost: projection',
  budgets: 'Budgets',
  cost_alerts: 'Cost alerts',
  recommendations: 'Recommendations',
  load_tests: 'Load tests',
  load_test_results: 'Load test results',
  benchmarks: 'Benchmarks',
  capacity_forecast: 'Capacity: forecast',
  capacity_exhaustion: 'Capacity: exhaustion dates',
  health: 'Health summary (live)',
};
