/**
 * restate_days on the BigQuery adapter, through the real client against the fake with tables:
 * which days changed comes from INFORMATION_SCHEMA.PARTITIONS and the run log, so an unchanged
 * source costs no event bytes beyond today's window, and late events reach every table.
 */
import type { EtlJob } from '../../../shared/config/etl-config';
import { addDays, daysBetween, type DateRange } from '../../../shared/dates';
import { appendEvents } from '../../../shared/events/load-events';
import { runEtl } from '../../../shared/etl/run-etl';
import { silentLogger } from '../../../shared/log';
import { sqlFileLabel } from '../../../shared/warehouse/bigquery';
import type { Row } from '../../../shared/warehouse/warehouse';
import { bigQueryWithEvents, type BigQueryWithTables } from '../../helpers/bigquery';
import { context, job, shippedJob, SOURCE } from '../../helpers/warehouse';

/** The tables' checksum after one run over `range` on a fresh fake holding `events`: what the daily runs must converge to. */
async function fullRebuild(
  events: Row[],
  etlJob: EtlJob,
  range: DateRange,
  at: string,
  names: string[],
): Promise<string> {
  const full = await bigQueryWithEvents(events);
  try {
    const rebuild = await runEtl(
      { warehouse: await full.warehouse(), clock: () => new Date(at), logger: silentLogger },
      etlJob,
      { range, runId: 'full', username: 'tester' },
    );
    expect(rebuild.result.status).toBe('succeeded');
    return await full.checksum(names);
  } finally {
    await full.fake.stop();
  }
}

const BUILT_IN = ['daily_user_panel', 'installs', 'last_activity'];
const restating = { ...job, restateDays: 7 };

interface InsertedJob {
  configuration: {
    labels?: Record<string, string>;
    query: { query: string; queryParameters?: { name: string; parameterValue: { value?: string } }[] };
  };
}

function events(day: string, users: string[], hour = 10): Row[] {
  return users.map((user) => ({
    user_id: user,
    time: new Date(`${day}T${String(hour).padStart(2, '0')}:00:00Z`),
    event_name: 'session_start',
    coins_added: 3,
  }));
}

const ON_TIME = daysBetween('2026-11-20', '2026-11-25').flatMap((day, d) => events(day, ['a', 'b', 'c', `new${d}`]));
const LATE = [...events('2026-11-21', ['late1', 'a'], 22), ...events('2026-11-23', ['late2'], 23)];

let bq: BigQueryWithTables;
beforeEach(async () => {
  bq = await bigQueryWithEvents(ON_TIME);
});
afterEach(() => bq.fake.stop());

async function dailyRun(today: string) {
  const yesterday = addDays(today, -1);
  const outcome = await runEtl(
    { warehouse: await bq.warehouse(), clock: () => new Date(`${today}T06:00:00Z`), logger: silentLogger },
    restating,
    {
      range: { start: yesterday, end: yesterday },
      runId: `daily-${today}`,
      username: 'scheduler',
    },
  );
  expect(outcome.failure).toBeUndefined();
  return outcome.result;
}

test('an unchanged source: no day restated, and no job reads events beyond the day the run builds', async () => {
  for (const today of daysBetween('2026-11-21', '2026-11-24')) await dailyRun(today);
  const before = bq.fake.jobInserts().length;
  const result = await dailyRun('2026-11-25');
  expect(result.restated_dates).toBeUndefined();
  const jobs = bq.fake
    .jobInserts()
    .slice(before)
    .map((request) => (request.body as InsertedJob).configuration);
  const fromFile = (file: string) => jobs.filter((job) => job.labels?.sql_file === sqlFileLabel(file));
  // The change check reads metadata and the run log; the script alone reads the events, for its day.
  expect(fromFile('etl/source_partitions.sql')).toHaveLength(1);
  expect(fromFile('logs/day_versions.sql')).toHaveLength(1);
  const reading = jobs
    .filter((job) => job.query.query.includes('`demo-project.gamepltx.fact`'))
    .map((job) => job.query);
  expect(reading).toHaveLength(2);
  // The freshness guard's MAX(time) of the day before the run (source_freshness_hours 6).
  const [guard, script] = reading;
  expect(fromFile('etl/newest_event.sql').map((job) => job.query)).toEqual([guard]);
  expect(guard?.queryParameters?.map((p) => p.parameterValue.value)).toEqual(['2026-11-24T06:00:00.000Z']);
  const params = Object.fromEntries((script?.queryParameters ?? []).map((p) => [p.name, p.parameterValue.value]));
  expect(params).toMatchObject({ start_ts: '2026-11-24T00:00:00.000Z', end_ts: '2026-11-25T00:00:00.000Z' });
  expect(Object.keys(params).filter((name) => /_r\d+$/.test(name))).toEqual([]);
});

test('late events landing between runs: the next run restates exactly the changed days and the tables equal a full rebuild', async () => {
  for (const today of daysBetween('2026-11-21', '2026-11-25')) await dailyRun(today);
  await appendEvents(await bq.warehouse(), SOURCE, LATE, context);
  const result = await dailyRun('2026-11-26');
  expect(result.restated_dates).toEqual(['2026-11-21', '2026-11-23']);
  const afterDaily = await bq.checksum(BUILT_IN);

  expect(afterDaily).toBe(
    await fullRebuild(
      [...ON_TIME, ...LATE],
      job,
      { start: '2026-11-20', end: '2026-11-25' },
      '2026-11-26T06:00:00Z',
      BUILT_IN,
    ),
  );
  const log = (await bq.runLogRows('daily-2026-11-26')).map((row) => [row[7], row[10]]);
  expect(log.filter(([step]) => step === 'restate').map(([, message]) => message)).toEqual([
    expect.stringMatching(
      /^restated 2026-11-21: its source changed since it was built \(partitions modified \S+ -> partitions modified \S+\)$/,
    ),
    expect.stringMatching(/^restated 2026-11-23: /),
  ]);
  // And the run after that has nothing left to restate.
  expect((await dailyRun('2026-11-27')).restated_dates).toBeUndefined();
});

test('a table that reads earlier days (daily_engagement, reads_days_before 29) is rebuilt on the later built days too, and equals a full rebuild', async () => {
  const engagement = {
    ...shippedJob,
    restateDays: 7,
    tables: shippedJob.tables.filter((table) =>
      ['daily_user_panel', 'user_segments', 'daily_engagement'].includes(table.name),
    ),
  };
  const run = async (today: string) => {
    const yesterday = addDays(today, -1);
    const outcome = await runEtl(
      { warehouse: await bq.warehouse(), clock: () => new Date(`${today}T06:00:00Z`), logger: silentLogger },
      engagement,
      {
        range: { start: yesterday, end: yesterday },
        runId: `daily-${today}`,
        username: 'scheduler',
      },
    );
    expect(outcome.failure).toBeUndefined();
    return outcome.result;
  };
  for (const today of daysBetween('2026-11-21', '2026-11-25')) await run(today);
  await appendEvents(await bq.warehouse(), SOURCE, LATE, context);
  // The 21st and 23rd changed; the 22nd and 24th are daily_engagement's later days (late1 is in their WAU and MAU).
  expect((await run('2026-11-26')).restated_dates).toEqual(['2026-11-21', '2026-11-22', '2026-11-23', '2026-11-24']);
  const afterDaily = await bq.checksum(['daily_user_panel', 'user_segments', 'daily_engagement']);
  expect(afterDaily).toBe(
    await fullRebuild(
      [...ON_TIME, ...LATE],
      engagement,
      { start: '2026-11-20', end: '2026-11-25' },
      '2026-11-26T06:00:00Z',
      ['daily_user_panel', 'user_segments', 'daily_engagement'],
    ),
  );
});

test('a late event at 00:10 continuing a session of 23:50, landing after the evening was built: daily_sessions (reads_days_after 1) is rebuilt on it, and equals a full rebuild', async () => {
  const names = ['daily_user_panel', 'user_segments', 'daily_sessions'];
  const sessions = {
    ...shippedJob,
    restateDays: 7,
    tables: shippedJob.tables.filter((table) => names.includes(table.name)),
  };
  const evening = {
    user_id: 'b',
    time: new Date('2026-11-22T23:50:00Z'),
    event_name: 'session_start',
    coins_added: null,
  };
  const lateEvent = {
    user_id: 'b',
    time: new Date('2026-11-23T00:10:00Z'),
    event_name: 'level_start',
    coins_added: null,
  };
  const run = async (today: string) => {
    const yesterday = addDays(today, -1);
    const outcome = await runEtl(
      { warehouse: await bq.warehouse(), clock: () => new Date(`${today}T06:00:00Z`), logger: silentLogger },
      sessions,
      {
        range: { start: yesterday, end: yesterday },
        runId: `daily-${today}`,
        username: 'scheduler',
      },
    );
    expect(outcome.failure).toBeUndefined();
    return outcome.result;
  };
  await appendEvents(await bq.warehouse(), SOURCE, [evening], context);
  // Every day's events are in the source before the runs: only the late event changes anything.
  for (const today of daysBetween('2026-11-21', '2026-11-23')) await run(today);
  await appendEvents(await bq.warehouse(), SOURCE, [lateEvent], context);
  expect((await run('2026-11-24')).restated_dates).toEqual(['2026-11-22']);
  expect((await run('2026-11-25')).restated_dates).toBeUndefined();
  const afterDaily = await bq.checksum(names);
  expect(afterDaily).toBe(
    await fullRebuild(
      [...ON_TIME, evening, lateEvent],
      sessions,
      { start: '2026-11-20', end: '2026-11-24' },
      '2026-11-25T06:00:00Z',
      names,
    ),
  );
});

test('on the daily schedule daily_sessions is rebuilt on no evening but the one the late 00:10 event continues; the count before the build time is read only where the partition changed', async () => {
  const names = ['daily_user_panel', 'user_segments', 'daily_sessions'];
  const sessions = {
    ...shippedJob,
    restateDays: 7,
    tables: shippedJob.tables.filter((table) => names.includes(table.name)),
  };
  // a and c at 02:00 and 10:00 every day: each day has events before and after a 06:00 run.
  const aroundTheClock = daysBetween('2026-11-20', '2026-11-25').flatMap((day) => [
    ...events(day, ['a', 'c'], 2),
    ...events(day, ['a', 'c']),
  ]);
  const evening = {
    user_id: 'b',
    time: new Date('2026-11-22T23:50:00Z'),
    event_name: 'session_start',
    coins_added: null,
  };
  const lateEvent = {
    user_id: 'b',
    time: new Date('2026-11-23T00:10:00Z'),
    event_name: 'level_start',
    coins_added: null,
  };
  const all = [...aroundTheClock, evening];
  await bq.fake.stop();
  bq = await bigQueryWithEvents(all.filter((event) => (event.time as Date).toISOString() < '2026-11-21T06:00:00Z'));
  const restated = new Map<string, string[] | undefined>();
  const countsBefore = new Map<string, string[]>();
  for (const today of daysBetween('2026-11-21', '2026-11-25')) {
    const arrived = (event: Row) =>
      (event.time as Date).getTime() >= Date.parse(`${addDays(today, -1)}T06:00:00Z`) &&
      (event.time as Date).getTime() < Date.parse(`${today}T06:00:00Z`);
    if (today !== '2026-11-21') await appendEvents(await bq.warehouse(), SOURCE, all.filter(arrived), context);
    // b's event of 00:10 lands during the 23rd, after the run of 06:00 built the 22nd.
    if (today === '2026-11-24') await appendEvents(await bq.warehouse(), SOURCE, [lateEvent], context);
    const before = bq.fake.jobInserts().length;
    const outcome = await runEtl(
      { warehouse: await bq.warehouse(), clock: () => new Date(`${today}T06:00:00Z`), logger: silentLogger },
      sessions,
      {
        range: { start: addDays(today, -1), end: addDays(today, -1) },
        runId: `daily-${today}`,
        username: 'scheduler',
      },
    );
    expect(outcome.failure).toBeUndefined();
    restated.set(today, outcome.result.restated_dates);
    const counts = bq.fake
      .jobInserts()
      .slice(before)
      .map((request) => (request.body as InsertedJob).configuration)
      .filter((job) => job.labels?.sql_file === sqlFileLabel('etl/source_events_before.sql'));
    countsBefore.set(
      today,
      counts
        .map((job) => job.query.queryParameters?.find((p) => p.name === 'before')?.parameterValue.value ?? '')
        .sort(),
    );
  }
  expect(Object.fromEntries(restated)).toEqual({
    '2026-11-21': undefined,
    '2026-11-22': undefined,
    '2026-11-23': undefined,
    '2026-11-24': ['2026-11-22'],
    '2026-11-25': undefined,
  });
  // Each run counts today's events so far (its own time), and the day before, whose partition changed
  // since the evening before it was built (that build's time); the days confirmed before are not read again.
  expect(Object.fromEntries(countsBefore)).toEqual({
    '2026-11-21': ['2026-11-21T06:00:00.000Z'],
    ...Object.fromEntries(
      daysBetween('2026-11-22', '2026-11-25').map((today) => [
        today,
        [`${addDays(today, -1)}T06:00:00.000Z`, `${today}T06:00:00.000Z`],
      ]),
    ),
  });
  const afterDaily = await bq.checksum(names);
  expect(afterDaily).toBe(
    await fullRebuild(
      [...all.filter((event) => (event.time as Date).toISOString() < '2026-11-25T06:00:00Z'), lateEvent],
      sessions,
      { start: '2026-11-20', end: '2026-11-24' },
      '2026-11-25T06:00:00Z',
      names,
    ),
  );
});
