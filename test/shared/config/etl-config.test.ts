import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_ETL_CONFIG, loadEtlConfig } from '../../../shared/config/etl-config';
import { ConfigError } from '../../../shared/errors';

const folder = mkdtempSync(path.join(tmpdir(), 'kpis-config-'));
function configFile(content: unknown): string {
  const file = path.join(folder, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('loadEtlConfig', () => {
  test('the shipped config: job daily_kpis, the three built-in tables from gamepltx.fact into daily_kpis', () => {
    const job = loadEtlConfig(DEFAULT_ETL_CONFIG);
    expect(job.jobName).toBe('daily_kpis');
    const builtins = job.tables.filter((table) => ['installs', 'last_activity', 'daily_user_panel'].includes(table.name));
    expect(builtins.map((table) => table.name)).toEqual(['daily_user_panel', 'installs', 'last_activity']);
    for (const table of builtins) expect(table).toMatchObject({ dataset_src: 'gamepltx', table_src: 'fact', dataset_dst: 'daily_kpis', isEnable: true });
  });

  test('a built-in entry takes its SQL, strategy and schema from sql/etl/builtin.json, and defaults for fields left out', () => {
    const job = loadEtlConfig(configFile({ daily_kpis: { kpis: { installs: {}, daily_user_panel: {} } } }));
    expect(job.tables[0]).toMatchObject({
      name: 'installs',
      dataset_src: 'gamepltx',
      table_src: 'fact',
      dataset_dst: 'daily_kpis',
      description: 'One row per user: the first day the user was seen in any processed day.',
      isEnable: true,
      sqlLabel: 'etl/installs.sql',
      strategy: 'keep_earliest',
      key: ['user_id'],
      date_column: 'install_date',
      partition_column: 'install_date',
      reads: ['daily_user_panel'],
    });
    expect(job.tables[0]?.columns.map((column) => `${column.name} ${column.type}`)).toEqual(['user_id STRING', 'install_date DATE']);
  });

  test.each([
    ['a wrong type', { daily_kpis: { kpis: { installs: { isEnable: 'yes' } } } }, '$.daily_kpis.kpis.installs.isEnable: must be a boolean'],
    ['a bad identifier', { daily_kpis: { kpis: { installs: { dataset_dst: 'my-dataset' } } } }, '$.daily_kpis.kpis.installs.dataset_dst: must be letters, digits and underscores'],
    ['an entry that is neither built in nor names its SQL', { daily_kpis: { kpis: { dau: {} } } }, '$.kpis.dau.sql: is required: dau is not a built-in table (daily_user_panel, installs, last_activity)'],
    ['a group without kpis', { daily_kpis: {} }, '$.daily_kpis.kpis: is required'],
    ['two groups', { a: { kpis: { installs: {} } }, b: { kpis: { installs: {} } } }, 'must hold exactly one job group'],
  ])('names the file and the JSON path for %s', (_name, content, message) => {
    const file = configFile(content);
    expect(() => loadEtlConfig(file)).toThrow(ConfigError);
    expect(() => loadEtlConfig(file)).toThrow(`${file}: invalid config`);
    expect(() => loadEtlConfig(file)).toThrow(message);
  });

  test('bad JSON and a missing file name the file', () => {
    const broken = configFile('{"daily_kpis": ');
    expect(() => loadEtlConfig(broken)).toThrow(`${broken}: not valid JSON`);
    expect(() => loadEtlConfig(path.join(folder, 'missing.json'))).toThrow(`${path.join(folder, 'missing.json')}: cannot read config file (ENOENT)`);
  });
});
