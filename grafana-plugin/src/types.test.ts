import { FIELDS, LABELS, QueryTypes, choices } from './types';
import pluginJson from './plugin.json';

describe('query types', () => {
  it('every query type has a label and a field list', () => {
    for (const t of Object.values(QueryTypes)) {
      expect(LABELS[t]).toBeTruthy();
      expect(FIELDS[t]).toBeDefined();
    }
    expect(Object.keys(LABELS).sort()).toEqual(Object.values(QueryTypes).sort());
  });

  it('groups by what the backend accepts for each type', () => {
    expect(choices('cost_breakdown', 'groupBy')).toContain('source');
    expect(choices('cost_trend', 'groupBy')).not.toContain('source');
    expect(choices('scaling_event_summary', 'groupBy')).toEqual(['event_type', 'status', 'service']);
  });
});

describe('plugin.json', () => {
  it('names the backend executable the build produces', () => {
    expect(pluginJson.id).toBe('wedsync-scaling-datasource');
    expect(pluginJson.executable).toBe('gpx_wedsync_scaling');
    expect(pluginJson.backend).toBe(true);
    expect(pluginJson.streaming).toBe(true);
  });
});
