/**
 * The game KPI pack (config/custom: retention, daily_revenue with first_purchase, daily_sessions,
 * daily_engagement) on the real DuckDB engine, over a small history whose every figure is computed
 * by hand below: a session across midnight, users active on their install day only, a cohort with
 * no returning user, a payer whose first purchase comes days after install, coins that are not
 * revenue, and days rebuilt in order, in one run and in reverse order. The same rows come out of
 * the BigQuery adapter's SQL on the REST fake with tables (its dialect is checked by ZetaSQL in
 * test/sql/googlesql.test.ts, which runs the shipped config).
 */
import { runEtl } from '../../../shared/etl/run-etl';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import type { Row, Warehouse } from '../../../shared/warehouse/warehouse';
import { addDays } from '../../../shared/dates';
import { silentLogger } from '../../../shared/log';
import { appendEvents } from '../../../shared/events/load-events';
import { bigQueryWithEvents } from '../../helpers/bigquery';
import { context, etlDeps, insertEvents, openMemoryWarehouse, shippedJob, SOURCE } from '../../helpers/warehouse';

let warehouse: DuckDbWarehouse;
beforeEach(async () => {
  warehouse = await openMemoryWarehouse();
});
afterEach(() => warehouse.close());

/**
 * Installs: a, b, e on 11-01; c on 11-02; d on 11-03. Active days: a 01, 02, 08, 12-01; b 01 only;
 * e 01, 04; c 02, 03 (one session across midnight), 09; d 03 only (the cohort of 11-03 never returns).
 */
const HISTORY = [
  { user_id: 'e', time: '2026-11-01T09:00:00Z', event_name: 'session_start' },
  { user_id: 'a', time: '2026-11-01T10:00:00Z', event_name: 'session_start' },
  { user_id: 'a', time: '2026-11-01T10:10:00Z', event_name: 'purchase', coins_added: 100 },
  { user_id: 'b', time: '2026-11-01T15:00:00Z', event_name: 'session_start' },
  { user_id: 'a', time: '2026-11-02T12:00:00Z', event_name: 'purchase', coins_added: 50 },
  { user_id: 'a', time: '2026-11-02T12:05:00Z', event_name: 'level_start' },
  { user_id: 'a', time: '2026-11-02T12:40:00Z', event_name: 'level_start' }, // 35 minutes later: a new session
  { user_id: 'c', time: '2026-11-02T23:50:00Z', event_name: 'session_start' },
  { user_id: 'c', time: '2026-11-03T00:10:00Z', event_name: 'level_start' }, // same session, started on 11-02
  { user_id: 'd', time: '2026-11-03T08:00:00Z', event_name: 'session_start' },
  { user_id: 'd', time: '2026-11-03T08:10:00Z', event_name: 'level_start' },
  { user_id: 'd', time: '2026-11-03T09:00:00Z', event_name: 'session_start' },
  { user_id: 'e', time: '2026-11-04T09:00:00Z', event_name: 'session_start' },
  { user_id: 'a', time: '2026-11-08T09:00:00Z', event_name: 'ad_watched', coins_added: 5 }, // coins, not revenue
  { user_id: 'c', time: '2026-11-09T20:00:00Z', event_name: 'purchase', coins_added: 200 }, // first purchase, 7 days after install
  { user_id: 'a', time: '2026-12-01T10:00:00Z', event_name: 'session_start' }, // cohort 11-01 + 30
];
const FIRST = '2026-11-01';
const LAST = '2026-12-01';

const columns = <T extends string>(names: T[], rows: unknown[][]): Row[] =>
  rows.map((row) => Object.fromEntries(names.map((name, i) => [name, row[i]])) as Row);

const EXPECTED = {
  daily_engagement: columns(
    ['date', 'dau', 'wau', 'mau', 'stickiness'],
    [
      ['2026-11-01', 3, 3, 3, 1],
      ['2026-11-02', 2, 4, 4, 0.5],
      ['2026-11-03', 2, 5, 5, 0.4],
      ['2026-11-04', 1, 5, 5, 0.2],
      ['2026-11-08', 1, 4, 5, 0.2], // 11-02..11-08: a, c, d, e
      ['2026-11-09', 1, 4, 5, 0.2], // 11-03..11-09: c, d, e, a
      ['2026-12-01', 1, 1, 4, 0.25], // 11-02..12-01: a, c, d, e (b was active on 11-01 only)
    ],
  ),
  daily_sessions: columns(
    ['date', 'dau', 'sessions', 'sessions_per_dau', 'median_session_seconds'],
    [
      ['2026-11-01', 3, 3, 1, 0], // e 0 s, a 600 s, b 0 s
      ['2026-11-02', 2, 3, 1.5, 300], // a 300 s, a 0 s, c 1200 s (across midnight, counted on the day it starts)
      ['2026-11-03', 2, 2, 1, 300], // d 600 s and 0 s: the median of an even count is the mean of the middle two
      ['2026-11-04', 1, 1, 1, 0],
      ['2026-11-08', 1, 1, 1, 0],
      ['2026-11-09', 1, 1, 1, 0],
      ['2026-12-01', 1, 1, 1, 0],
    ],
  ),
  daily_revenue: columns(
    ['date', 'dau', 'revenue', 'payers', 'first_time_payers', 'arpdau', 'arppu', 'conversion'],
    [
      ['2026-11-01', 3, 100, 1, 1, 100 / 3, 100, 1 / 3],
      ['2026-11-02', 2, 50, 1, 0, 25, 50, 0],
      ['2026-11-03', 2, 0, 0, 0, 0, null, 0],
      ['2026-11-04', 1, 0, 0, 0, 0, null, 0],
      ['2026-11-08', 1, 0, 0, 0, 0, null, 0], // the ad's 5 coins are not revenue
      ['2026-11-09', 1, 200, 1, 1, 200, 200, 1], // c's first purchase, a week after install
      ['2026-12-01', 1, 0, 0, 0, 0, null, 0],
    ],
  ),
  retention: columns(
    ['date', 'cohort_date', 'n', 'maturity_date', 'cohort_size', 'retained', 'retained_rolling', 'is_final'],
    [
      ['2026-11-02', '2026-11-01', 1, '2026-11-02', 3, 1, 1, false],
      ['2026-11-03', '2026-11-01', 1, '2026-11-02', 3, 1, 1, false],
      ['2026-11-03', '2026-11-02', 1, '2026-11-03', 1, 1, 1, false],
      ['2026-11-04', '2026-11-01', 1, '2026-11-02', 3, 1, 2, false], // e came back on day 3: rolling, not strict
      ['2026-11-04', '2026-11-02', 1, '2026-11-03', 1, 1, 1, false],
      ['2026-11-04', '2026-11-03', 1, '2026-11-04', 1, 0, 0, false], // d never returns
      ['2026-11-08', '2026-11-01', 1, '2026-11-02', 3, 1, 2, false],
      ['2026-11-08', '2026-11-01', 7, '2026-11-08', 3, 1, 1, false],
      ['2026-11-08', '2026-11-02', 1, '2026-11-03', 1, 1, 1, false],
      ['2026-11-08', '2026-11-03', 1, '2026-11-04', 1, 0, 0, false],
      ['2026-11-09', '2026-11-01', 1, '2026-11-02', 3, 1, 2, false],
      ['2026-11-09', '2026-11-01', 7, '2026-11-08', 3, 1, 1, false],
      ['2026-11-09', '2026-11-02', 1, '2026-11-03', 1, 1, 1, false],
      ['2026-11-09', '2026-11-02', 7, '2026-11-09', 1, 1, 1, false],
      ['2026-11-09', '2026-11-03', 1, '2026-11-04', 1, 0, 0, false],
      // The horizon of the cohort of 11-01: its rows are final and no later day rebuilds them.
      ['2026-12-01', '2026-11-01', 1, '2026-11-02', 3, 1, 2, true],
      ['2026-12-01', '2026-11-01', 7, '2026-11-08', 3, 1, 1, true],
      ['2026-12-01', '2026-11-01', 30, '2026-12-01', 3, 1, 1, true],
      ['2026-12-01', '2026-11-02', 1, '2026-11-03', 1, 1, 1, false],
      ['2026-12-01', '2026-11-02', 7, '2026-11-09', 1, 1, 1, false],
      ['2026-12-01', '2026-11-03', 1, '2026-11-04', 1, 0, 0, false],
      ['2026-12-01', '2026-11-03', 7, '2026-11-10', 1, 0, 0, false],
    ],
  ),
  first_purchase: columns(
    ['user_id', 'first_purchase_date'],
    [
      ['a', '2026-11-01'],
      ['c', '2026-11-09'],
    ],
  ),
};

const ORDER: Record<keyof typeof EXPECTED, string> = {
  daily_engagement: 'date',
  daily_sessions: 'date',
  daily_revenue: 'date',
  retention: 'date, cohort_date, n',
  first_purchase: 'user_id',
};

/** The tables with a row per platform and per country besides the all-users row. */
const SEGMENTED = new Set(['daily_engagement', 'daily_sessions', 'daily_revenue', 'retention']);

/** Each table's all-users rows, with the columns EXPECTED gives. */
async function dump(
  from: Warehouse = warehouse,
  name = (table: string) => `daily_kpis.${table}`,
): Promise<Record<string, Row[]>> {
  const tables: Record<string, Row[]> = {};
  for (const [table, order] of Object.entries(ORDER)) {
    const columns = Object.keys(EXPECTED[table as keyof typeof EXPECTED][0] as Row).join(', ');
    const allUsers = SEGMENTED.has(table) ? "WHERE platform = '(all)' AND country = '(all)'" : '';
    tables[table] = await from.query(
      `SELECT ${columns} FROM ${name(table)} ${allUsers} ORDER BY ${order}`,
      {},
      context,
    );
  }
  return tables;
}

async function build(start: string, end: string, runId: string): Promise<void> {
  const outcome = await runEtl(etlDeps(warehouse), shippedJob, { range: { start, end }, runId, username: 'test' });
  if (outcome.failure) throw outcome.failure;
}

function days(start: string, end: string): string[] {
  const list: string[] = [];
  for (let day = start; day <= end; day = addDays(day, 1)) list.push(day);
  return list;
}

test('one run over the history: every KPI of the pack as computed by hand', async () => {
  await insertEvents(warehouse, HISTORY);
  await build(FIRST, LAST, 'backfill');
  expect(await dump()).toEqual(EXPECTED);
});

test('daily runs in order give the same rows as one run (each day reads only its window and lookback)', async () => {
  await insertEvents(warehouse, HISTORY);
  for (const day of days(FIRST, LAST)) await build(day, day, `daily-${day}`);
  expect(await dump()).toEqual(EXPECTED);
});

test('rebuilding every day in reverse order, alone, changes no row', async () => {
  await insertEvents(warehouse, HISTORY);
  await build(FIRST, LAST, 'backfill');
  for (const day of days(FIRST, LAST).reverse()) await build(day, day, `reverse-${day}`);
  expect(await dump()).toEqual(EXPECTED);
});

/**
 * What a first build in reverse order of single days gets wrong: a day built before the earlier
 * days it reads sees them empty. daily_engagement's WAU and MAU (the panel's 30 days), retention
 * (no cohort installed before the day yet: no row at all) and daily_revenue's first-time payers
 * (a's purchase on 11-02 counts as a first one until 11-01 is built). The built-in tables,
 * first_purchase and user_segments (keep_earliest) converge by themselves; daily_sessions' totals
 * too, but its per-segment rows read user_segments, which may still move to an earlier day (here
 * every user is '(unknown)'), so the remedy rebuilds it with the other three.
 */
const READ_EARLIER_DAYS = ['daily_revenue', 'daily_sessions', 'daily_engagement', 'retention'];

async function firstBuildInReverse(from: Warehouse, runDays: string[]): Promise<void> {
  for (const day of [...runDays].reverse()) {
    const outcome = await runEtl(
      { warehouse: from, clock: () => new Date('2026-12-02T06:00:00Z'), logger: silentLogger },
      shippedJob,
      {
        range: { start: day, end: day },
        runId: `reverse-${day}`,
        username: 'test',
      },
    );
    if (outcome.failure) throw outcome.failure;
  }
}

/** The remedy the README gives: one run of the four tables over the range (kpis etl --from --to --kpis ...). */
async function rebuildReadersOfEarlierDays(from: Warehouse): Promise<void> {
  const outcome = await runEtl(
    { warehouse: from, clock: () => new Date('2026-12-02T06:00:00Z'), logger: silentLogger },
    shippedJob,
    {
      range: { start: FIRST, end: LAST },
      kpis: READ_EARLIER_DAYS,
      runId: 'readers',
      username: 'test',
    },
  );
  if (outcome.failure) throw outcome.failure;
}

test('a first build in reverse order: the tables that read earlier days are wrong, one run of those four over the range makes every row exact', async () => {
  await insertEvents(warehouse, HISTORY);
  await firstBuildInReverse(warehouse, days(FIRST, LAST));
  const first = await dump();
  expect(first.daily_sessions).toEqual(EXPECTED.daily_sessions);
  expect(first.first_purchase).toEqual(EXPECTED.first_purchase);
  // The last day built first saw no earlier panel day: its MAU is its DAU.
  expect(first.daily_engagement?.find((row) => row.date === LAST)).toMatchObject({ dau: 1, wau: 1, mau: 1 });
  expect(first.daily_revenue?.find((row) => row.date === '2026-11-02')).toMatchObject({ first_time_payers: 1 });
  expect(first.retention).toEqual([]);
  await rebuildReadersOfEarlierDays(warehouse);
  expect(await dump()).toEqual(EXPECTED);
});

test('on BigQuery (the REST fake with tables): the same rows from the SQL the BigQuery adapter sends', async () => {
  const bigquery = await bigQueryWithEvents(
    HISTORY.map((e) => ({ ...e, time: new Date(e.time), coins_added: e.coins_added ?? null })),
  );
  try {
    const adapter = await bigquery.warehouse();
    const outcome = await runEtl(
      { warehouse: adapter, clock: () => new Date('2026-12-02T06:00:00Z'), logger: silentLogger },
      shippedJob,
      {
        range: { start: FIRST, end: LAST },
        runId: 'bigquery',
        username: 'test',
      },
    );
    if (outcome.failure) throw outcome.failure;
    expect(await dump(adapter, (table) => `\`demo-project.daily_kpis.${table}\``)).toEqual(EXPECTED);
  } finally {
    await bigquery.fake.stop();
  }
});

test('on BigQuery: a first build in reverse order of the days with events, then one run of the four readers of earlier days, gives the same rows', async () => {
  const bigquery = await bigQueryWithEvents(
    HISTORY.map((e) => ({ ...e, time: new Date(e.time), coins_added: e.coins_added ?? null })),
  );
  try {
    const adapter = await bigquery.warehouse();
    const name = (table: string) => `\`demo-project.daily_kpis.${table}\``;
    await firstBuildInReverse(adapter, [...new Set(HISTORY.map((event) => event.time.slice(0, 10)))]);
    expect((await dump(adapter, name)).retention).toEqual([]);
    await rebuildReadersOfEarlierDays(adapter);
    expect(await dump(adapter, name)).toEqual(EXPECTED);
  } finally {
    await bigquery.fake.stop();
  }
});

/**
 * Segments: a IOS in Germany, b ANDROID with no country, c no platform in Japan, d ANDROID in
 * Germany, e IOS in Japan on its first day and ANDROID later (a user stays in the segments of the
 * day first seen). NULL is '(unknown)'; every user is in one platform and one country, so each
 * dimension's rows add up to the all-users row.
 */
const SEGMENTS: Record<string, [string | null, string | null]> = {
  a: ['IOS', 'Germany'],
  b: ['ANDROID', null],
  c: [null, 'Japan'],
  d: ['ANDROID', 'Germany'],
  e: ['IOS', 'Japan'],
};

async function segmentRows(table: string, columns: string, where: string): Promise<Row[]> {
  return warehouse.query(
    `SELECT ${columns} FROM daily_kpis.${table} WHERE ${where} ORDER BY platform, country`,
    {},
    context,
  );
}

test('segments: a row per platform and per country, NULL as (unknown), adding up to the all-users row', async () => {
  const rows = HISTORY.map((event) => {
    const [platform, country] = SEGMENTS[event.user_id] as [string | null, string | null];
    const later = event.user_id === 'e' && event.time >= '2026-11-02';
    return {
      ...event,
      time: new Date(event.time),
      coins_added: event.coins_added ?? null,
      platform: later ? 'ANDROID' : platform,
      country,
    };
  });
  await appendEvents(warehouse, SOURCE, rows, context);
  await build(FIRST, LAST, 'segments');
  expect(await dump()).toEqual(EXPECTED);
  expect(
    await segmentRows(
      'daily_revenue',
      'platform, country, dau, revenue, payers, first_time_payers',
      "date = '2026-11-01'",
    ),
  ).toEqual(
    columns(
      ['platform', 'country', 'dau', 'revenue', 'payers', 'first_time_payers'],
      [
        ['(all)', '(all)', 3, 100, 1, 1],
        ['(all)', '(unknown)', 1, 0, 0, 0], // b
        ['(all)', 'Germany', 1, 100, 1, 1], // a
        ['(all)', 'Japan', 1, 0, 0, 0], // e
        ['ANDROID', '(all)', 1, 0, 0, 0], // b
        ['IOS', '(all)', 2, 100, 1, 1], // a, e
      ],
    ),
  );
  expect(
    await segmentRows(
      'daily_sessions',
      'platform, country, dau, sessions, median_session_seconds',
      "date = '2026-11-02'",
    ),
  ).toEqual(
    columns(
      ['platform', 'country', 'dau', 'sessions', 'median_session_seconds'],
      [
        ['(all)', '(all)', 2, 3, 300],
        ['(all)', 'Germany', 1, 2, 150], // a: 300 s and 0 s
        ['(all)', 'Japan', 1, 1, 1200], // c, across midnight
        ['(unknown)', '(all)', 1, 1, 1200], // c
        ['IOS', '(all)', 1, 2, 150], // a
      ],
    ),
  );
  expect(await segmentRows('daily_engagement', 'platform, country, dau, wau, mau', "date = '2026-11-04'")).toEqual(
    columns(
      ['platform', 'country', 'dau', 'wau', 'mau'],
      [
        ['(all)', '(all)', 1, 5, 5],
        ['(all)', '(unknown)', 0, 1, 1], // b
        ['(all)', 'Germany', 0, 2, 2], // a, d
        ['(all)', 'Japan', 1, 2, 2], // c, e (e is back, on ANDROID, still in its first day's segments)
        ['(unknown)', '(all)', 0, 1, 1], // c
        ['ANDROID', '(all)', 0, 2, 2], // b, d
        ['IOS', '(all)', 1, 2, 2], // a, e
      ],
    ),
  );
  expect(
    await segmentRows(
      'retention',
      'platform, country, cohort_size, retained, retained_rolling',
      "date = '2026-11-04' AND cohort_date = '2026-11-01' AND n = 1",
    ),
  ).toEqual(
    columns(
      ['platform', 'country', 'cohort_size', 'retained', 'retained_rolling'],
      [
        ['(all)', '(all)', 3, 1, 2],
        ['(all)', '(unknown)', 1, 0, 0], // b
        ['(all)', 'Germany', 1, 1, 1], // a, back on day 1
        ['(all)', 'Japan', 1, 0, 1], // e, back on day 3
        ['ANDROID', '(all)', 1, 0, 0],
        ['IOS', '(all)', 2, 1, 2],
      ],
    ),
  );
  // Every day of every table: each dimension's rows add up to the all-users row.
  const additive: [string, string, string][] = [
    ['daily_revenue', 'date', 'dau, revenue, payers, first_time_payers'],
    ['daily_sessions', 'date', 'dau, sessions'],
    ['retention', 'date, cohort_date, n', 'cohort_size, retained, retained_rolling'],
  ];
  for (const [table, keys, measures] of additive) {
    const sums = measures
      .split(', ')
      .map((m) => `SUM(${m}) AS ${m}`)
      .join(', ');
    const all = await warehouse.query(
      `SELECT ${keys}, ${sums} FROM daily_kpis.${table} WHERE platform = '(all)' AND country = '(all)' GROUP BY ${keys} ORDER BY ${keys}`,
      {},
      context,
    );
    for (const dimension of [
      "platform <> '(all)' AND country = '(all)'",
      "platform = '(all)' AND country <> '(all)'",
    ]) {
      expect(
        await warehouse.query(
          `SELECT ${keys}, ${sums} FROM daily_kpis.${table} WHERE ${dimension} GROUP BY ${keys} ORDER BY ${keys}`,
          {},
          context,
        ),
      ).toEqual(all);
    }
  }
});
