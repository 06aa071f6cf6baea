/**
 * restate_days on the real DuckDB engine: late events loaded between daily runs are counted in
 * every table by the next run, which rebuilds exactly the earlier days whose source changed, and
 * says which and why in the run log.
 */
import { loadEtlConfig } from '../../../shared/config/etl-config';
import { addDays, daysBetween } from '../../../shared/dates';
import { ConfigError } from '../../../shared/errors';
import { runEtl } from '../../../shared/etl/run-etl';
import { silentLogger } from '../../../shared/log';
import { LocalTopicPublisher } from '../../../shared/messaging/publisher';
import { runTriggeredEtl } from '../../../shared/pipeline/triggered-etl';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { tempDir } from '../../helpers/history';
import {
  context,
  dumpKpiTables,
  expectedFromSource,
  insertEvents,
  job,
  openMemoryWarehouse,
  type Event,
} from '../../helpers/warehouse';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const restating = { ...job, restateDays: 7 };
const FIRST = '2026-11-20';

let warehouse: DuckDbWarehouse;
beforeEach(async () => {
  warehouse = await openMemoryWarehouse();
});
afterEach(() => warehouse.close());

/** Events of 12 users over ten days, each arriving 0 to 3 days late (by a fixed rule), so most days grow after they are first built. */
function lateHistory(): { event: Event; arrives: string }[] {
  const out: { event: Event; arrives: string }[] = [];
  daysBetween(FIRST, '2026-11-29').forEach((day, d) => {
    for (let u = 0; u < 12; u += 1) {
      if ((u + d) % 4 === 0) continue; // not every user every day
      for (let e = 0; e < 1 + ((u * d) % 3); e += 1) {
        const lag = (u + e + d) % 4;
        out.push({
          event: {
            user_id: `u${u}`,
            time: `${day}T${String(6 + e * 5).padStart(2, '0')}:00:00Z`,
            coins_added: u % 3 === 0 ? 5 : null,
          },
          arrives: addDays(day, lag),
        });
      }
    }
  });
  return out;
}

/** The daily run of `today` (yesterday's day, as `{"days_back":1}` builds it), at 06:00 that morning. */
function dailyRun(today: string, runJob = restating) {
  const yesterday = addDays(today, -1);
  return runEtl({ warehouse, clock: () => new Date(`${today}T06:00:00Z`), logger: silentLogger }, runJob, {
    range: { start: yesterday, end: yesterday },
    runId: `daily-${today}`,
    username: 'scheduler',
  });
}

async function runLog(step: string): Promise<string[]> {
  const rows = await warehouse.query(
    `SELECT message FROM logs.daily_logs WHERE step_name = '${step}' ORDER BY ts, step_id`,
    {},
    context,
  );
  return rows.map((row) => String(row.message));
}

test('late events over several days: after each daily run every table equals a full rebuild of the same source', async () => {
  const history = lateHistory();
  const restatedByRun = new Map<string, string[]>();
  for (const today of daysBetween(addDays(FIRST, 1), '2026-11-30')) {
    // What arrived during yesterday is in the source when today's run starts.
    await insertEvents(
      warehouse,
      history.filter(({ arrives }) => arrives === addDays(today, -1)).map(({ event }) => event),
    );
    const { result, failure } = await dailyRun(today);
    expect(failure).toBeUndefined();
    restatedByRun.set(today, result.restated_dates ?? []);
    expect(await dumpKpiTables(warehouse)).toEqual(await expectedFromSource(warehouse, FIRST, addDays(today, -1)));
  }
  // Late events reached days up to three days back, and nothing older was rebuilt.
  expect(restatedByRun.get('2026-11-25')).toEqual(['2026-11-21', '2026-11-22', '2026-11-23']);
  for (const [today, days] of restatedByRun) for (const day of days) expect(day >= addDays(today, -4)).toBe(true);
  const why = await runLog('restate');
  expect(why.length).toBe([...restatedByRun.values()].flat().length);
  expect(why[0]).toMatch(
    /^restated 2026-11-2\d: its source changed since it was built \((no events|\d+ events, newest row \d+) -> \d+ events, newest row \d+\)$/,
  );
});

test('with restate_days 0 nothing is read or rebuilt: late events stay uncounted (the predecessor)', async () => {
  const history = lateHistory();
  for (const today of daysBetween(addDays(FIRST, 1), '2026-11-24')) {
    await insertEvents(
      warehouse,
      history.filter(({ arrives }) => arrives === addDays(today, -1)).map(({ event }) => event),
    );
    const { result } = await dailyRun(today, { ...job, restateDays: 0 });
    expect(result.restated_dates).toBeUndefined();
  }
  expect(await dumpKpiTables(warehouse)).not.toEqual(await expectedFromSource(warehouse, FIRST, '2026-11-23'));
  expect((await runLog('end')).filter((message) => message.includes('source versions'))).toEqual([]);
});

test('an unchanged source: no day is restated, and a day changed again is restated again', async () => {
  await insertEvents(
    warehouse,
    lateHistory().map(({ event }) => event),
  );
  for (const today of daysBetween(addDays(FIRST, 1), '2026-11-27')) {
    const { result } = await dailyRun(today);
    expect(result.restated_dates).toBeUndefined();
  }
  expect(await runLog('restate')).toEqual([]);
  await insertEvents(warehouse, [{ user_id: 'late', time: '2026-11-22T10:00:00Z' }]);
  expect((await dailyRun('2026-11-28')).result.restated_dates).toEqual(['2026-11-22']);
  expect((await dailyRun('2026-11-29')).result.restated_dates).toBeUndefined();
  expect(await dumpKpiTables(warehouse)).toEqual(await expectedFromSource(warehouse, FIRST, '2026-11-28'));
});

test('days older than restate_days, and days never built, are left alone', async () => {
  await insertEvents(warehouse, [{ user_id: 'a', time: '2026-11-20T10:00:00Z' }]);
  await dailyRun('2026-11-21');
  await insertEvents(warehouse, [
    { user_id: 'late', time: '2026-11-20T11:00:00Z' },
    { user_id: 'never', time: '2026-11-25T11:00:00Z' },
  ]);
  // 2026-11-20 is 9 days before the run's day with restate_days 7; 2026-11-25 was never built.
  const { result } = await dailyRun('2026-11-30');
  expect(result.restated_dates).toBeUndefined();
  expect((await dailyRun('2026-11-22', { ...job, restateDays: 1 })).result.restated_dates).toEqual(['2026-11-20']);
});

test('a redelivered trigger after a restating run rebuilds nothing: tables identical to one run', async () => {
  const dir = tempDir();
  const deps = {
    warehouse,
    clock: () => new Date('2026-11-24T06:00:00Z'),
    logger: silentLogger,
    publisher: new LocalTopicPublisher(dir, () => new Date('2026-11-24T06:00:00Z')),
  };
  await insertEvents(warehouse, [{ user_id: 'a', time: '2026-11-22T10:00:00Z' }]);
  await dailyRun('2026-11-23');
  await insertEvents(warehouse, [
    { user_id: 'b', time: '2026-11-22T12:00:00Z' },
    { user_id: 'b', time: '2026-11-23T12:00:00Z' },
  ]);
  const request = {
    trigger: { range: { start: '2026-11-23', end: '2026-11-23' }, dryRun: false },
    runId: 'msg-1',
    username: 'scheduler',
    publishedAt: new Date('2026-11-24T06:00:00Z'),
  };
  const first = await runTriggeredEtl(deps, restating, request);
  expect(first.restated_dates).toEqual(['2026-11-22']);
  const once = await dumpKpiTables(warehouse);
  // The completion event published again names the restated day too, for the KPI monitor.
  expect((await runTriggeredEtl(deps, restating, request)).restated_dates).toEqual(['2026-11-22']);
  expect(await dumpKpiTables(warehouse)).toEqual(once);
  expect(once).toEqual(await expectedFromSource(warehouse, '2026-11-22', '2026-11-23'));
  expect(await runLog('restate')).toHaveLength(1);
});

test('a run that fails midway while restating leaves every table as it was; its retry restates again and converges', async () => {
  await insertEvents(warehouse, [
    { user_id: 'a', time: '2026-11-20T10:00:00Z' },
    { user_id: 'a', time: '2026-11-21T10:00:00Z' },
  ]);
  await dailyRun('2026-11-21');
  await dailyRun('2026-11-22');
  const before = await dumpKpiTables(warehouse);
  // A panel that refuses 3 events a user: the restated day's statements (first in the script)
  // pass, then the run's own day fails, inside the same transaction.
  const panel = async (check: string) => {
    await warehouse.query(
      'CREATE OR REPLACE TEMP TABLE panel_rows AS SELECT * FROM daily_kpis.daily_user_panel',
      {},
      context,
    );
    await warehouse.query('DROP TABLE daily_kpis.daily_user_panel', {}, context);
    await warehouse.query(
      `CREATE TABLE daily_kpis.daily_user_panel (user_id VARCHAR, date DATE, total_events BIGINT ${check}, total_coins_added BIGINT)`,
      {},
      context,
    );
    await warehouse.query('INSERT INTO daily_kpis.daily_user_panel SELECT * FROM panel_rows', {}, context);
  };
  await panel('CHECK (total_events < 3)');
  await insertEvents(warehouse, [
    { user_id: 'b', time: '2026-11-20T12:00:00Z' },
    ...[1, 2, 3].map((hour) => ({ user_id: 'c', time: `2026-11-22T0${hour}:00:00Z` })),
  ]);
  const crashed = await dailyRun('2026-11-23');
  expect(crashed.result.status).toBe('failed');
  expect(await dumpKpiTables(warehouse)).toEqual(before);
  await panel('');
  const retried = await dailyRun('2026-11-23');
  expect(retried.result).toMatchObject({ status: 'succeeded', restated_dates: ['2026-11-20'] });
  expect(await dumpKpiTables(warehouse)).toEqual(await expectedFromSource(warehouse, '2026-11-20', '2026-11-22'));
});

describe('restate_days in the config', () => {
  function configWith(value: unknown): string {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kpis-restate-')), 'daily_kpis_config.json');
    writeFileSync(
      file,
      JSON.stringify({ daily_kpis: { restate_days: value, kpis: { installs: {}, daily_user_panel: {} } } }),
    );
    return file;
  }

  test('defaults to 7, and 0 turns it off', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kpis-restate-')), 'daily_kpis_config.json');
    writeFileSync(file, JSON.stringify({ daily_kpis: { kpis: { daily_user_panel: {} } } }));
    expect(loadEtlConfig(file).restateDays).toBe(7);
    expect(loadEtlConfig(configWith(0)).restateDays).toBe(0);
  });

  test.each([-1, 1.5, 93, '7', null])(
    'restate_days %p is refused, naming the file, the entry and the allowed values',
    (value) => {
      const file = configWith(value);
      expect(() => loadEtlConfig(file)).toThrow(ConfigError);
      expect(() => loadEtlConfig(file)).toThrow(file);
      expect(() => loadEtlConfig(file)).toThrow(
        /\$\.daily_kpis\.restate_days.*whole number of days from 0 \(off\) to 92/,
      );
    },
  );
});

describe('dry runs and runs of chosen KPIs', () => {
  /** a on the 20th, built by the runs of the 21st and 22nd; then b's event of the 20th arrives late. */
  async function lateOnThe20th(): Promise<void> {
    await insertEvents(warehouse, [{ user_id: 'a', time: '2026-11-20T10:00:00Z' }]);
    await dailyRun('2026-11-21');
    await dailyRun('2026-11-22');
    await insertEvents(warehouse, [{ user_id: 'b', time: '2026-11-20T11:00:00Z' }]);
  }
  const run23 = (extra: { dryRun?: boolean; kpis?: string[] }) =>
    runEtl({ warehouse, clock: () => new Date('2026-11-23T06:00:00Z'), logger: silentLogger }, restating, {
      range: { start: '2026-11-22', end: '2026-11-22' },
      runId: 'asked-2026-11-23',
      username: 'tester',
      ...extra,
    });

  test('a dry run says which days it would restate, puts them in its script, and writes nothing', async () => {
    await lateOnThe20th();
    const before = await dumpKpiTables(warehouse);
    const dry = await run23({ dryRun: true });
    expect(dry.failure).toBeUndefined();
    expect(dry.result).toMatchObject({ status: 'succeeded', dry_run: true, restated_dates: ['2026-11-20'] });
    expect(dry.script).toContain('start_date_r1');
    expect(await dumpKpiTables(warehouse)).toEqual(before);
    expect(await runLog('restate')).toEqual([]);
    // The real run then restates what the dry run said.
    expect((await dailyRun('2026-11-23')).result.restated_dates).toEqual(['2026-11-20']);
  });

  test('a chosen KPI that reads a table the run does not build reads it as it is, and its restate row says so', async () => {
    await lateOnThe20th();
    expect((await run23({ kpis: ['installs'] })).result.restated_dates).toEqual(['2026-11-20']);
    expect(await runLog('restate')).toEqual([
      expect.stringMatching(
        /; installs only \(a run of chosen KPIs, reading daily_user_panel as it is\): the next run of every KPI restates the others$/,
      ),
    ]);
  });

  test('a run of chosen KPIs restates those tables only, says so, and leaves the others to the next run of every table', async () => {
    await lateOnThe20th();
    const chosen = await run23({ kpis: ['daily_user_panel', 'installs'] });
    expect(chosen.result).toMatchObject({
      status: 'succeeded',
      tables: ['daily_kpis.daily_user_panel', 'daily_kpis.installs'],
      restated_dates: ['2026-11-20'],
    });
    const tables = await dumpKpiTables(warehouse);
    expect(tables.installs.map((row) => [row.user_id, String(row.install_date)])).toEqual([
      ['a', '2026-11-20'],
      ['b', '2026-11-20'],
    ]);
    expect(tables.last_activity.map((row) => row.user_id)).toEqual(['a']);
    expect(await runLog('restate')).toEqual([
      expect.stringMatching(
        /^restated 2026-11-20: its source changed since it was built \(.*\); daily_user_panel, installs only \(a run of chosen KPIs\): the next run of every KPI restates the others$/,
      ),
    ]);
    // It recorded no versions, so the next run of every table restates the 20th for all of them.
    expect((await dailyRun('2026-11-23')).result.restated_dates).toEqual(['2026-11-20']);
    expect(await dumpKpiTables(warehouse)).toEqual(await expectedFromSource(warehouse, '2026-11-20', '2026-11-22'));
  });
});
