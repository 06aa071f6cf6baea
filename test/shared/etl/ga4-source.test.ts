/**
 * The Google Analytics (Firebase) export as a source, on the real DuckDB engine: a hand-written
 * export (final and intraday shards of one day, a user with only user_pseudo_id, the coins
 * parameter in each of its value fields, a business zone, Asia/Tokyo, where UTC shards cross
 * midnight) loaded as `bq extract` writes it, built into the KPI tables, the rows computed by
 * hand. The same SQL is analysed for BigQuery in test/sql/googlesql.test.ts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadEtlConfig } from '../../../shared/config/etl-config';
import { ConfigError, InputFileError } from '../../../shared/errors';
import { loadGa4Export } from '../../../shared/events/load-ga4';
import { staleSourcesNote } from '../../../shared/etl/freshness';
import { tablesWithRoles } from '../../../shared/etl/init';
import { runEtl } from '../../../shared/etl/run-etl';
import { silentLogger } from '../../../shared/log';
import { duckDbType, GA4_EVENT_FIELDS } from '../../../shared/events/ga4-export';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import type { Row, Warehouse } from '../../../shared/warehouse/warehouse';
import type { FakeTables } from '../../fakes/bigquery-tables';
import { bigQueryWithEvents, type BigQueryWithTables } from '../../helpers/bigquery';
import { tempDir } from '../../helpers/history';
import { context, openMemoryWarehouse } from '../../helpers/warehouse';

const micros = (iso: string): string => String(Date.parse(iso) * 1000);
const param = (key: string, value: Record<string, unknown>) => ({ key, value });

/** One export event as `bq extract` writes it: INT64 as text, nested params, more fields than read. */
function event(
  user: string,
  iso: string,
  name: string,
  params: ReturnType<typeof param>[],
  extra: Record<string, unknown> = {},
) {
  return {
    event_date: iso.slice(0, 10).replaceAll('-', ''),
    event_timestamp: micros(iso),
    event_name: name,
    event_params: [param('ga_session_id', { int_value: '17' }), ...params],
    user_pseudo_id: user,
    user_id: null,
    platform: 'ANDROID',
    geo: { continent: 'Asia', country: 'Japan', city: 'Tokyo' },
    device: { category: 'mobile', operating_system: 'Android' },
    privacy_info: { analytics_storage: 'Yes' },
    ...extra,
  };
}

const IOS_US = { platform: 'IOS', geo: { country: 'United States' } };
/** The shards, by file name; KPI days are Tokyo's (UTC+9): 2026-11-30 runs from 11-29T15:00Z to 11-30T15:00Z. */
const SHARDS: Record<string, object[]> = {
  'events_20261125.json': [event('p1', '2026-11-25T10:00:00Z', 'level_start', [])],
  'events_20261129.json': [
    event('p1', '2026-11-29T14:59:59Z', 'purchase', [param('coins', { int_value: '7' })]), // Tokyo 11-29 23:59:59
    event('p1', '2026-11-29T15:00:00Z', 'level_start', [param('level', { int_value: '5' })]), // Tokyo 11-30 00:00
    event('p2', '2026-11-29T20:00:00Z', 'purchase', [param('coins', { double_value: 2.6 })], IOS_US),
  ],
  'events_20261130.json': [
    event('p1', '2026-11-30T10:00:00Z', 'purchase', [param('coins', { string_value: '40' })]),
    event('p3', '2026-11-30T14:00:00Z', 'purchase', [param('coins', { float_value: 1.4 })], {
      user_id: 'u-3',
      platform: 'IOS',
      geo: null,
    }),
    event('p2', '2026-11-30T15:00:00Z', 'purchase', [param('coins', { int_value: 5 })], IOS_US), // Tokyo 12-01 00:00
  ],
  // The day's intraday shard, still there beside its final one: the final one wins.
  'events_intraday_20261130.json': [
    event('p1', '2026-11-30T10:00:00Z', 'purchase', [param('coins', { string_value: '40' })]),
    event('p9', '2026-11-30T11:00:00Z', 'purchase', [param('coins', { int_value: '1000' })]),
  ],
  // Today's intraday shard, no final one yet.
  'events_intraday_20261201.json': [event('p2', '2026-12-01T00:30:00Z', 'level_start', [], IOS_US)],
};

let warehouse: DuckDbWarehouse;
let dir: string;
beforeEach(async () => {
  warehouse = await openMemoryWarehouse();
  dir = tempDir('kpis-ga4-');
});
afterEach(() => warehouse.close());

function writeShard(name: string, events: object[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return file;
}

async function loadAll(): Promise<void> {
  for (const [name, events] of Object.entries(SHARDS))
    await loadGa4Export(warehouse, 'analytics_1', writeShard(name, events));
}

/** A GA4 config: the built-in panel and a table by platform and country. */
function ga4Config(source: Record<string, unknown>): string {
  mkdirSync(path.join(dir, 'custom'), { recursive: true });
  writeFileSync(
    path.join(dir, 'custom', 'by_platform.sql'),
    `-- events per day, platform and country
SELECT DATE(DATETIME(time, @time_zone)) AS date, COALESCE(platform, 'unknown') AS platform, COALESCE(country, 'unknown') AS country, COUNT(*) AS events
FROM {{source}}
WHERE time >= @start_ts AND time < @end_ts
GROUP BY DATE(DATETIME(time, @time_zone)), COALESCE(platform, 'unknown'), COALESCE(country, 'unknown')
`,
  );
  const file = path.join(dir, 'daily_kpis_config.json');
  const byPlatform = {
    sql: 'custom/by_platform.sql',
    strategy: 'replace_days',
    schema: { date: 'DATE', platform: 'STRING', country: 'STRING', events: 'INT64' },
  };
  writeFileSync(
    file,
    JSON.stringify({
      game: {
        time_zone: 'Asia/Tokyo',
        restate_days: 0,
        source_freshness_hours: 0,
        source,
        kpis: { daily_user_panel: {}, by_platform: byPlatform },
      },
    }),
  );
  return file;
}

async function build(configFile: string, start: string, end: string, on: Warehouse = warehouse) {
  const deps = { warehouse: on, clock: () => new Date('2026-12-01T03:00:00Z'), logger: silentLogger };
  return runEtl(deps, loadEtlConfig(configFile), { range: { start, end }, runId: `r-${start}`, username: 'test' });
}

const numbers = (rows: Row[]) =>
  rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' || typeof v === 'number' ? Number(v) : v]),
    ),
  );
const panel = async (on: Warehouse = warehouse) =>
  numbers(
    await on.query(
      `SELECT CAST(date AS STRING) AS date, user_id, total_events, total_coins_added FROM ${on.tableRef('daily_kpis', 'daily_user_panel')} ORDER BY date, user_id`,
      {},
      context,
    ),
  );
const byPlatform = async (on: Warehouse = warehouse) =>
  numbers(
    await on.query(
      `SELECT CAST(date AS STRING) AS date, platform, country, events FROM ${on.tableRef('daily_kpis', 'by_platform')} ORDER BY date, platform, country`,
      {},
      context,
    ),
  );

test('the export loads into its shards as bq extract writes them', async () => {
  await loadAll();
  const tables = await warehouse.query(
    "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'analytics_1' ORDER BY 1",
    {},
    context,
  );
  expect(tables.map((row) => row.table_name)).toEqual(Object.keys(SHARDS).map((name) => name.replace('.json', '')));
  // A file not named after a shard goes to the final shards of its events' days.
  const mixed = await loadGa4Export(
    warehouse,
    'analytics_2',
    writeShard('export.json', [
      ...(SHARDS['events_20261129.json'] as object[]),
      ...(SHARDS['events_20261130.json'] as object[]),
    ]),
  );
  expect(mixed.tables).toEqual([
    { table: 'events_20261129', rows: 3 },
    { table: 'events_20261130', rows: 3 },
  ]);
});

/** What both engines must build from SHARDS for Tokyo's 2026-11-30 and 2026-12-01, worked out by hand. */
const EXPECTED = {
  panel: [
    // p1: 00:00 Tokyo level_start and the final shard's purchase of "40" (the intraday copy and p9 are not read).
    { date: '2026-11-30', user_id: 'p1', total_events: 2, total_coins_added: 40 },
    { date: '2026-11-30', user_id: 'p2', total_events: 1, total_coins_added: 3 }, // double 2.6 rounds to 3
    { date: '2026-11-30', user_id: 'p3', total_events: 1, total_coins_added: 1 }, // float 1.4 rounds to 1
    // Tokyo's 12-01: p2's purchase at 00:00 from the final 11-30 shard, and today's intraday event.
    { date: '2026-12-01', user_id: 'p2', total_events: 2, total_coins_added: 5 },
  ],
  byPlatform: [
    { date: '2026-11-30', platform: 'ANDROID', country: 'Japan', events: 2 },
    { date: '2026-11-30', platform: 'IOS', country: 'United States', events: 1 },
    { date: '2026-11-30', platform: 'IOS', country: 'unknown', events: 1 },
    { date: '2026-12-01', platform: 'IOS', country: 'United States', events: 2 },
  ],
};

test('KPI days in Tokyo from UTC shards: final shards win over intraday, each value field of the coins parameter counts, a user with only user_pseudo_id is a user', async () => {
  await loadAll();
  const outcome = await build(
    ga4Config({ format: 'ga4_export', dataset: 'analytics_1', value_param: 'coins' }),
    '2026-11-30',
    '2026-12-01',
  );
  expect(outcome.result.error).toBeNull();
  expect(await panel()).toEqual(EXPECTED.panel);
  expect(await byPlatform()).toEqual(EXPECTED.byPlatform);
});

describe('on the BigQuery fake (its wildcard tables, nested fields and __TABLES__)', () => {
  let bigquery: BigQueryWithTables;
  let bq: Warehouse;
  const columns = GA4_EVENT_FIELDS.map((field) => `'${field.name}': '${duckDbType(field.type)}'`).join(', ');
  const replace = async (name: string, events: object[]) =>
    (bigquery.tables as FakeTables).replaceShard(
      'analytics_1',
      name.replace('.json', ''),
      writeShard(name, events),
      columns,
    );
  beforeEach(async () => {
    bigquery = await bigQueryWithEvents([]);
    bq = await bigquery.warehouse();
    for (const [name, events] of Object.entries(SHARDS)) await replace(name, events);
  });
  afterEach(() => bigquery.fake.stop());

  test('the same tables as on DuckDB', async () => {
    const outcome = await build(
      ga4Config({ format: 'ga4_export', dataset: 'analytics_1', value_param: 'coins' }),
      '2026-11-30',
      '2026-12-01',
      bq,
    );
    expect(outcome.result.error).toBeNull();
    expect(await panel(bq)).toEqual(EXPECTED.panel);
    expect(await byPlatform(bq)).toEqual(EXPECTED.byPlatform);
  });

  test('a rewritten shard changes the versions of the days it may hold (its last_modified_time in __TABLES__)', async () => {
    const versions = () =>
      bq.sourceVersions(
        { dataset: 'analytics_1', table: 'events_*' },
        { start: '2026-11-27', end: '2026-12-02' },
        'Asia/Tokyo',
        context,
      );
    const before = await versions();
    expect([...before.keys()].sort()).toEqual(['2026-11-28', '2026-11-29', '2026-11-30', '2026-12-01', '2026-12-02']);
    await replace('events_20261130.json', SHARDS['events_20261130.json'] as object[]);
    const after = await versions();
    expect([...after.keys()].filter((day) => after.get(day) !== before.get(day))).toEqual([
      '2026-11-29',
      '2026-11-30',
      '2026-12-01',
    ]);
  });

  test('a dataset without any export table fails the run, naming the wildcard table', async () => {
    const missing = await build(
      ga4Config({ format: 'ga4_export', dataset: 'analytics_404' }),
      '2026-11-30',
      '2026-11-30',
      bq,
    );
    expect(missing.result.error).toMatch(/analytics_404\.events_/);
  });
});

test('user_key user_id: only events of signed-in users count, under their user_id', async () => {
  await loadAll();
  await build(
    ga4Config({ format: 'ga4_export', dataset: 'analytics_1', user_key: 'user_id', value_param: 'coins' }),
    '2026-11-30',
    '2026-11-30',
  );
  expect(await panel()).toEqual([{ date: '2026-11-30', user_id: 'u-3', total_events: 1, total_coins_added: 1 }]);
});

test('the run reads only the shards of its window, a day wider on each side', async () => {
  await loadAll();
  const outcome = await runEtl(
    { warehouse, clock: () => new Date('2026-12-01T03:00:00Z'), logger: silentLogger },
    loadEtlConfig(ga4Config({ format: 'ga4_export', dataset: 'analytics_1' })),
    { range: { start: '2026-11-30', end: '2026-11-30' }, runId: 'dry', username: 'test', dryRun: true },
  );
  expect(outcome.script).toContain('FROM analytics_1.events_20261129');
  expect(outcome.script).toContain('FROM analytics_1.events_intraday_20261201');
  expect(outcome.script).not.toContain('events_20261125');
  // No value_param: coins_added is NULL.
  expect(outcome.script).toContain('WHERE p.key = NULL');
});

test('a table that reads the day after its own (reads_days_after 1) widens the shards read by a day after the window', async () => {
  await loadAll();
  const dryRun = async (readsDaysAfter: number) => {
    const file = ga4Config({ format: 'ga4_export', dataset: 'analytics_1' });
    const config = JSON.parse(readFileSync(file, 'utf8')) as {
      game: { kpis: { by_platform: Record<string, unknown> } };
    };
    config.game.kpis.by_platform.reads_days_after = readsDaysAfter;
    writeFileSync(file, JSON.stringify(config));
    const deps = { warehouse, clock: () => new Date('2026-12-01T03:00:00Z'), logger: silentLogger };
    return (
      await runEtl(deps, loadEtlConfig(file), {
        range: { start: '2026-11-29', end: '2026-11-29' },
        runId: 'dry',
        username: 'test',
        dryRun: true,
      })
    ).script;
  };
  // The 30th's events (in Tokyo) may sit in the shards of the 29th to the 1st.
  expect(await dryRun(0)).not.toContain('events_intraday_20261201');
  expect(await dryRun(1)).toContain('FROM analytics_1.events_intraday_20261201');
});

test('a day without shards is an empty day (the export writes none for a day without events); a dataset without any export table is an error naming it', async () => {
  await loadAll();
  const empty = await build(
    ga4Config({ format: 'ga4_export', dataset: 'analytics_1', value_param: 'coins' }),
    '2026-12-10',
    '2026-12-10',
  );
  expect(empty.result.error).toBeNull();
  expect(await panel()).toEqual([]);
  const missing = await build(
    ga4Config({ format: 'ga4_export', dataset: 'analytics_404' }),
    '2026-11-30',
    '2026-11-30',
  );
  expect(missing.result.error).toMatch(/analytics_404\.events_\* not found/);
});

test('a shard loaded again with other events changes the versions of the days it may hold (restate_days)', async () => {
  await loadAll();
  const versions = () =>
    warehouse.sourceVersions(
      { dataset: 'analytics_1', table: 'events_*' },
      { start: '2026-11-27', end: '2026-12-02' },
      'Asia/Tokyo',
    );
  const before = await versions();
  expect([...before.keys()].sort()).toEqual(['2026-11-28', '2026-11-29', '2026-11-30', '2026-12-01', '2026-12-02']);
  await loadGa4Export(
    warehouse,
    'analytics_1',
    writeShard('events_20261130.json', [
      ...(SHARDS['events_20261130.json'] as object[]),
      event('p5', '2026-11-30T09:00:00Z', 'x', []),
    ]),
  );
  const after = await versions();
  const changed = [...after.keys()].filter((day) => after.get(day) !== before.get(day));
  expect(changed).toEqual(['2026-11-29', '2026-11-30', '2026-12-01']);
});

test('the freshness guard reads the newest event through the mapping: the intraday shard counts', async () => {
  await loadAll();
  const job = {
    ...loadEtlConfig(ga4Config({ format: 'ga4_export', dataset: 'analytics_1' })),
    sourceFreshnessHours: 6,
  };
  // The newest event is today's intraday one, 2026-12-01T00:30Z.
  expect(await staleSourcesNote(warehouse, job, job.tables, new Date('2026-12-01T03:00:00Z'), context)).toBe('');
  expect(await staleSourcesNote(warehouse, job, job.tables, new Date('2026-12-01T08:30:00Z'), context)).toBe(
    '; source stale: analytics_1.events_* newest event 2026-12-01T00:30:00.000Z, 8 h old at 2026-12-01T08:30:00.000Z (source_freshness_hours 6)',
  );
});

test.each([
  [
    'an event without event_date',
    [{ event_timestamp: '1', event_name: 'x', user_pseudo_id: 'p1' }],
    /bad\.json:1: column event_date: event_date: is required/,
  ],
  ['a line that is not JSON', ['{"event_date": "20261130", '], /bad\.json:1: column .+: not valid JSON/],
])('a file with %s loads nothing', async (_name, lines, message) => {
  const file = path.join(dir, 'bad.json');
  writeFileSync(file, lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n');
  await expect(loadGa4Export(warehouse, 'analytics_1', file)).rejects.toThrow(InputFileError);
  await expect(loadGa4Export(warehouse, 'analytics_1', file)).rejects.toThrow(message);
  expect(
    await warehouse.query("SELECT COUNT(*) AS n FROM duckdb_tables() WHERE schema_name = 'analytics_1'", {}, context),
  ).toEqual([{ n: 0 }]);
});

test.each([
  [{ format: 'ga4_export' }, /source\.dataset.*required/],
  [
    { format: 'ga4_export', dataset: 'a', user_key: 'email' },
    /source\.user_key: must be one of user_pseudo_id, user_id, got email/,
  ],
  [
    { format: 'ga4_export', dataset: 'a', value_param: 'coins; DROP' },
    /source\.value_param: must be a GA4 event parameter name/,
  ],
  [{ format: 'events', dataset: 'a', value_param: 'coins' }, /value_param.*not allowed/],
])('a GA4 source config is checked: %j', (source, message) => {
  expect(() => loadEtlConfig(ga4Config(source))).toThrow(ConfigError);
  expect(() => loadEtlConfig(ga4Config(source))).toThrow(message);
});

test('an entry naming its own source under a GA4 group source is a config error', () => {
  const file = ga4Config({ format: 'ga4_export', dataset: 'analytics_1' });
  const config = JSON.parse(readFileSync(file, 'utf8')) as { game: { kpis: Record<string, Record<string, unknown>> } };
  config.game.kpis.daily_user_panel = { dataset_src: 'raw' };
  writeFileSync(file, JSON.stringify(config));
  expect(() => loadEtlConfig(file)).toThrow(
    /daily_user_panel\.dataset_src: the group's source is the GA4 export \(dataset analytics_1\)/,
  );
});

test('kpis init creates no table in the export dataset, and deploy.sh grants the ETL read access to it (a reference)', () => {
  const job = loadEtlConfig(ga4Config({ format: 'ga4_export', dataset: 'analytics_1' }));
  const roles = tablesWithRoles(job).filter(({ table }) => table.dataset === 'analytics_1');
  expect(roles.map(({ table, role }) => [`${table.dataset}.${table.table}`, role])).toEqual([
    ['analytics_1.events_*', 'reference'],
  ]);
});

test('a shard rewritten after its day was built restates that day on the next run (restate_days), reading its shards again', async () => {
  await loadAll();
  const file = ga4Config({ format: 'ga4_export', dataset: 'analytics_1', value_param: 'coins' });
  const config = JSON.parse(readFileSync(file, 'utf8')) as { game: Record<string, unknown> };
  config.game.restate_days = 3;
  writeFileSync(file, JSON.stringify(config));
  expect((await build(file, '2026-11-29', '2026-11-29')).result.error).toBeNull();
  // The export rewrites 11-29's shard late: an event of p5 at 11-29T10:00Z, Tokyo's 11-29 19:00.
  const late = event('p5', '2026-11-29T10:00:00Z', 'purchase', [param('coins', { int_value: '11' })]);
  await loadGa4Export(
    warehouse,
    'analytics_1',
    writeShard('events_20261129.json', [...(SHARDS['events_20261129.json'] as object[]), late]),
  );
  const next = await build(file, '2026-12-01', '2026-12-01');
  expect(next.result.error).toBeNull();
  // 11-30 was never built, so it is not restated (no backfill by stealth); 11-29's shards changed, so it is,
  // from shards the run's own window (11-30..12-02) does not reach.
  expect(next.result.restated_dates).toEqual(['2026-11-29']);
  expect((await panel()).filter((row) => row.date === '2026-11-29')).toEqual([
    { date: '2026-11-29', user_id: 'p1', total_events: 1, total_coins_added: 7 },
    { date: '2026-11-29', user_id: 'p5', total_events: 1, total_coins_added: 11 },
  ]);
});
