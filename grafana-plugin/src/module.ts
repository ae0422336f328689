import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import { WedSyncOptions, WedSyncQuery } from './types';

export const plugin = new DataSourcePlugin<DataSource, WedSyncQuery, WedSyncOptions>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
