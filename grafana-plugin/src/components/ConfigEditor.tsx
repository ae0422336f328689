import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps, SelectableValue } from '@grafana/data';
import { FieldSet, InlineField, Input, SecretInput, Select } from '@grafana/ui';

import { WedSyncOptions, WedSyncSecureData } from '../types';

type Props = DataSourcePluginOptionsEditorProps<WedSyncOptions, WedSyncSecureData>;

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'].map((m) => ({
  label: m,
  value: m,
}));

const W = 40;
const LW = 22;

/**
 * The datasource's settings: the control plane's PostgreSQL (password as a
 * secure field) and its admin API (token as a secure field). Secrets never
 * go into jsonData: the backend reads them only from the decrypted secure
 * fields.
 */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields } = options;
  const secure = options.secureJsonData ?? {};

  const setJSON = <K extends keyof WedSyncOptions>(key: K, value: WedSyncOptions[K]) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, [key]: value } });
  const text = (key: 'host' | 'database' | 'user' | 'apiUrl') => (e: ChangeEvent<HTMLInputElement>) =>
    setJSON(key, e.currentTarget.value);
  const num = (key: 'port' | 'queryTimeoutSeconds' | 'streamIntervalSeconds') => (e: ChangeEvent<HTMLInputElement>) => {
    const v = e.currentTarget.value;
    setJSON(key, v === '' ? undefined : Number(v));
  };
  const setSecret = (key: keyof WedSyncSecureData) => (e: ChangeEvent<HTMLInputElement>) =>
    onOptionsChange({ ...options, secureJsonData: { ...secure, [key]: e.currentTarget.value } });
  const resetSecret = (key: keyof WedSyncSecureData) => () =>
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, [key]: false },
      secureJsonData: { ...secure, [key]: '' },
    });

  return (
    <>
      <FieldSet label="Database (PostgreSQL of the control plane)">
        <InlineField label="Host" labelWidth={LW} required>
          <Input
            id="config-host"
            value={jsonData.host ?? ''}
            onChange={text('host')}
            placeholder="postgres"
            width={W}
          />
        </InlineField>
        <InlineField label="Port" labelWidth={LW}>
          <Input
            id="config-port"
            type="number"
            value={jsonData.port ?? ''}
            onChange={num('port')}
            placeholder="5432"
            width={W}
          />
        </InlineField>
        <InlineField label="Database" labelWidth={LW} required>
          <Input
            id="config-database"
            value={jsonData.database ?? ''}
            onChange={text('database')}
            placeholder="wedsync"
            width={W}
          />
        </InlineField>
        <InlineField label="User" labelWidth={LW} required>
          <Input
            id="config-user"
            value={jsonData.user ?? ''}
            onChange={text('user')}
            placeholder="grafana_reader"
            width={W}
          />
        </InlineField>
        <InlineField label="Password" labelWidth={LW}>
          <SecretInput
            id="config-password"
            isConfigured={!!secureJsonFields?.password}
            value={secure.password ?? ''}
            onChange={setSecret('password')}
            onReset={resetSecret('password')}
            width={W}
          />
        </InlineField>
        <InlineField label="TLS mode" labelWidth={LW}>
          <Select
            inputId="config-sslmode"
            options={SSL_MODES}
            value={jsonData.sslMode ?? 'disable'}
            onChange={(v: SelectableValue<string>) => setJSON('sslMode', v.value)}
            width={W}
          />
        </InlineField>
        <InlineField label="Query timeout (s)" labelWidth={LW}>
          <Input
            id="config-timeout"
            type="number"
            value={jsonData.queryTimeoutSeconds ?? ''}
            onChange={num('queryTimeoutSeconds')}
            placeholder="30"
            width={W}
          />
        </InlineField>
      </FieldSet>
      <FieldSet label="Control-plane API (wedsync-autoscaler)">
        <InlineField
          label="URL"
          labelWidth={LW}
          required
          tooltip="Actions (approve, implement, retry, rollback, load tests) and the health score go through it"
        >
          <Input
            id="config-api-url"
            value={jsonData.apiUrl ?? ''}
            onChange={text('apiUrl')}
            placeholder="http://wedsync-autoscaler:9681"
            width={W}
          />
        </InlineField>
        <InlineField
          label="API token"
          labelWidth={LW}
          required
          tooltip="An operator token: wedsync-autoscaler token create --role operator"
        >
          <SecretInput
            id="config-api-token"
            isConfigured={!!secureJsonFields?.apiToken}
            value={secure.apiToken ?? ''}
            onChange={setSecret('apiToken')}
            onReset={resetSecret('apiToken')}
            width={W}
          />
        </InlineField>
        <InlineField label="Live update period (s)" labelWidth={LW} tooltip="1 to 5 seconds">
          <Input
            id="config-stream-interval"
            type="number"
            min={1}
            max={5}
            value={jsonData.streamIntervalSeconds ?? ''}
            onChange={num('streamIntervalSeconds')}
            placeholder="2"
            width={W}
          />
        </InlineField>
      </FieldSet>
    </>
  );
}
