import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_ETL_CONFIG, loadEtlConfig } from '../../../shared/config/etl-config';
import { ConfigError, InvalidConfigError } from '../../../shared/errors';

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

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
    const builtins = job.tables.filter((table) =>
      ['installs', 'last_activity', 'daily_user_panel'].includes(table.name),
    );
    expect(builtins.map((table) => table.name)).toEqual(['daily_user_panel', 'installs', 'last_activity']);
    for (const table of builtins)
      expect(table).toMatchObject({
        dataset_src: 'gamepltx',
        table_src: 'fact',
        dataset_dst: 'daily_kpis',
        isEnable: true,
      });
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
    expect(job.tables[0]?.columns.map((column) => `${column.name} ${column.type}`)).toEqual([
      'user_id STRING',
      'install_date DATE',
    ]);
  });

  test.each([
    [
      'a wrong type',
      { daily_kpis: { kpis: { installs: { isEnable: 'yes' } } } },
      '$.daily_kpis.kpis.installs.isEnable: must be a boolean',
    ],
    [
      'a bad identifier',
      { daily_kpis: { kpis: { installs: { dataset_dst: 'my-dataset' } } } },
      '$.daily_kpis.kpis.installs.dataset_dst: must be letters, digits and underscores',
    ],
    [
      'an entry that is neither built in nor names its SQL',
      { daily_kpis: { kpis: { dau: {} } } },
      '$.kpis.dau.sql: is required: dau is not a built-in table (daily_user_panel, installs, last_activity)',
    ],
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
    expect(() => loadEtlConfig(path.join(folder, 'missing.json'))).toThrow(
      `${path.join(folder, 'missing.json')}: cannot read config file (ENOENT)`,
    );
  });
});

describe('user-defined tables in the config', () => {
  const sqlDir = path.join(folder, 'custom');
  mkdirSync(sqlDir, { recursive: true });
  writeFileSync(
    path.join(sqlDir, 'coins.sql'),
    'SELECT DATE(time) AS date, SUM(coins_added) AS coins FROM {{source}} GROUP BY 1\n',
  );
  writeFileSync(path.join(sqlDir, 'a.sql'), 'SELECT date, n FROM {{b}}\n');
  writeFileSync(path.join(sqlDir, 'b.sql'), 'SELECT date, n FROM {{daily_kpis.a}}\n');
  writeFileSync(path.join(sqlDir, 'two.sql'), 'SELECT 1 AS date; SELECT 2 AS date;\n');
  writeFileSync(
    path.join(sqlDir, 'panel_reader.sql'),
    'SELECT date, COUNT(*) AS n FROM {{daily_user_panel}} GROUP BY date\n',
  );
  const coins = { sql: 'custom/coins.sql', strategy: 'replace_days', schema: { date: 'DATE', coins: 'INT64' } };
  const config = (kpis: Record<string, unknown>) => configFile({ daily_kpis: { kpis } });

  test('a valid entry: SQL relative to the config folder, its schema in order, what it reads', () => {
    const job = loadEtlConfig(
      config({
        coins: {
          ...coins,
          cluster_by: 'date',
          schema: { date: { type: 'DATE', description: 'The day.' }, coins: 'NUMERIC' },
        },
      }),
    );
    expect(job.tables[0]).toMatchObject({
      name: 'coins',
      sql: path.join(sqlDir, 'coins.sql'),
      sqlLabel: 'custom/coins.sql',
      strategy: 'replace_days',
      partition_column: 'date',
      cluster_by: ['date'],
      reads: [],
    });
    expect(job.tables[0]?.columns).toEqual([
      { name: 'date', type: 'DATE', description: 'The day.' },
      { name: 'coins', type: 'NUMERIC', description: '' },
    ]);
  });

  test.each([
    [
      'a sql path outside the config folder',
      { coins: { ...coins, sql: '../coins.sql' } },
      '$.kpis.coins.sql: "../coins.sql" is outside the config\'s folder',
    ],
    [
      'a missing sql file',
      { coins: { ...coins, sql: 'custom/nope.sql' } },
      '$.kpis.coins.sql: "custom/nope.sql": no such file',
    ],
    [
      'a table name that is no identifier',
      { 'daily-coins': coins },
      '$.daily_kpis.kpis.daily-coins: is not a table name: names are letters, digits and underscores',
    ],
    [
      'a column name that is no identifier',
      { coins: { ...coins, schema: { 'the date': 'DATE' } } },
      '$.daily_kpis.kpis.coins.schema.the date: is not a column name: names are letters, digits and underscores',
    ],
    [
      'an unknown type',
      { coins: { ...coins, schema: { date: 'DATE', coins: 'INTEGER' } } },
      '$.daily_kpis.kpis.coins.schema.coins: must be one of STRING, INT64, FLOAT64, NUMERIC, BOOL, DATE, TIMESTAMP, got INTEGER',
    ],
    [
      'an unknown strategy',
      { coins: { ...coins, strategy: 'upsert' } },
      '$.daily_kpis.kpis.coins.strategy: must be one of replace_days, keep_earliest, keep_latest, got upsert',
    ],
    [
      'no strategy',
      { coins: { sql: 'custom/coins.sql', schema: coins.schema } },
      '$.kpis.coins.strategy: is required; one of replace_days, keep_earliest, keep_latest',
    ],
    ['no schema', { coins: { sql: 'custom/coins.sql', strategy: 'replace_days' } }, '$.kpis.coins.schema: is required'],
    [
      'a partition column not in the schema',
      { coins: { ...coins, partition_column: 'day' } },
      '$.kpis.coins.partition_column: "day" is not a column of the schema (date, coins)',
    ],
    [
      'a partition column that is no DATE',
      { coins: { ...coins, partition_column: 'coins' } },
      '$.kpis.coins.partition_column: coins must be a DATE column',
    ],
    [
      'keep_earliest without a key',
      { coins: { ...coins, strategy: 'keep_earliest', date_column: 'date' } },
      '$.kpis.coins.key: is required for keep_earliest',
    ],
    [
      'keep_latest without a date column',
      { coins: { ...coins, strategy: 'keep_latest', key: 'coins' } },
      '$.kpis.coins.date_column: is required for keep_latest',
    ],
    [
      'a key column not in the schema',
      { coins: { ...coins, strategy: 'keep_latest', key: ['user_id'], date_column: 'date' } },
      '$.kpis.coins.key: "user_id" is not a column of the schema',
    ],
    [
      'a date column that is part of the key',
      { coins: { ...coins, strategy: 'keep_earliest', key: ['date'], date_column: 'date' } },
      '$.kpis.coins.date_column: date is part of the key; it must be another column',
    ],
    [
      'a date column that is no DATE',
      { coins: { ...coins, strategy: 'keep_latest', key: 'date', date_column: 'coins' } },
      '$.kpis.coins.date_column: coins must be a DATE column',
    ],
    [
      'a replace_days partition column that is no DATE',
      { coins: { ...coins, strategy: 'replace_days', partition_column: 'coins' } },
      '$.kpis.coins.partition_column: coins must be a DATE column: a run replaces its days',
    ],
    [
      'a cluster column not in the schema',
      { coins: { ...coins, cluster_by: ['platform'] } },
      '$.kpis.coins.cluster_by: "platform" is not a column of the schema',
    ],
    [
      'a file of two statements',
      { coins: { ...coins, sql: 'custom/two.sql' } },
      '$.kpis.coins.sql (custom/two.sql): must hold exactly one SELECT statement, found 2',
    ],
    [
      'two tables that read each other',
      {
        a: { sql: 'custom/a.sql', strategy: 'replace_days', schema: { date: 'DATE', n: 'INT64' } },
        b: { sql: 'custom/b.sql', strategy: 'replace_days', schema: { date: 'DATE', n: 'INT64' } },
      },
      '$.kpis: the tables a -> b -> a read each other in a cycle',
    ],
    [
      'an enabled table reading a disabled one',
      {
        daily_user_panel: { isEnable: false },
        reader: { sql: 'custom/panel_reader.sql', strategy: 'replace_days', schema: { date: 'DATE', n: 'INT64' } },
      },
      '$.kpis.reader: reads daily_user_panel, which is disabled (isEnable: false): enable it or disable reader',
    ],
  ])('%s is a config error naming the file and the entry', (_name, kpis, message) => {
    const file = config(kpis);
    expect(() => loadEtlConfig(file)).toThrow(ConfigError);
    expect(() => loadEtlConfig(file)).toThrow(`${file}: invalid config`);
    expect(() => loadEtlConfig(file)).toThrow(message);
  });

  test('a config error carries the file, the path and the problem as fields, and its message is formatted from them', () => {
    const file = config({ coins: { ...coins, strategy: 'keep_latest', key: 'coins' } });
    const error = catchError(() => loadEtlConfig(file));
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error).toMatchObject({
      file,
      path: '$.kpis.coins.date_column',
      problem: 'is required for keep_latest: the DATE column that only moves later',
    });
    expect((error as Error).message).toBe(
      `${file}: invalid config\n  $.kpis.coins.date_column: is required for keep_latest: the DATE column that only moves later`,
    );
  });

  test("a problem in an entry's SQL file carries the file as the config wrote it", () => {
    const file = config({ coins: { ...coins, sql: 'custom/two.sql' } });
    expect(catchError(() => loadEtlConfig(file))).toMatchObject({
      file,
      path: '$.kpis.coins.sql',
      problems: [expect.objectContaining({ sqlLabel: 'custom/two.sql' })],
    });
  });
});
