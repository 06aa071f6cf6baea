/**
 * User-defined tables on the real DuckDB engine: each strategy under reruns, backfills in any
 * order and a statement that fails midway, and the shipped examples' rows computed by hand.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadEtlConfig } from '../../../shared/config/etl-config';
import { runEtl } from '../../../shared/etl/run-etl';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { tempDir } from '../../helpers/history';
import { context, etlDeps, insertEvents, openMemoryWarehouse, shippedJob } from '../../helpers/warehouse';

let warehouse: DuckDbWarehouse;
beforeEach(async () => {
  warehouse = await openMemoryWarehouse();
});
afterEach(() => warehouse.close());

/** A config folder with the given SQL files and table entries (the built-in panel included). */
function configWith(files: Record<string, string>, tables: Record<string, unknown>): string {
  const dir = tempDir('kpis-user-tables-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  const file = path.join(dir, 'daily_kpis_config.json');
  writeFileSync(file, JSON.stringify({ game: { kpis: { daily_user_panel: {}, ...tables } } }));
  return file;
}

const EVENTS = [
  { user_id: 'u1', time: '2026-11-01T10:00:00Z', event_name: 'level_start' },
  { user_id: 'u1', time: '2026-11-01T11:00:00Z', event_name: 'purchase', coins_added: 100 },
  { user_id: 'u2', time: '2026-11-01T12:00:00Z', event_name: 'purchase', coins_added: 40 },
  { user_id: 'u2', time: '2026-11-02T09:00:00Z', event_name: 'level_start' },
  { user_id: 'u1', time: '2026-11-03T09:00:00Z', event_name: 'ad_watched', coins_added: 5 },
  { user_id: 'u3', time: '2026-11-03T10:00:00Z', event_name: 'purchase', coins_added: 30 },
];

const TABLES = {
  // replace_days, from the source: per day, events and coins.
  daily_totals: {
    sql: 'custom/daily_totals.sql',
    strategy: 'replace_days',
    schema: { date: 'DATE', events: 'INT64', coins: 'INT64' },
  },
  // keep_earliest, from another user-defined table: each user's first purchase day and amount.
  first_purchase: {
    sql: 'custom/first_purchase.sql',
    strategy: 'keep_earliest',
    key: 'user_id',
    date_column: 'first_day',
    schema: { user_id: { type: 'STRING', description: 'App user id.' }, first_day: 'DATE', coins: 'INT64' },
  },
  // keep_latest, with a two-column key: each user's last day per event name.
  last_seen_by_event: {
    sql: 'custom/last_seen_by_event.sql',
    strategy: 'keep_latest',
    key: ['user_id', 'event_name'],
    date_column: 'last_day',
    schema: { user_id: 'STRING', event_name: 'STRING', last_day: 'DATE' },
  },
  purchases: {
    sql: 'custom/purchases.sql',
    strategy: 'replace_days',
    schema: { date: 'DATE', user_id: 'STRING', coins: 'INT64' },
  },
};

const FILES = {
  'custom/daily_totals.sql':
    'SELECT DATE(time) AS date, COUNT(*) AS events, CAST(COALESCE(SUM(coins_added), 0) AS INT64) AS coins\nFROM {{source}}\nWHERE time >= @start_ts AND time < @end_ts\nGROUP BY DATE(time)\n',
  'custom/purchases.sql':
    "SELECT DATE(time) AS date, user_id, coins_added AS coins\nFROM {{source}}\nWHERE time >= @start_ts AND time < @end_ts AND event_name = 'purchase';\n",
  'custom/first_purchase.sql':
    'SELECT user_id, date AS first_day, coins\nFROM {{purchases}}\nWHERE date BETWEEN @start_date AND @end_date\n',
  'custom/last_seen_by_event.sql':
    'SELECT user_id, event_name, MAX(DATE(time)) AS last_day\nFROM {{source}}\nWHERE time >= @start_ts AND time < @end_ts\nGROUP BY user_id, event_name\n',
};

async function build(job: ReturnType<typeof loadEtlConfig>, start: string, end: string, runId: string) {
  const outcome = await runEtl(etlDeps(warehouse), job, { range: { start, end }, runId, username: 'test' });
  if (outcome.failure) throw outcome.failure;
  return outcome.result;
}

async function dump(from: DuckDbWarehouse = warehouse) {
  return {
    daily_totals: await from.query('SELECT * FROM daily_kpis.daily_totals ORDER BY date', {}, context),
    first_purchase: await from.query('SELECT * FROM daily_kpis.first_purchase ORDER BY user_id', {}, context),
    last_seen_by_event: await from.query(
      'SELECT * FROM daily_kpis.last_seen_by_event ORDER BY user_id, event_name',
      {},
      context,
    ),
  };
}

const EXPECTED = {
  daily_totals: [
    { date: '2026-11-01', events: 3, coins: 140 },
    { date: '2026-11-02', events: 1, coins: 0 },
    { date: '2026-11-03', events: 2, coins: 35 },
  ],
  first_purchase: [
    { user_id: 'u1', first_day: '2026-11-01', coins: 100 },
    { user_id: 'u2', first_day: '2026-11-01', coins: 40 },
    { user_id: 'u3', first_day: '2026-11-03', coins: 30 },
  ],
  last_seen_by_event: [
    { user_id: 'u1', event_name: 'ad_watched', last_day: '2026-11-03' },
    { user_id: 'u1', event_name: 'level_start', last_day: '2026-11-01' },
    { user_id: 'u1', event_name: 'purchase', last_day: '2026-11-01' },
    { user_id: 'u2', event_name: 'level_start', last_day: '2026-11-02' },
    { user_id: 'u2', event_name: 'purchase', last_day: '2026-11-01' },
    { user_id: 'u3', event_name: 'purchase', last_day: '2026-11-03' },
  ],
};

describe('user-defined tables, each strategy', () => {
  test('one run: every table built from its SQL, dependencies first', async () => {
    await insertEvents(warehouse, EVENTS);
    const job = loadEtlConfig(configWith(FILES, TABLES));
    const result = await build(job, '2026-11-01', '2026-11-03', 'one');
    expect(result.tables).toEqual([
      'daily_kpis.daily_user_panel',
      'daily_kpis.daily_totals',
      'daily_kpis.purchases',
      'daily_kpis.first_purchase',
      'daily_kpis.last_seen_by_event',
    ]);
    expect(await dump()).toEqual(EXPECTED);
  });

  test('reruns change nothing, and backfills in any order converge on the same rows', async () => {
    const job = loadEtlConfig(configWith(FILES, TABLES));
    for (const [index, order] of [
      ['2026-11-01', '2026-11-02', '2026-11-03'],
      ['2026-11-03', '2026-11-01', '2026-11-02'],
      ['2026-11-02', '2026-11-03', '2026-11-01'],
    ].entries()) {
      const fresh = await openMemoryWarehouse();
      try {
        await insertEvents(fresh, EVENTS);
        for (const [run, day] of [...order, ...order].entries()) {
          const outcome = await runEtl(etlDeps(fresh), job, {
            range: { start: day, end: day },
            runId: `order-${index}-${run}`,
            username: 'test',
          });
          expect(outcome.failure).toBeUndefined();
        }
        expect(await dump(fresh)).toEqual(EXPECTED);
      } finally {
        await fresh.close();
      }
    }
  });

  test('a statement failing midway writes nothing: every table of the run stays as it was', async () => {
    await insertEvents(warehouse, EVENTS);
    const job = loadEtlConfig(configWith(FILES, TABLES));
    await build(job, '2026-11-01', '2026-11-01', 'first');
    const before = await dump();
    // The last table's query fails when it runs (event names are not numbers): the earlier tables' writes roll back too.
    const broken = loadEtlConfig(
      configWith(
        {
          ...FILES,
          'custom/last_seen_by_event.sql':
            'SELECT user_id, event_name, MAX(DATE(time)) AS last_day\nFROM {{source}}\nWHERE time >= @start_ts AND time < @end_ts AND CAST(event_name AS INT64) > 0\nGROUP BY user_id, event_name\n',
        },
        TABLES,
      ),
    );
    const outcome = await runEtl(etlDeps(warehouse), broken, {
      range: { start: '2026-11-01', end: '2026-11-03' },
      runId: 'broken',
      username: 'test',
    });
    expect(outcome.result.status).toBe('failed');
    expect(outcome.failure?.message).toMatch(/Could not convert string 'level_start' to INT64|Conversion Error/);
    expect(await dump()).toEqual(before);
  });

  test('rows a replace_days query returns outside the run are not written; NULL keys are left out', async () => {
    await insertEvents(warehouse, EVENTS);
    const job = loadEtlConfig(
      configWith(
        {
          'custom/wide.sql': 'SELECT DATE(time) AS date, COUNT(*) AS events FROM {{source}} GROUP BY DATE(time)',
          'custom/nullable_key.sql':
            "SELECT CASE WHEN user_id = 'u1' THEN NULL ELSE user_id END AS user_id, MIN(DATE(time)) AS first_day FROM {{source}} WHERE time >= @start_ts AND time < @end_ts GROUP BY 1",
        },
        {
          wide: { sql: 'custom/wide.sql', strategy: 'replace_days', schema: { date: 'DATE', events: 'INT64' } },
          nullable_key: {
            sql: 'custom/nullable_key.sql',
            strategy: 'keep_earliest',
            key: 'user_id',
            date_column: 'first_day',
            schema: { user_id: 'STRING', first_day: 'DATE' },
          },
        },
      ),
    );
    for (let i = 0; i < 2; i += 1) await build(job, '2026-11-02', '2026-11-02', `narrow-${i}`);
    expect(await warehouse.query('SELECT * FROM daily_kpis.wide ORDER BY date', {}, context)).toEqual([
      { date: '2026-11-02', events: 1 },
    ]);
    expect(await warehouse.query('SELECT * FROM daily_kpis.nullable_key ORDER BY user_id', {}, context)).toEqual([
      { user_id: 'u2', first_day: '2026-11-02' },
    ]);
  });
});

test('the shipped example: daily_coins from the daily user panel of the same run, by hand', async () => {
  await insertEvents(warehouse, [
    ...EVENTS,
    { user_id: 'u4', time: '2026-11-01T13:00:00Z', event_name: null, coins_added: 7 },
  ]);
  await build(shippedJob, '2026-11-01', '2026-11-03', 'shipped');
  expect(await warehouse.query('SELECT * FROM daily_kpis.daily_coins ORDER BY date', {}, context)).toEqual([
    { date: '2026-11-01', payers: 3, coins: 147 },
    { date: '2026-11-02', payers: 0, coins: 0 },
    { date: '2026-11-03', payers: 2, coins: 35 },
  ]);
});
