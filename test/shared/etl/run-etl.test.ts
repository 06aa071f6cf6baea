/** The ETL on the real DuckDB engine: exact rows, idempotence, backfill order, atomicity, run log. */
import { generateDemoEvents } from '../../../shared/events/demo';
import { appendEvents } from '../../../shared/events/load-events';
import { runEtl } from '../../../shared/etl/run-etl';
import { addDays } from '../../../shared/dates';
import { sourceTable } from '../../../shared/schema';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import {
  context,
  dumpKpiTables,
  etlDeps,
  expectedFromSource,
  insertEvents,
  job,
  openMemoryWarehouse,
  SOURCE,
} from '../../helpers/warehouse';

let warehouse: DuckDbWarehouse;
let runs = 0;

beforeEach(async () => {
  warehouse = await openMemoryWarehouse();
});
afterEach(() => warehouse.close());

function etl(start: string, end: string, extra: { kpis?: string[]; dryRun?: boolean } = {}) {
  runs += 1;
  return runEtl(etlDeps(warehouse), job, { range: { start, end }, runId: `run-${runs}`, username: 'tester', ...extra });
}

async function succeeded(start: string, end: string, extra: { kpis?: string[] } = {}) {
  const outcome = await etl(start, end, extra);
  expect(outcome.failure).toBeUndefined();
  expect(outcome.result.status).toBe('succeeded');
  return outcome;
}

/** Small enough to compute by hand; the comments give each row's reason. */
const FIXTURE = [
  { user_id: 'u1', time: '2026-11-01T10:00:00Z', event_name: 'session_start' },
  { user_id: 'u1', time: '2026-11-01T11:00:00Z', event_name: 'purchase', coins_added: 100 },
  { user_id: 'u1', time: '2026-11-03T09:00:00Z', event_name: 'ad_watched', coins_added: 5 },
  { user_id: 'u2', time: '2026-11-02T23:59:59.999Z', event_name: 'level_complete', coins_added: 10 }, // last instant of the 2nd
  { user_id: 'u2', time: '2026-11-03T00:00:00Z', event_name: 'session_start' }, // first instant of the 3rd
  { user_id: 'u3', time: '2026-11-03T12:00:00Z', event_name: 'purchase', coins_added: 50 },
  { user_id: 'u3', time: '2026-11-03T12:30:00Z', event_name: 'purchase', coins_added: 25 },
  { user_id: 'u3', time: '2026-11-04T08:00:00Z', event_name: 'ad_watched', coins_added: 5 }, // after the window
  { user_id: 'u4', time: '2026-10-31T23:59:59.999Z', event_name: 'session_start' }, // before the window
];

describe('runEtl on DuckDB', () => {
  test('builds the three tables of a hand-computed fixture, row by row, reading only the window', async () => {
    await insertEvents(warehouse, FIXTURE);
    const outcome = await succeeded('2026-11-01', '2026-11-03');
    expect(outcome.result).toMatchObject({
      job_name: 'daily_kpis',
      start_date: '2026-11-01',
      end_date: '2026-11-03',
      dates: ['2026-11-01', '2026-11-02', '2026-11-03'],
      tables: ['daily_kpis.daily_user_panel', 'daily_kpis.installs', 'daily_kpis.last_activity'],
      error: null,
      dry_run: false,
    });
    expect(await dumpKpiTables(warehouse)).toEqual({
      installs: [
        { user_id: 'u1', install_date: '2026-11-01' },
        { user_id: 'u2', install_date: '2026-11-02' },
        { user_id: 'u3', install_date: '2026-11-03' },
      ],
      last_activity: [
        { user_id: 'u1', last_activity: '2026-11-03' },
        { user_id: 'u2', last_activity: '2026-11-03' },
        { user_id: 'u3', last_activity: '2026-11-03' },
      ],
      daily_user_panel: [
        { user_id: 'u1', date: '2026-11-01', total_events: 2, total_coins_added: 100 },
        { user_id: 'u2', date: '2026-11-02', total_events: 1, total_coins_added: 10 },
        { user_id: 'u1', date: '2026-11-03', total_events: 1, total_coins_added: 5 },
        { user_id: 'u2', date: '2026-11-03', total_events: 1, total_coins_added: 0 },
        { user_id: 'u3', date: '2026-11-03', total_events: 2, total_coins_added: 75 },
      ],
    });
  });

  test('a later day moves last activity forward; an earlier day moves installs back; other rows stay', async () => {
    await insertEvents(warehouse, FIXTURE);
    await succeeded('2026-11-01', '2026-11-03');
    await succeeded('2026-11-04', '2026-11-04');
    await succeeded('2026-10-31', '2026-10-31');
    const tables = await dumpKpiTables(warehouse);
    expect(tables.installs).toEqual([
      { user_id: 'u1', install_date: '2026-11-01' },
      { user_id: 'u2', install_date: '2026-11-02' },
      { user_id: 'u3', install_date: '2026-11-03' },
      { user_id: 'u4', install_date: '2026-10-31' },
    ]);
    expect(tables.last_activity).toEqual([
      { user_id: 'u1', last_activity: '2026-11-03' },
      { user_id: 'u2', last_activity: '2026-11-03' },
      { user_id: 'u3', last_activity: '2026-11-04' },
      { user_id: 'u4', last_activity: '2026-10-31' },
    ]);
    expect(tables.daily_user_panel).toHaveLength(7);
  });

  test('rerunning a range leaves identical tables', async () => {
    await insertEvents(warehouse, FIXTURE);
    await succeeded('2026-10-31', '2026-11-04');
    const first = await dumpKpiTables(warehouse);
    await succeeded('2026-10-31', '2026-11-04');
    await succeeded('2026-11-02', '2026-11-03');
    expect(await dumpKpiTables(warehouse)).toEqual(first);
  });

  test('a rerun picks up late events of a day: the panel is rebuilt, not added to', async () => {
    await insertEvents(warehouse, FIXTURE);
    await succeeded('2026-11-03', '2026-11-03');
    await insertEvents(warehouse, [{ user_id: 'u3', time: '2026-11-03T23:00:00Z', coins_added: 1 }]);
    await succeeded('2026-11-03', '2026-11-03');
    const panel = (await dumpKpiTables(warehouse)).daily_user_panel;
    expect(panel.find((row) => row.user_id === 'u3')).toEqual({
      user_id: 'u3',
      date: '2026-11-03',
      total_events: 3,
      total_coins_added: 76,
    });
  });

  test('backfills in reverse order, day by day or in two ranges, equal one in-order run and the source', async () => {
    const today = '2026-11-20';
    const events = generateDemoEvents({ today, now: new Date(`${today}T23:59:59Z`), days: 14, baseInstalls: 15 });
    await appendEvents(warehouse, SOURCE, events, context);
    const start = addDays(today, -13);

    await succeeded(start, today);
    const inOrder = await dumpKpiTables(warehouse);
    expect(inOrder).toEqual(await expectedFromSource(warehouse, start, today));
    expect(inOrder.installs.length).toBeGreaterThan(100);

    for (const mode of ['day by day, newest first', 'second half, then first half'] as const) {
      const other = await openMemoryWarehouse();
      try {
        await appendEvents(other, SOURCE, events, context);
        const runOn = (s: string, e: string) =>
          runEtl(etlDeps(other), job, { range: { start: s, end: e }, runId: `${mode}-${s}`, username: 'tester' });
        if (mode === 'day by day, newest first') {
          for (let day = today; day >= start; day = addDays(day, -1))
            expect((await runOn(day, day)).result.status).toBe('succeeded');
        } else {
          expect((await runOn(addDays(start, 7), today)).result.status).toBe('succeeded');
          expect((await runOn(start, addDays(start, 6))).result.status).toBe('succeeded');
        }
        expect(await dumpKpiTables(other)).toEqual(inOrder);
      } finally {
        await other.close();
      }
    }
  });

  test('a statement failing midway leaves every table as it was', async () => {
    await insertEvents(warehouse, FIXTURE);
    await succeeded('2026-11-01', '2026-11-02');
    const before = await dumpKpiTables(warehouse);
    // A hostile panel table: the INSERT, the script's last statement, violates its CHECK after the
    // MERGEs into installs and last_activity have already run inside the same transaction.
    await warehouse.query('DROP TABLE daily_kpis.daily_user_panel', {}, context);
    await warehouse.query(
      'CREATE TABLE daily_kpis.daily_user_panel (user_id VARCHAR, date DATE, total_events BIGINT CHECK (total_events < 2), total_coins_added BIGINT)',
      {},
      context,
    );
    await warehouse.query(
      "INSERT INTO daily_kpis.daily_user_panel VALUES ('u2', DATE '2026-11-02', 1, 10)",
      {},
      context,
    );

    const outcome = await etl('2026-11-03', '2026-11-04');
    expect(outcome.result.status).toBe('failed');
    expect(outcome.result.error).toMatch(/CHECK constraint/i);
    const after = await dumpKpiTables(warehouse);
    expect(after.installs).toEqual(before.installs);
    expect(after.last_activity).toEqual(before.last_activity);
    expect(after.daily_user_panel).toEqual([
      { user_id: 'u2', date: '2026-11-02', total_events: 1, total_coins_added: 10 },
    ]);
  });

  test('the run log gets a start row, a row per table and an end row (with the source version of each day built) under one uid', async () => {
    await insertEvents(warehouse, FIXTURE);
    const { result } = await succeeded('2026-11-01', '2026-11-03');
    const rows = await warehouse.query('SELECT * FROM logs.daily_logs ORDER BY step_id', {}, context);
    expect(rows.map((r) => [r.step_id, r.step_name, r.log_type, r.file_name])).toEqual([
      [1, 'start', 'start', null],
      [2, 'daily_user_panel', 'info', 'etl/daily_user_panel.sql'],
      [3, 'installs', 'info', 'etl/installs.sql'],
      [4, 'last_activity', 'info', 'etl/last_activity.sql'],
      [5, 'end', 'end', null],
    ]);
    // The fixture is old at the run: the end row says the source is stale too (freshness.test.ts).
    expect(rows[4]?.message).toMatch(
      /^ETL succeeded for 2026-11-01\.\.2026-11-03; source stale: .*; source versions \{/,
    );
    expect(JSON.parse((rows[4]?.message as string).replace(/^[^{]*/, ''))).toEqual({
      '2026-11-01': expect.stringMatching(/^2 events, newest row \d+$/),
      '2026-11-02': expect.stringMatching(/^1 events, newest row \d+$/),
      '2026-11-03': expect.stringMatching(/^4 events, newest row \d+$/),
    });
    for (const row of rows) {
      expect(row).toMatchObject({
        uid: result.run_id,
        job_name: 'daily_kpis',
        job_type: 'etl',
        username: 'tester',
        dt: '2026-11-27',
        ts: '2026-11-27T06:00:00.000Z',
      });
    }
  });

  test('a failed run logs start and error rows and reports the failure', async () => {
    // No source table at all: the daily user panel's read fails.
    const outcome = await etl('2026-11-01', '2026-11-01');
    expect(outcome.result.status).toBe('failed');
    expect(outcome.failure?.message).toMatch(/gamepltx\.fact|fact/);
    const rows = await warehouse.query(
      'SELECT step_name, log_type, uid FROM logs.daily_logs ORDER BY step_id',
      {},
      context,
    );
    expect(rows).toEqual([
      { step_name: 'start', log_type: 'start', uid: outcome.result.run_id },
      { step_name: 'error', log_type: 'error', uid: outcome.result.run_id },
    ]);
  });

  test('--kpis builds only the tables asked for; a table read by them is read as it is (created empty when missing)', async () => {
    await insertEvents(warehouse, FIXTURE);
    const alone = await succeeded('2026-11-01', '2026-11-03', { kpis: ['installs'] });
    expect(alone.result.tables).toEqual(['daily_kpis.installs']);
    const tables = await warehouse.query(
      "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'daily_kpis' ORDER BY 1",
      {},
      context,
    );
    expect(tables).toEqual([{ table_name: 'daily_user_panel' }, { table_name: 'installs' }]);
    const installs = () =>
      warehouse.query('SELECT user_id, install_date FROM daily_kpis.installs ORDER BY user_id', {}, context);
    const panel = () =>
      warehouse.query('SELECT * FROM daily_kpis.daily_user_panel ORDER BY user_id, date', {}, context);
    expect(await installs()).toEqual([]);

    await succeeded('2026-11-01', '2026-11-03', { kpis: ['daily_user_panel'] });
    const built = await panel();
    await succeeded('2026-11-01', '2026-11-03', { kpis: ['installs'] });
    expect(await panel()).toEqual(built);
    expect(await installs()).toEqual((await expectedFromSource(warehouse, '2026-11-01', '2026-11-03')).installs);
  });

  test('unknown or disabled KPIs are refused before anything runs', async () => {
    await expect(etl('2026-11-01', '2026-11-01', { kpis: ['dau'] })).rejects.toThrow(
      'unknown KPI "dau"; allowed: daily_user_panel, installs, last_activity',
    );
    const disabled = {
      ...job,
      tables: job.tables.map((table) => (table.name === 'installs' ? { ...table, isEnable: false } : table)),
    };
    await expect(
      runEtl(etlDeps(warehouse), disabled, {
        range: { start: '2026-11-01', end: '2026-11-01' },
        kpis: ['installs'],
        runId: 'r',
        username: 't',
      }),
    ).rejects.toThrow('KPI installs is disabled');
    const { result } = await runEtl(etlDeps(warehouse), disabled, {
      range: { start: '2026-11-01', end: '2026-11-01' },
      runId: 'r',
      username: 't',
    });
    expect(result.tables).toEqual(['daily_kpis.daily_user_panel', 'daily_kpis.last_activity']);
  });

  test('the built-in tables follow the source the daily user panel reads: installs and last_activity are built from the panel', async () => {
    await insertEvents(warehouse, FIXTURE);
    const other = sourceTable('raw', 'events');
    await appendEvents(
      warehouse,
      other,
      [{ user_id: 'z9', time: new Date('2026-11-02T12:00:00Z'), event_name: null, coins_added: 7 }],
      context,
    );
    const otherSource = {
      ...job,
      tables: job.tables.map((table) =>
        table.name === 'daily_user_panel' ? { ...table, dataset_src: 'raw', table_src: 'events' } : table,
      ),
    };
    const { result } = await runEtl(etlDeps(warehouse), otherSource, {
      range: { start: '2026-11-01', end: '2026-11-03' },
      runId: 'two',
      username: 't',
    });
    expect(result.status).toBe('succeeded');
    const tables = await dumpKpiTables(warehouse);
    expect(tables.installs).toEqual([{ user_id: 'z9', install_date: '2026-11-02' }]);
    expect(tables.daily_user_panel).toEqual([
      { user_id: 'z9', date: '2026-11-02', total_events: 1, total_coins_added: 7 },
    ]);
  });

  test('a dry run validates the script and writes nothing', async () => {
    await insertEvents(warehouse, FIXTURE);
    await succeeded('2026-11-01', '2026-11-01');
    const before = await dumpKpiTables(warehouse);
    const logRows = await warehouse.query('SELECT COUNT(*) AS n FROM logs.daily_logs', {}, context);
    const outcome = await etl('2026-11-02', '2026-11-04', { dryRun: true });
    expect(outcome.result).toMatchObject({ status: 'succeeded', dry_run: true, bytes_processed: null });
    expect(outcome.script).toContain('MERGE INTO daily_kpis.installs AS t');
    expect(await dumpKpiTables(warehouse)).toEqual(before);
    expect(await warehouse.query('SELECT COUNT(*) AS n FROM logs.daily_logs', {}, context)).toEqual(logRows);
  });
});
