/**
 * The business day's time zone: a KPI day is a calendar day in the config's `time_zone`. Checked
 * across the two 2026 daylight-saving changes of America/Los_Angeles and Europe/Berlin, with the
 * expected days written out by hand, on the real DuckDB engine (the same SQL BigQuery gets; its
 * statements are analyzed in test/sql/googlesql.test.ts and its parameters checked below).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { loadEtlConfig, type EtlJob } from '../../../shared/config/etl-config';
import { addDays, dayIn, startOfDayIn } from '../../../shared/dates';
import { ConfigError, UsageError } from '../../../shared/errors';
import { rangeParams } from '../../../shared/config/table-sql';
import { runEtl } from '../../../shared/etl/run-etl';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { tempDir } from '../../helpers/history';
import { context, etlDeps, insertEvents, openMemoryWarehouse } from '../../helpers/warehouse';

const HOUR = 3_600_000;

/** Each event's instant and the local day it belongs to, worked out by hand from the zone's offsets. */
const ZONES: Record<string, { changes: { day: string; hours: number }[]; events: [string, string][] }> = {
  // PST -8 until 2026-03-08 02:00, PDT -7 until 2026-11-01 02:00, then PST again.
  'America/Los_Angeles': {
    changes: [
      { day: '2026-03-08', hours: 23 },
      { day: '2026-11-01', hours: 25 },
    ],
    events: [
      ['2026-03-08T07:30:00Z', '2026-03-07'], // 23:30 PST
      ['2026-03-08T08:00:00Z', '2026-03-08'], // 00:00 PST, the 23-hour day's first instant
      ['2026-03-08T10:30:00Z', '2026-03-08'], // 03:30 PDT, just after the skipped hour
      ['2026-03-09T06:30:00Z', '2026-03-08'], // 23:30 PDT
      ['2026-03-09T07:00:00Z', '2026-03-09'], // 00:00 PDT
      ['2026-11-01T06:30:00Z', '2026-10-31'], // 23:30 PDT
      ['2026-11-01T07:00:00Z', '2026-11-01'], // 00:00 PDT, the 25-hour day's first instant
      ['2026-11-01T08:30:00Z', '2026-11-01'], // 01:30 PDT
      ['2026-11-01T09:30:00Z', '2026-11-01'], // 01:30 PST, the repeated hour
      ['2026-11-02T07:30:00Z', '2026-11-01'], // 23:30 PST
      ['2026-11-02T08:00:00Z', '2026-11-02'], // 00:00 PST
    ],
  },
  // CET +1 until 2026-03-29 02:00, CEST +2 until 2026-10-25 03:00, then CET again.
  'Europe/Berlin': {
    changes: [
      { day: '2026-03-29', hours: 23 },
      { day: '2026-10-25', hours: 25 },
    ],
    events: [
      ['2026-03-28T22:30:00Z', '2026-03-28'], // 23:30 CET
      ['2026-03-28T23:00:00Z', '2026-03-29'], // 00:00 CET
      ['2026-03-29T21:30:00Z', '2026-03-29'], // 23:30 CEST
      ['2026-03-29T22:00:00Z', '2026-03-30'], // 00:00 CEST
      ['2026-10-24T21:30:00Z', '2026-10-24'], // 23:30 CEST
      ['2026-10-24T22:00:00Z', '2026-10-25'], // 00:00 CEST
      ['2026-10-25T00:30:00Z', '2026-10-25'], // 02:30 CEST
      ['2026-10-25T01:30:00Z', '2026-10-25'], // 02:30 CET, the repeated hour
      ['2026-10-25T22:30:00Z', '2026-10-25'], // 23:30 CET
      ['2026-10-25T23:00:00Z', '2026-10-26'], // 00:00 CET
    ],
  },
};

describe('days in a zone (shared/dates.ts)', () => {
  test.each(Object.entries(ZONES))(
    '%s: the daylight-saving days last 23 and 25 hours; every event falls on its local day',
    (zone, { changes, events }) => {
      for (const { day, hours } of changes) {
        expect((startOfDayIn(addDays(day, 1), zone).getTime() - startOfDayIn(day, zone).getTime()) / HOUR).toBe(hours);
      }
      for (const [instant, day] of events) expect(dayIn(new Date(instant), zone)).toBe(day);
    },
  );

  test('a day starts at the first instant whose local day it is, in any zone and on any day', () => {
    const zones = [
      'UTC',
      'America/Los_Angeles',
      'Europe/Berlin',
      'Asia/Kolkata',
      'Australia/Lord_Howe',
      'Pacific/Apia',
      'America/Santiago',
      'Asia/Kathmandu',
    ];
    const days = fc
      .date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2040-12-31T00:00:00Z'), noInvalidDate: true })
      .map((date) => date.toISOString().slice(0, 10));
    fc.assert(
      fc.property(days, fc.constantFrom(...zones), (day, zone) => {
        const start = startOfDayIn(day, zone);
        expect(dayIn(start, zone)).toBe(day);
        expect(dayIn(new Date(start.getTime() - 1), zone) < day).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('an unknown zone is a usage error that names it', () => {
    expect(() => dayIn(new Date(), 'Mars/Olympus')).toThrow(UsageError);
    expect(() => dayIn(new Date(), 'Mars/Olympus')).toThrow(/unknown time zone "Mars\/Olympus"/);
  });

  test('a run range is bounded by local midnights, and the query gets the zone', () => {
    expect(rangeParams({ start: '2026-11-01', end: '2026-11-01' }, 'America/Los_Angeles')).toEqual({
      start_date: { type: 'DATE', value: '2026-11-01' },
      end_date: { type: 'DATE', value: '2026-11-01' },
      start_ts: { type: 'TIMESTAMP', value: new Date('2026-11-01T07:00:00Z') },
      end_ts: { type: 'TIMESTAMP', value: new Date('2026-11-02T08:00:00Z') },
      time_zone: { type: 'STRING', value: 'America/Los_Angeles' },
    });
  });
});

function configIn(zone: unknown): string {
  const file = path.join(tempDir('kpis-zone-'), 'daily_kpis_config.json');
  writeFileSync(
    file,
    JSON.stringify({ game: { time_zone: zone, kpis: { daily_user_panel: {}, installs: {}, last_activity: {} } } }),
  );
  return file;
}

describe('the time_zone setting', () => {
  test('defaults to UTC', () => {
    const file = path.join(tempDir('kpis-zone-'), 'daily_kpis_config.json');
    writeFileSync(file, JSON.stringify({ game: { kpis: { daily_user_panel: {} } } }));
    expect(loadEtlConfig(file).timeZone).toBe('UTC');
  });

  test('an unknown zone is a config error naming the file, the field and the zone', () => {
    const file = configIn('Europe/Atlantis');
    expect(() => loadEtlConfig(file)).toThrow(ConfigError);
    expect(() => loadEtlConfig(file)).toThrow(
      new RegExp(
        `${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}[\\s\\S]*time_zone[\\s\\S]*unknown time zone "Europe/Atlantis"`,
      ),
    );
  });
});

describe.each(Object.entries(ZONES))('the ETL on DuckDB in %s', (zone, { changes, events }) => {
  let warehouse: DuckDbWarehouse;
  let job: EtlJob;
  // One user per event, so each event's day reads straight off the panel.
  const rows = events.map(([time], index) => ({
    user_id: `e${String(index).padStart(2, '0')}`,
    time,
    event_name: 'level_start',
  }));
  const expectedDays = new Map(events.map(([, day], index) => [`e${String(index).padStart(2, '0')}`, day]));

  beforeEach(async () => {
    warehouse = await openMemoryWarehouse();
    await insertEvents(warehouse, rows);
    job = loadEtlConfig(configIn(zone));
  });
  afterEach(() => warehouse.close());

  async function build(target: DuckDbWarehouse, start: string, end: string, runId: string): Promise<void> {
    const outcome = await runEtl(etlDeps(target), job, { range: { start, end }, runId, username: 'test' });
    if (outcome.failure) throw outcome.failure;
  }
  const panel = (from: DuckDbWarehouse) =>
    from.query('SELECT user_id, date FROM daily_kpis.daily_user_panel ORDER BY user_id', {}, context);

  test('the 23- and 25-hour days hold exactly their events, and an event at 23:30 local lands on its local day', async () => {
    for (const [index, { day }] of changes.entries()) {
      await build(warehouse, day, day, `change-${index}`);
      const held = (await panel(warehouse)).filter((row) => row.date === day).map((row) => row.user_id);
      expect(held).toEqual([...expectedDays].filter(([, expected]) => expected === day).map(([user]) => user));
    }
    const first = [...expectedDays.values()].sort()[0] as string;
    const last = [...expectedDays.values()].sort().at(-1) as string;
    await build(warehouse, first, last, 'all');
    expect(new Map((await panel(warehouse)).map((row) => [row.user_id, row.date]))).toEqual(expectedDays);
    // installs read the panel: each user's install day is the local day of their one event.
    const installs = await warehouse.query(
      'SELECT user_id, install_date FROM daily_kpis.installs ORDER BY user_id',
      {},
      context,
    );
    expect(new Map(installs.map((row) => [row.user_id, row.install_date]))).toEqual(expectedDays);
  });

  test('a backfill across the change, one day at a time from the last, converges on the one-run tables', async () => {
    const dump = async (from: DuckDbWarehouse) => ({
      panel: await from.query('SELECT * FROM daily_kpis.daily_user_panel ORDER BY user_id, date', {}, context),
      installs: await from.query('SELECT * FROM daily_kpis.installs ORDER BY user_id', {}, context),
      last_activity: await from.query('SELECT * FROM daily_kpis.last_activity ORDER BY user_id', {}, context),
    });
    for (const { day } of changes) {
      const start = addDays(day, -1);
      const end = addDays(day, 1);
      const [oneRun, backfilled] = [await openMemoryWarehouse(), await openMemoryWarehouse()];
      try {
        for (const target of [oneRun, backfilled]) await insertEvents(target, rows);
        await build(oneRun, start, end, `range-${day}`);
        for (const [index, one] of [end, day, start, day].entries())
          await build(backfilled, one, one, `day-${day}-${index}`);
        const built = await dump(oneRun);
        expect(built.panel.length).toBeGreaterThan(0);
        expect(await dump(backfilled)).toEqual(built);
      } finally {
        await Promise.all([oneRun.close(), backfilled.close()]);
      }
    }
  });
});
