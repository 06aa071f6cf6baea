/**
 * Tables whose row of a day reads earlier days (reads_days_before, or a keep_* table): a run that
 * restates a day also rebuilds those tables, and only those, on the later days already built, up
 * to the day before its range. Real DuckDB, values counted by hand.
 */
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadEtlConfig, type EtlJob } from '../../../shared/config/etl-config';
import { addDays, daysBetween } from '../../../shared/dates';
import { ConfigError } from '../../../shared/errors';
import { planEtl } from '../../../shared/etl/plan';
import { laterDays, tableReach } from '../../../shared/etl/reach';
import { runEtl } from '../../../shared/etl/run-etl';
import { silentLogger } from '../../../shared/log';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { context, insertEvents, openMemoryWarehouse, shippedJob } from '../../helpers/warehouse';

/** The shipped config's tables of these names (and restate_days 7). */
function jobOf(...names: string[]): EtlJob {
  return { ...shippedJob, restateDays: 7, tables: shippedJob.tables.filter((table) => names.includes(table.name)) };
}

let warehouse: DuckDbWarehouse;
beforeEach(async () => {
  warehouse = await openMemoryWarehouse();
});
afterEach(() => warehouse.close());

/** The daily run of `today`: it builds yesterday, at 06:00. */
async function dailyRun(job: EtlJob, today: string, kpis?: string[]) {
  const yesterday = addDays(today, -1);
  const outcome = await runEtl({ warehouse, clock: () => new Date(`${today}T06:00:00Z`), logger: silentLogger }, job, {
    range: { start: yesterday, end: yesterday },
    runId: `daily-${today}`,
    username: 'scheduler',
    ...(kpis ? { kpis } : {}),
  });
  expect(outcome.failure).toBeUndefined();
  return outcome.result;
}

const rows = (sql: string) => warehouse.query(sql, {}, context);
const restateRows = async (runId: string) =>
  (await rows(`SELECT message FROM logs.daily_logs WHERE step_name = 'restate' AND uid = '${runId}' ORDER BY step_id`)).map((row) => String(row.message));

/** User a on every day from 2026-11-19 to 2026-11-26, on time. */
const everyDay = daysBetween('2026-11-19', '2026-11-26').map((day) => ({ user_id: 'a', time: `${day}T10:00:00Z` }));

test('a late event on day D: daily_engagement (WAU/MAU read 29 days back) is rebuilt on the built days after D, and nothing else is', async () => {
  const job = jobOf('daily_user_panel', 'user_segments', 'daily_engagement');
  await insertEvents(warehouse, everyDay);
  for (const today of daysBetween('2026-11-20', '2026-11-26')) await dailyRun(job, today);
  // User b's only event, on the 19th, arrives late: before the run of the 27th.
  await insertEvents(warehouse, [{ user_id: 'b', time: '2026-11-19T12:00:00Z' }]);
  const result = await dailyRun(job, '2026-11-27');
  // Counted by hand: b is in the WAU of the 7 days ending the 19th to the 25th, and in every MAU.
  const expected = [['2026-11-19', 2, 2, 2], ...daysBetween('2026-11-20', '2026-11-25').map((day) => [day, 1, 2, 2]), ['2026-11-26', 1, 1, 2]];
  const engagement = await rows(
    "SELECT CAST(date AS VARCHAR) AS date, dau, wau, mau, stickiness FROM daily_kpis.daily_engagement WHERE platform = '(all)' AND country = '(all)' ORDER BY date",
  );
  expect(engagement.map((row) => [row.date, Number(row.dau), Number(row.wau), Number(row.mau)])).toEqual(expected);
  expect(engagement.map((row) => row.stickiness)).toEqual(expected.map(([, dau, , mau]) => Number(dau) / Number(mau)));
  // The 19th's source changed; the 20th to the 25th are daily_engagement's later days; the 26th is the run's own.
  expect(result.restated_dates).toEqual(daysBetween('2026-11-19', '2026-11-25'));
  // The panel of the later days is not written again: only the restated day's rows say so in the log.
  expect(await restateRows('daily-2026-11-27')).toEqual([
    expect.stringMatching(/^restated 2026-11-19: its source changed since it was built/),
    ...daysBetween('2026-11-20', '2026-11-25').map(
      (day) => `restated ${day}: daily_engagement only: it reads days before it (reads_days_before, or a keep_* table), and 2026-11-19 was restated`,
    ),
  ]);
  // The next run has nothing to restate.
  expect((await dailyRun(job, '2026-11-28')).restated_dates).toBeUndefined();
});

test('a late event that makes an install earlier: retention (cohorts from installs) is rebuilt on the built days after it', async () => {
  const job = jobOf('daily_user_panel', 'installs', 'user_segments', 'retention');
  // b is first seen on the 20th on time, so installs says 20 until its event of the 19th arrives.
  await insertEvents(warehouse, [...everyDay, { user_id: 'b', time: '2026-11-20T12:00:00Z' }]);
  for (const today of daysBetween('2026-11-20', '2026-11-26')) await dailyRun(job, today);
  await insertEvents(warehouse, [{ user_id: 'b', time: '2026-11-19T12:00:00Z' }]);
  const result = await dailyRun(job, '2026-11-27');
  // By hand: one cohort, the 19th, of a and b; both active on the 20th (N=1); only a on the 26th (N=7).
  // The cohort of the 20th is empty now, so it has no rows on any day.
  const retention = await rows(
    "SELECT CAST(date AS VARCHAR) AS date, CAST(cohort_date AS VARCHAR) AS cohort, n, cohort_size, retained, retained_rolling FROM daily_kpis.retention WHERE platform = '(all)' AND country = '(all)' ORDER BY date, cohort, n",
  );
  expect(retention.map((row) => [row.date, row.cohort, Number(row.n), Number(row.cohort_size), Number(row.retained), Number(row.retained_rolling)])).toEqual([
    ...daysBetween('2026-11-20', '2026-11-26').map((day) => [day, '2026-11-19', 1, 2, 2, 2]),
    ['2026-11-26', '2026-11-19', 7, 2, 1, 1],
  ]);
  expect(result.restated_dates).toEqual(daysBetween('2026-11-19', '2026-11-25'));
});

test('the reach of each shipped table: its own reads_days_before plus what it reads; every later day through a keep_* table', () => {
  expect(Object.fromEntries(tableReach(shippedJob.tables))).toMatchObject({
    daily_user_panel: 0,
    installs: 0,
    last_activity: 0,
    daily_coins: 0,
    user_segments: 0,
    first_purchase: 0,
    // Their rows per platform and per country read user_segments, a keep_* table.
    daily_revenue: Number.POSITIVE_INFINITY,
    daily_sessions: Number.POSITIVE_INFINITY,
    daily_engagement: Number.POSITIVE_INFINITY,
    retention: Number.POSITIVE_INFINITY,
  });
});

test('later days stop at the day before the range, skip days never built and days restated themselves (they run every table)', () => {
  const tables = jobOf('daily_user_panel', 'daily_sessions', 'daily_engagement').tables;
  const built = new Set(daysBetween('2026-11-19', '2026-11-25').filter((day) => day !== '2026-11-23'));
  const later = laterDays(tables, tableReach(tables), ['2026-11-19', '2026-11-22'], built, { start: '2026-11-26', end: '2026-11-26' });
  expect(Object.fromEntries(later)).toEqual({
    // 1 day after each restated day
    daily_sessions: ['2026-11-20'],
    daily_engagement: ['2026-11-20', '2026-11-21', '2026-11-24', '2026-11-25'],
  });
});

test('the plan runs a table with later days once, over the oldest restated day to the range end, instead of the run range', () => {
  const job = jobOf('daily_user_panel', 'installs', 'daily_engagement');
  const tables = job.tables;
  const warehouseRef = { tableRef: (dataset: string, table: string) => `${dataset}.${table}` };
  const range = { start: '2026-11-26', end: '2026-11-26' };
  const plain = planEtl(warehouseRef, job, tables, range, ['2026-11-19']);
  const plan = planEtl(warehouseRef, job, tables, range, ['2026-11-19'], new Map([['daily_engagement', daysBetween('2026-11-20', '2026-11-25')]]));
  const engagement = planEtl(warehouseRef, job, [tables[2] as (typeof tables)[number]], range).statements.length;
  // plain: the restated range and the run's, each with every table; plan: the restated range without daily_engagement.
  expect(plan.statements.length).toBe(plain.statements.length - engagement);
  const perRange = plain.statements.length / 2;
  expect(plan.statements.slice(0, perRange - engagement).some((statement) => statement.includes('daily_kpis.daily_engagement'))).toBe(false);
  expect(plan.statements.slice(perRange - engagement, -engagement)).toEqual(plain.statements.slice(perRange, -engagement));
  const wide = plan.statements.slice(-engagement);
  expect(wide.every((statement) => statement.includes('daily_kpis.daily_engagement') && !/@start_date\b/.test(statement))).toBe(true);
  expect(wide.some((statement) => statement.includes('@start_date_l1'))).toBe(true);
  expect(plan.later).toEqual(new Map([['daily_engagement', [{ start: '2026-11-19', end: '2026-11-26' }]]]));
  expect(plan.params).toMatchObject({ start_date_l1: { value: '2026-11-19' }, end_date_l1: { value: '2026-11-26' } });
});

describe('reads_days_before in the config', () => {
  function configWith(value: unknown): string {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kpis-reach-')), 'daily_kpis_config.json');
    writeFileSync(file, JSON.stringify({ daily_kpis: { kpis: { daily_user_panel: {}, installs: { reads_days_before: value } } } }));
    return file;
  }

  test('defaults to 0 and takes a whole number of days', () => {
    expect(loadEtlConfig(configWith(undefined)).tables.map((table) => table.readsDaysBefore)).toEqual([0, 0]);
    expect(loadEtlConfig(configWith(366)).tables.find((table) => table.name === 'installs')?.readsDaysBefore).toBe(366);
  });

  test.each([-1, 2.5, 367, '29', null])('reads_days_before %p is refused, naming the file, the entry and the allowed values', (value) => {
    const file = configWith(value);
    expect(() => loadEtlConfig(file)).toThrow(ConfigError);
    expect(() => loadEtlConfig(file)).toThrow(file);
    expect(() => loadEtlConfig(file)).toThrow(/\$\.daily_kpis\.kpis\.installs\.reads_days_before: must be a whole number of days from 0 to 366/);
  });
});

test('restated days between later days: the table runs once over all of them, not once a range', () => {
  const job = jobOf('daily_user_panel', 'user_segments', 'daily_engagement');
  const warehouseRef = { tableRef: (dataset: string, table: string) => `${dataset}.${table}` };
  const restated = ['2026-11-20', '2026-11-22', '2026-11-24'];
  const later = laterDays(job.tables, tableReach(job.tables), restated, new Set(daysBetween('2026-11-19', '2026-11-25')), { start: '2026-11-26', end: '2026-11-26' });
  expect(later.get('daily_engagement')).toEqual(['2026-11-21', '2026-11-23', '2026-11-25']);
  const plan = planEtl(warehouseRef, job, job.tables, { start: '2026-11-26', end: '2026-11-26' }, restated, later);
  expect(plan.later).toEqual(new Map([['daily_engagement', [{ start: '2026-11-20', end: '2026-11-26' }]]]));
  expect(plan.restated).toEqual(restated.map((day) => ({ start: day, end: day })));
});
