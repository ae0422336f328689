import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';

import { QueryEditor } from './QueryEditor';
import { DataSource } from '../datasource';
import { WedSyncQuery } from '../types';

const ds = {} as DataSource;

function editor(query: WedSyncQuery) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  render(<QueryEditor datasource={ds} query={query} onChange={onChange} onRunQuery={onRunQuery} />);
  return { onChange, onRunQuery };
}

async function choose(inputId: string, optionText: string) {
  const input = document.getElementById(inputId)!;
  fireEvent.keyDown(input, { key: 'ArrowDown' });
  fireEvent.click(await screen.findByText(optionText));
}

describe('QueryEditor', () => {
  it('shows the filters of the query type', () => {
    editor({ refId: 'A', queryType: 'scaling_events' });
    for (const label of ['Service', 'Status', 'Event type', 'Limit', 'Ignore time range']) {
      expect(screen.getByText(label)).toBeInTheDocument();
    }
    expect(screen.queryByText('Group by')).not.toBeInTheDocument();
  });

  it('shows the cost filters for a breakdown', () => {
    editor({ refId: 'A', queryType: 'cost_breakdown' });
    for (const label of ['Service', 'Team', 'Feature', 'Currency', 'Group by', 'Interval']) {
      expect(screen.getByText(label)).toBeInTheDocument();
    }
  });

  it('changes the query type and drops the old filters', async () => {
    const { onChange, onRunQuery } = editor({ refId: 'A', queryType: 'scaling_events', service: 'api', limit: 5 });
    await choose('query-type', 'Budgets');
    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'A',
      queryType: 'budgets',
      hide: undefined,
      datasource: undefined,
    });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('sets an enumerated filter from its choices', async () => {
    const { onChange, onRunQuery } = editor({ refId: 'A', queryType: 'cost_breakdown' });
    await choose('query-groupBy', 'team');
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ groupBy: 'team', queryType: 'cost_breakdown' })
    );
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('offers the statuses of the query type', async () => {
    editor({ refId: 'A', queryType: 'recommendations' });
    fireEvent.keyDown(document.getElementById('query-status')!, { key: 'ArrowDown' });
    expect(await screen.findByText('approved')).toBeInTheDocument();
    expect(screen.queryByText('rolled_back')).not.toBeInTheDocument();
  });

  it('runs text and number filters on blur, with numbers as numbers', () => {
    const { onChange, onRunQuery } = editor({ refId: 'A', queryType: 'scaling_events' });
    const limit = document.getElementById('query-limit')!;
    fireEvent.change(limit, { target: { value: '50' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ limit: 50 }));
    expect(onRunQuery).not.toHaveBeenCalled();
    fireEvent.blur(limit);
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    fireEvent.change(document.getElementById('query-service')!, { target: { value: 'api' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ service: 'api' }));
  });

  it('toggles ignoring the time range', () => {
    const { onChange } = editor({ refId: 'A', queryType: 'recommendations' });
    fireEvent.click(document.getElementById('query-allTime')!);
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ allTime: true }));
  });

  it('has no filters for the live health summary', () => {
    editor({ refId: 'A', queryType: 'health' });
    expect(screen.queryByText('Service')).not.toBeInTheDocument();
  });
});
