/**
 * Tables whose row of a day reads earlier days (reads_days_before, or a keep_* table): a run that
 * restates a day also rebuilds those tables, and only those, on the later days already built, up
 * to the day before its range; tables whose row reads later days (reads_days_after: a session
 * that begins at 23:50) likewise on the earlier days. Real DuckDB, values counted by hand.
 */
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadEtlConfig, type EtlJob, type TableDefinition } from '../../../shared/config/etl-config';
import { addDays, daysBetween } from '../../../shared/dates';
import { ConfigError } from '../../../shared/errors';
import { planEtl } from '../../../shared/etl/plan';
import { earlierDays, laterDays, tableReach, tableReachBack } from '../../../shared/etl/reach';
import { runEtl } from '../../../shared/etl/run-etl';
import { silentLogger } from '../../../shared/log';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { context, insertEvents, openMemoryWarehouse, shippedJob, type Event } from '../../helpers/warehouse';
import { kpiTable } from '../../../shared/schema';

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
  (
    await rows(`SELECT message FROM logs.daily_logs WHERE step_name = 'restate' AND uid = '${runId}' ORDER BY step_id`)
  ).map((row) => String(row.message));

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
  const expected = [
    ['2026-11-19', 2, 2, 2],
    ...daysBetween('2026-11-20', '2026-11-25').map((day) => [day, 1, 2, 2]),
    ['2026-11-26', 1, 1, 2],
  ];
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
      (day) =>
        `restated ${day}: daily_engagement only: it reads days before it (reads_days_before, or a keep_* table), and 2026-11-19 was restated`,
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
  expect(
    retention.map((row) => [
      row.date,
      row.cohort,
      Number(row.n),
      Number(row.cohort_size),
      Number(row.retained),
      Number(row.retained_rolling),
    ]),
  ).toEqual([
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
  const later = laterDays(tables, tableReach(tables), ['2026-11-19', '2026-11-22'], built, {
    start: '2026-11-26',
    end: '2026-11-26',
  });
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
  const plan = planEtl(
    warehouseRef,
    job,
    tables,
    range,
    ['2026-11-19'],
    new Map([['daily_engagement', daysBetween('2026-11-20', '2026-11-25')]]),
  );
  const engagement = planEtl(warehouseRef, job, [tables[2] as (typeof tables)[number]], range).statements.length;
  // plain: the restated range and the run's, each with every table; plan: the restated range without daily_engagement.
  expect(plan.statements.length).toBe(plain.statements.length - engagement);
  const perRange = plain.statements.length / 2;
  expect(
    plan.statements
      .slice(0, perRange - engagement)
      .some((statement) => statement.includes('daily_kpis.daily_engagement')),
  ).toBe(false);
  expect(plan.statements.slice(perRange - engagement, -engagement)).toEqual(
    plain.statements.slice(perRange, -engagement),
  );
  const wide = plan.statements.slice(-engagement);
  expect(
    wide.every((statement) => statement.includes('daily_kpis.daily_engagement') && !/@start_date\b/.test(statement)),
  ).toBe(true);
  expect(wide.some((statement) => statement.includes('@start_date_l1'))).toBe(true);
  expect(plan.later).toEqual(new Map([['daily_engagement', [{ start: '2026-11-19', end: '2026-11-26' }]]]));
  expect(plan.params).toMatchObject({ start_date_l1: { value: '2026-11-19' }, end_date_l1: { value: '2026-11-26' } });
});

function configWithField(field: string, value: unknown): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'kpis-reach-')), 'daily_kpis_config.json');
  writeFileSync(file, JSON.stringify({ daily_kpis: { kpis: { daily_user_panel: {}, installs: { [field]: value } } } }));
  return file;
}

/** Users a and c at 02:00 and 10:00 on every day from 2026-11-19 to 2026-11-24: each day has events before and after a 06:00 run. */
const aroundTheClock = daysBetween('2026-11-19', '2026-11-24').flatMap((day) =>
  ['a', 'c'].flatMap((user) => [
    { user_id: user, time: `${day}T02:00:00Z` },
    { user_id: user, time: `${day}T10:00:00Z` },
  ]),
);

/** The daily runs of `days`, each after the events timed before it arrived (as they do on time); what each restated. */
async function onSchedule(
  job: EtlJob,
  days: string[],
  events: Event[],
  between: (today: string) => Promise<void> = async () => undefined,
) {
  const restated = new Map<string, string[] | undefined>();
  let arrived = '';
  for (const today of days) {
    const now = `${today}T06:00:00Z`;
    await insertEvents(
      warehouse,
      events.filter(
        (event) => new Date(event.time).toISOString() >= arrived && new Date(event.time).toISOString() < now,
      ),
    );
    arrived = now;
    await between(today);
    restated.set(today, (await dailyRun(job, today)).restated_dates);
  }
  return Object.fromEntries(restated);
}

const endRow = async (runId: string) =>
  JSON.parse(
    String(
      (await rows(`SELECT message FROM logs.daily_logs WHERE step_name = 'end' AND uid = '${runId}'`))[0]?.message,
    ).split('; source versions ')[1] as string,
  ) as Record<string, unknown>;

test('on the daily schedule no day of daily_sessions is built again: the day it reads ahead changed only after the build time', async () => {
  const job = jobOf('daily_user_panel', 'user_segments', 'daily_sessions');
  const restated = await onSchedule(job, daysBetween('2026-11-20', '2026-11-24'), aroundTheClock);
  // Before: each run rebuilt the day before its range, the day after it having changed (its 10:00 events).
  expect(restated).toEqual(Object.fromEntries(daysBetween('2026-11-20', '2026-11-24').map((day) => [day, undefined])));
  // The run of the 22nd built the 21st at 06:00, when the 22nd had its events of 02:00 (a's and c's): as whole, and before 06:00.
  expect(await endRow('daily-2026-11-22')).toMatchObject({
    read_ahead: { '2026-11-22': '2 events, newest row 13' },
    read_ahead_before: { at: '2026-11-22T06:00:00.000Z', versions: { '2026-11-22': '2 events, newest row 13' } },
  });
  // The next run found the 22nd changed only after that time, and recorded it as seen by the 21st's build.
  expect(await endRow('daily-2026-11-23')).toMatchObject({
    read_ahead_checked: { '2026-11-21': { '2026-11-22': '4 events, newest row 15' } },
  });
  await expectFullRebuild(
    job,
    aroundTheClock.filter((event) => event.time < '2026-11-24T06:00:00Z'),
    { start: '2026-11-19', end: '2026-11-23' },
  );
});

test('on the daily schedule, the event of 00:10 landing after the evening was built rebuilds daily_sessions on it once, and equals a full rebuild', async () => {
  const job = jobOf('daily_user_panel', 'user_segments', 'daily_sessions');
  const evening = { user_id: 'b', time: '2026-11-21T23:50:00Z' };
  const late = { user_id: 'b', time: '2026-11-22T00:10:00Z' };
  // b's event of 00:10 arrives during the 22nd, after the run of 06:00 built the 21st.
  const arrive = async (today: string) => (today === '2026-11-23' ? insertEvents(warehouse, [late]) : undefined);
  const restated = await onSchedule(job, daysBetween('2026-11-20', '2026-11-24'), [...aroundTheClock, evening], arrive);
  expect(restated).toEqual({
    '2026-11-20': undefined,
    '2026-11-21': undefined,
    '2026-11-22': undefined,
    '2026-11-23': ['2026-11-21'],
    '2026-11-24': undefined,
  });
  expect(await restateRows('daily-2026-11-23')).toEqual([
    'restated 2026-11-21: daily_sessions only: it reads days after it (reads_days_after), and 2026-11-22 changed since it was built',
  ]);
  const events = [...aroundTheClock, evening, late].filter((event) => event.time < '2026-11-24T06:00:00Z');
  await expectFullRebuild(job, events, { start: '2026-11-19', end: '2026-11-23' });
});

test("an end row without the versions before the build's time (written before they were): the day read ahead is compared whole, as then", async () => {
  const job = jobOf('daily_user_panel', 'user_segments', 'daily_sessions');
  // The runs of the 20th and the 21st wrote their end rows as the code before did: no read_ahead_before.
  const asBefore = async (today: string) => {
    if (today === '2026-11-22')
      await rows(
        "UPDATE logs.daily_logs SET message = replace(message, '\"read_ahead_before\"', '\"older\"') WHERE step_name = 'end'",
      );
  };
  const restated = await onSchedule(job, daysBetween('2026-11-20', '2026-11-23'), aroundTheClock, asBefore);
  expect(restated).toEqual({
    '2026-11-20': undefined,
    '2026-11-21': undefined,
    '2026-11-22': ['2026-11-20'],
    '2026-11-23': undefined,
  });
});

describe('reads_days_before in the config', () => {
  const configWith = (value: unknown) => configWithField('reads_days_before', value);

  test('defaults to 0 and takes a whole number of days', () => {
    expect(loadEtlConfig(configWith(undefined)).tables.map((table) => table.readsDaysBefore)).toEqual([0, 0]);
    expect(loadEtlConfig(configWith(366)).tables.find((table) => table.name === 'installs')?.readsDaysBefore).toBe(366);
  });

  test.each([-1, 2.5, 367, '29', null])(
    'reads_days_before %p is refused, naming the file, the entry and the allowed values',
    (value) => {
      const file = configWith(value);
      expect(() => loadEtlConfig(file)).toThrow(ConfigError);
      expect(() => loadEtlConfig(file)).toThrow(file);
      expect(() => loadEtlConfig(file)).toThrow(
        /\$\.daily_kpis\.kpis\.installs\.reads_days_before: must be a whole number of days from 0 to 366/,
      );
    },
  );
});

describe('reads_days_after in the config', () => {
  test('defaults to 0 and takes a whole number of days; the shipped daily_sessions reads the day after', () => {
    expect(
      loadEtlConfig(configWithField('reads_days_after', undefined)).tables.map((table) => table.readsDaysAfter),
    ).toEqual([0, 0]);
    expect(
      loadEtlConfig(configWithField('reads_days_after', 366)).tables.find((table) => table.name === 'installs')
        ?.readsDaysAfter,
    ).toBe(366);
    expect(shippedJob.tables.find((table) => table.name === 'daily_sessions')?.readsDaysAfter).toBe(1);
  });

  test.each([-1, 0.5, 367, '1', null])(
    'reads_days_after %p is refused, naming the file, the entry and the allowed values',
    (value) => {
      const file = configWithField('reads_days_after', value);
      expect(() => loadEtlConfig(file)).toThrow(ConfigError);
      expect(() => loadEtlConfig(file)).toThrow(file);
      expect(() => loadEtlConfig(file)).toThrow(
        /\$\.daily_kpis\.kpis\.installs\.reads_days_after: must be a whole number of days from 0 to 366: how many days after its day a row reads/,
      );
    },
  );
});

describe('the reach back: tables whose row reads later days', () => {
  const sessions = shippedJob.tables.find((table) => table.name === 'daily_sessions') as TableDefinition;
  /** A table of a week of daily_sessions (reads_days_before 6), and one of users by last activity (keep_latest). */
  const weekly: TableDefinition = {
    ...sessions,
    name: 'weekly_sessions',
    reads: ['daily_sessions'],
    readsDaysBefore: 6,
    readsDaysAfter: 0,
  };
  const lapsed: TableDefinition = {
    ...sessions,
    name: 'lapsed',
    reads: ['last_activity'],
    readsDaysBefore: 0,
    readsDaysAfter: 0,
  };

  test('its own reads_days_after plus what it reads; every earlier day through a keep_latest table, none through keep_earliest', () => {
    const tables = [...shippedJob.tables, weekly, lapsed];
    expect(Object.fromEntries(tableReachBack(tables))).toEqual({
      ...Object.fromEntries(shippedJob.tables.map((table) => [table.name, 0])),
      // user_segments, which it reads, is keep_earliest: a late event moves a row only from a later day.
      daily_sessions: 1,
      // Its row of a day sums the week of daily_sessions ending that day: a rebuilt evening changes it too.
      weekly_sessions: 1,
      // A late event moves a user's last activity from an earlier day to the restated one.
      lapsed: Number.POSITIVE_INFINITY,
    });
  });

  test('earlier days: within the reach before each restated day, built, not restated, before the range', () => {
    const tables = [...jobOf('daily_user_panel', 'user_segments', 'daily_sessions').tables, weekly];
    const built = new Set(daysBetween('2026-11-15', '2026-11-25').filter((day) => day !== '2026-11-20'));
    const restated = ['2026-11-19', '2026-11-21', '2026-11-22'];
    const earlier = earlierDays(tables, tableReachBack(tables), restated, built, {
      start: '2026-11-26',
      end: '2026-11-26',
    });
    // The 18th: the day before the 19th; the 20th was never built; the 21st was restated itself.
    expect(Object.fromEntries(earlier)).toEqual({ daily_sessions: ['2026-11-18'], weekly_sessions: ['2026-11-18'] });
    // The day before the range is the run's: a day in the range reaches none.
    expect(earlierDays(tables, tableReachBack(tables), [], built, { start: '2026-11-26', end: '2026-11-26' })).toEqual(
      new Map(),
    );
  });

  test('the plan runs daily_sessions once over the reached day to the range end, the restated day in the middle', () => {
    const job = jobOf('daily_user_panel', 'user_segments', 'daily_sessions');
    const warehouseRef = { tableRef: (dataset: string, table: string) => `${dataset}.${table}` };
    const range = { start: '2026-11-26', end: '2026-11-26' };
    const plan = planEtl(
      warehouseRef,
      job,
      job.tables,
      range,
      ['2026-11-23'],
      new Map([['daily_sessions', ['2026-11-22', '2026-11-24', '2026-11-25']]]),
    );
    expect(plan.later).toEqual(new Map([['daily_sessions', [{ start: '2026-11-22', end: '2026-11-26' }]]]));
    expect(plan.restated).toEqual([{ start: '2026-11-23', end: '2026-11-23' }]);
    expect(plan.params).toMatchObject({ start_date_l1: { value: '2026-11-22' }, end_date_l1: { value: '2026-11-26' } });
  });
});

test('restated days between later days: the table runs once over all of them, not once a range', () => {
  const job = jobOf('daily_user_panel', 'user_segments', 'daily_engagement');
  const warehouseRef = { tableRef: (dataset: string, table: string) => `${dataset}.${table}` };
  const restated = ['2026-11-20', '2026-11-22', '2026-11-24'];
  const later = laterDays(
    job.tables,
    tableReach(job.tables),
    restated,
    new Set(daysBetween('2026-11-19', '2026-11-25')),
    { start: '2026-11-26', end: '2026-11-26' },
  );
  expect(later.get('daily_engagement')).toEqual(['2026-11-21', '2026-11-23', '2026-11-25']);
  const plan = planEtl(warehouseRef, job, job.tables, { start: '2026-11-26', end: '2026-11-26' }, restated, later);
  expect(plan.later).toEqual(new Map([['daily_engagement', [{ start: '2026-11-20', end: '2026-11-26' }]]]));
  expect(plan.restated).toEqual(restated.map((day) => ({ start: day, end: day })));
});

/** Every row of a table, in a stable order, as plain values: what a full rebuild is compared by. */
async function dump(target: DuckDbWarehouse, table: string, orderBy: string) {
  const found = await target.query(`SELECT * FROM daily_kpis.${table} ORDER BY ${orderBy}`, {}, context);
  return found.map((row) =>
    Object.fromEntries(Object.entries(row).map(([name, value]) => [name, value === null ? null : String(value)])),
  );
}

test('a late event after midnight continuing a session of the evening before: daily_sessions (reads_days_after 1) is rebuilt on that evening too, and equals a full rebuild', async () => {
  const job = jobOf('daily_user_panel', 'user_segments', 'daily_sessions');
  // b's session starts on the 22nd at 23:50; its event of the 23rd at 00:10 arrives late.
  const onTime = [...everyDay, { user_id: 'b', time: '2026-11-22T23:50:00Z' }];
  const late = [{ user_id: 'b', time: '2026-11-23T00:10:00Z' }];
  await insertEvents(warehouse, onTime);
  for (const today of daysBetween('2026-11-20', '2026-11-26')) await dailyRun(job, today);
  await insertEvents(warehouse, late);
  const result = await dailyRun(job, '2026-11-27');
  // The 22nd: daily_sessions reads the 23rd's first 30 minutes; the 23rd changed; the 24th and 25th read user_segments.
  expect(result.restated_dates).toEqual(daysBetween('2026-11-22', '2026-11-25'));
  const sessions = await rows(
    "SELECT CAST(date AS VARCHAR) AS date, sessions, median_session_seconds FROM daily_kpis.daily_sessions WHERE platform = '(all)' AND country = '(all)' AND date IN ('2026-11-22', '2026-11-23') ORDER BY date",
  );
  // By hand: on the 22nd a's session of 0 s and b's of 1200 s (23:50 to 00:10); the 23rd has no session of b's start.
  expect(sessions.map((row) => [row.date, Number(row.sessions), row.median_session_seconds])).toEqual([
    ['2026-11-22', 2, 600],
    ['2026-11-23', 1, 0],
  ]);
  expect(
    (await restateRows('daily-2026-11-27')).filter((message) => message.startsWith('restated 2026-11-22')),
  ).toEqual([
    'restated 2026-11-22: daily_sessions only: it reads days after it (reads_days_after), and 2026-11-23 was restated',
  ]);

  await expectFullRebuild(job, [...onTime, ...late], { start: '2026-11-19', end: '2026-11-26' });
});

/** The tables of `job` equal what one run over `range` builds from `events` in a fresh warehouse. */
async function expectFullRebuild(job: EtlJob, events: Event[], range: { start: string; end: string }) {
  const full = await openMemoryWarehouse();
  try {
    await insertEvents(full, events);
    const rebuild = await runEtl(
      { warehouse: full, clock: () => new Date(`${addDays(range.end, 1)}T06:00:00Z`), logger: silentLogger },
      job,
      {
        range,
        runId: 'full',
        username: 'tester',
      },
    );
    expect(rebuild.failure).toBeUndefined();
    for (const table of job.tables) {
      const orderBy = kpiTable(table)
        .columns.map((column) => column.name)
        .join(', ');
      expect(await dump(warehouse, table.name, orderBy)).toEqual(await dump(full, table.name, orderBy));
    }
  } finally {
    await full.close();
  }
}

test('the event at 00:10 lands after the evening was built, before its own day is: the run building that day rebuilds daily_sessions on the evening, and only once', async () => {
  const job = jobOf('daily_user_panel', 'user_segments', 'daily_sessions');
  const onTime = [...everyDay, { user_id: 'b', time: '2026-11-22T23:50:00Z' }];
  const late = [{ user_id: 'b', time: '2026-11-23T00:10:00Z' }];
  await insertEvents(warehouse, onTime);
  // The run of the 23rd builds the 22nd; b's event of 00:10 arrives after it, before the run of the 24th.
  for (const today of daysBetween('2026-11-20', '2026-11-23')) await dailyRun(job, today);
  await insertEvents(warehouse, late);
  // The 23rd is the run's own day, built for the first time: nothing is restated by its source.
  expect((await dailyRun(job, '2026-11-24')).restated_dates).toEqual(['2026-11-22']);
  expect(await restateRows('daily-2026-11-24')).toEqual([
    'restated 2026-11-22: daily_sessions only: it reads days after it (reads_days_after), and 2026-11-23 changed since it was built',
  ]);
  const evening = await rows(
    "SELECT sessions, median_session_seconds FROM daily_kpis.daily_sessions WHERE platform = '(all)' AND country = '(all)' AND date = '2026-11-22'",
  );
  expect(evening.map((row) => [Number(row.sessions), row.median_session_seconds])).toEqual([[2, 600]]);
  // Rebuilt once: the next runs find the evening built with what it reads.
  for (const today of ['2026-11-25', '2026-11-26']) expect((await dailyRun(job, today)).restated_dates).toBeUndefined();
  await expectFullRebuild(job, [...onTime, ...late], { start: '2026-11-19', end: '2026-11-25' });
});
