import React, { ChangeEvent } from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineSwitch, Input, Select, Stack } from '@grafana/ui';

import { DataSource } from '../datasource';
import { choices, Field, FIELDS, LABELS, QueryType, WedSyncOptions, WedSyncQuery } from '../types';

type Props = QueryEditorProps<DataSource, WedSyncQuery, WedSyncOptions>;

const TYPE_OPTIONS = (Object.keys(LABELS) as QueryType[]).map((t) => ({ label: LABELS[t], value: t }));

const FIELD_LABELS: Record<Field, string> = {
  service: 'Service',
  status: 'Status',
  eventType: 'Event type',
  groupBy: 'Group by',
  interval: 'Interval',
  team: 'Team',
  feature: 'Feature',
  currency: 'Currency',
  alertType: 'Alert type',
  recommendationType: 'Type',
  testType: 'Test type',
  name: 'Name',
  loadTestId: 'Load test id',
  resource: 'Resource',
  horizonDays: 'Horizon (days)',
  limit: 'Limit',
  allTime: 'Ignore time range',
  includeInactive: 'Include inactive',
};

/** Query type first, then the filters that type takes. */
export function QueryEditor({ query, onChange, onRunQuery }: Props) {
  const queryType = query.queryType;

  const set = (patch: Partial<WedSyncQuery>, run = true) => {
    onChange({ ...query, ...patch });
    if (run) {
      onRunQuery();
    }
  };

  const onType = (v: SelectableValue<QueryType>) => {
    // Filters of the previous type mean nothing to the new one.
    const keep: WedSyncQuery = {
      refId: query.refId,
      hide: query.hide,
      datasource: query.datasource,
      queryType: v.value,
    };
    onChange(keep);
    onRunQuery();
  };

  const field = (f: Field) => {
    const id = `query-${f}`;
    const label = FIELD_LABELS[f];
    if (f === 'allTime' || f === 'includeInactive') {
      return (
        <InlineField key={f} label={label}>
          <InlineSwitch
            id={id}
            value={!!query[f]}
            onChange={(e) => set({ [f]: e.currentTarget.checked || undefined })}
          />
        </InlineField>
      );
    }
    if (f === 'limit' || f === 'horizonDays') {
      return (
        <InlineField key={f} label={label}>
          <Input
            id={id}
            type="number"
            width={10}
            value={query[f] ?? ''}
            onChange={(e: ChangeEvent<HTMLInputElement>) =>
              set({ [f]: e.currentTarget.value === '' ? undefined : Number(e.currentTarget.value) }, false)
            }
            onBlur={() => onRunQuery()}
          />
        </InlineField>
      );
    }
    const values = queryType ? choices(queryType, f) : undefined;
    if (values) {
      return (
        <InlineField key={f} label={label}>
          <Select
            inputId={id}
            width={24}
            isClearable
            placeholder="all"
            options={values.map((v) => ({ label: v, value: v }))}
            value={(query[f] as string | undefined) ?? null}
            onChange={(v: SelectableValue<string> | null) => set({ [f]: v?.value || undefined })}
          />
        </InlineField>
      );
    }
    return (
      <InlineField key={f} label={label}>
        <Input
          id={id}
          width={20}
          placeholder="all"
          value={(query[f] as string | undefined) ?? ''}
          onChange={(e: ChangeEvent<HTMLInputElement>) => set({ [f]: e.currentTarget.value || undefined }, false)}
          onBlur={() => onRunQuery()}
        />
      </InlineField>
    );
  };

  return (
    <Stack direction="column" gap={1}>
      <InlineField label="Query type" labelWidth={14}>
        <Select inputId="query-type" width={36} options={TYPE_OPTIONS} value={queryType ?? null} onChange={onType} />
      </InlineField>
      {queryType && (
        <Stack wrap="wrap" gap={0}>
          {FIELDS[queryType].map(field)}
        </Stack>
      )}
    </Stack>
  );
}
