import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { DataSourceSettings } from '@grafana/data';

import { ConfigEditor } from './ConfigEditor';
import { WedSyncOptions, WedSyncSecureData } from '../types';

function settings(over: Partial<DataSourceSettings<WedSyncOptions, WedSyncSecureData>> = {}) {
  return {
    id: 1,
    uid: 'wedsync-scaling',
    orgId: 1,
    name: 'WedSync Scaling',
    type: 'wedsync-scaling-datasource',
    typeName: 'WedSync Scaling',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    readOnly: false,
    jsonData: { host: 'postgres', database: 'wedsync', user: 'grafana' },
    secureJsonFields: {},
    secureJsonData: {},
    ...over,
  } as DataSourceSettings<WedSyncOptions, WedSyncSecureData>;
}

describe('ConfigEditor', () => {
  it('shows the database and API settings', () => {
    render(<ConfigEditor options={settings()} onOptionsChange={jest.fn()} />);
    expect(screen.getByDisplayValue('postgres')).toBeInTheDocument();
    expect(screen.getByDisplayValue('wedsync')).toBeInTheDocument();
    expect(screen.getByText('Database (PostgreSQL of the control plane)')).toBeInTheDocument();
    expect(screen.getByText('Control-plane API (wedsync-autoscaler)')).toBeInTheDocument();
  });

  it('writes plain settings to jsonData', () => {
    const onChange = jest.fn();
    render(<ConfigEditor options={settings()} onOptionsChange={onChange} />);
    fireEvent.change(document.getElementById('config-api-url')!, {
      target: { value: 'http://wedsync-autoscaler:9681' },
    });
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({
        jsonData: expect.objectContaining({ apiUrl: 'http://wedsync-autoscaler:9681', host: 'postgres' }),
      })
    );
    fireEvent.change(document.getElementById('config-port')!, { target: { value: '6432' } });
    expect(onChange.mock.calls.at(-1)[0].jsonData.port).toBe(6432);
  });

  it('keeps the token and the password in secure fields only', () => {
    const onChange = jest.fn();
    render(<ConfigEditor options={settings()} onOptionsChange={onChange} />);
    fireEvent.change(document.getElementById('config-api-token')!, { target: { value: 's3cret-token' } });
    const saved = onChange.mock.calls.at(-1)[0];
    expect(saved.secureJsonData).toEqual({ apiToken: 's3cret-token' });
    expect(JSON.stringify(saved.jsonData)).not.toContain('s3cret-token');
    fireEvent.change(document.getElementById('config-password')!, { target: { value: 'pw' } });
    expect(onChange.mock.calls.at(-1)[0].secureJsonData).toEqual({ password: 'pw' });
  });

  it('resets a configured token', () => {
    const onChange = jest.fn();
    render(<ConfigEditor options={settings({ secureJsonFields: { apiToken: true } })} onOptionsChange={onChange} />);
    const resets = screen.getAllByRole('button', { name: /reset/i });
    fireEvent.click(resets[resets.length - 1]);
    const saved = onChange.mock.calls.at(-1)[0];
    expect(saved.secureJsonFields.apiToken).toBe(false);
    expect(saved.secureJsonData.apiToken).toBe('');
  });
});
