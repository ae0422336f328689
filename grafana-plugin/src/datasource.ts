import { CoreApp, DataSourceInstanceSettings, ScopedVars } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { DEFAULT_QUERY, QueryTypes, WedSyncOptions, WedSyncQuery } from './types';

const TEXT_FIELDS = ['service', 'team', 'feature', 'name', 'loadTestId', 'currency'] as const;

export class DataSource extends DataSourceWithBackend<WedSyncQuery, WedSyncOptions> {
  constructor(instanceSettings: DataSourceInstanceSettings<WedSyncOptions>) {
    super(instanceSettings);
    // Standard annotation support: the annotation editor is the query
    // editor, and scaling events come back as time/timeEnd/title/text/tags.
    this.annotations = {
      getDefaultQuery: () => ({ queryType: QueryTypes.ScalingAnnotations, limit: 500 }),
    };
  }

  getDefaultQuery(_: CoreApp): Partial<WedSyncQuery> {
    return DEFAULT_QUERY;
  }

  applyTemplateVariables(query: WedSyncQuery, scopedVars: ScopedVars): WedSyncQuery {
    const out: WedSyncQuery = { ...query };
    const srv = getTemplateSrv();
    for (const f of TEXT_FIELDS) {
      const v = query[f];
      if (typeof v === 'string' && v !== '') {
        out[f] = srv.replace(v, scopedVars);
      }
    }
    return out;
  }

  filterQuery(query: WedSyncQuery): boolean {
    return !query.hide && !!query.queryType;
  }
}
