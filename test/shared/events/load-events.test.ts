/** Loading event files into the real DuckDB source table. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configuredSource, loadEvents } from '../../../shared/events/load-events';
import { sourceTable } from '../../../shared/schema';
import { InputFileError } from '../../../shared/errors';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { bigQueryWithEvents } from '../../helpers/bigquery';
import { context, job, openMemoryWarehouse, SOURCE } from '../../helpers/warehouse';

const folder = mkdtempSync(path.join(tmpdir(), 'kpis-events-'));
const file = (name: string, text: string): string => {
  const target = path.join(folder, name);
  writeFileSync(target, text);
  return target;
};

let warehouse: DuckDbWarehouse;
beforeEach(async () => {
  warehouse = await openMemoryWarehouse();
});
afterEach(() => warehouse.close());

const countEvents = async () => (await warehouse.query('SELECT COUNT(*) AS n FROM gamepltx.fact', {}, context))[0]?.n;

test('CSV and JSON lines append to the source table, creating it when missing', async () => {
  const csv = file(
    'a.csv',
    'user_id,time,event_name,coins_added,platform\nu1,2026-11-20 10:00:00,purchase,100,IOS\nu2,2026-11-20T11:00:00Z,,,\n',
  );
  expect(await loadEvents(warehouse, SOURCE, csv, context)).toEqual({
    file: csv,
    format: 'csv',
    table: 'gamepltx.fact',
    rows: 2,
    sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
  const jsonl = file('b.jsonl', '{"user_id":"u3","time":"2026-11-21T00:00:00Z","coins_added":-5,"country":"India"}\n');
  await loadEvents(warehouse, SOURCE, jsonl, context);
  expect(await warehouse.query('SELECT * FROM gamepltx.fact ORDER BY time', {}, context)).toEqual([
    {
      user_id: 'u1',
      time: '2026-11-20T10:00:00.000Z',
      event_name: 'purchase',
      coins_added: 100,
      platform: 'IOS',
      country: null,
    },
    {
      user_id: 'u2',
      time: '2026-11-20T11:00:00.000Z',
      event_name: null,
      coins_added: null,
      platform: null,
      country: null,
    },
    {
      user_id: 'u3',
      time: '2026-11-21T00:00:00.000Z',
      event_name: null,
      coins_added: -5,
      platform: null,
      country: 'India',
    },
  ]);
});

test('a malformed file loads nothing, not even its good lines', async () => {
  await loadEvents(warehouse, SOURCE, file('ok.csv', 'user_id,time\nu1,2026-11-20\n'), context);
  const bad = file('bad.csv', 'user_id,time\nu2,2026-11-20\nu3,2026-13-01\n');
  await expect(loadEvents(warehouse, SOURCE, bad, context)).rejects.toThrow(
    `${bad}:3: column 2: time: expected a timestamp`,
  );
  expect(await countEvents()).toBe(1);
});

test('Parquet is cast to the table types; a file missing a required column loads nothing', async () => {
  const parquet = path.join(folder, 'events.parquet');
  await warehouse.query(
    `COPY (SELECT 'u' || i AS user_id, TIMESTAMP '2026-11-20 00:00:00' + INTERVAL (i) HOUR AS time, 'purchase' AS event_name, i AS coins_added FROM range(3) t(i)) TO '${parquet}' (FORMAT parquet)`,
    {},
    context,
  );
  expect(await loadEvents(warehouse, SOURCE, parquet, context)).toMatchObject({ format: 'parquet', rows: 3 });
  expect(
    await warehouse.query('SELECT user_id, time, coins_added FROM gamepltx.fact ORDER BY time LIMIT 1', {}, context),
  ).toEqual([{ user_id: 'u0', time: '2026-11-20T00:00:00.000Z', coins_added: 0 }]);
  const noTime = path.join(folder, 'no-time.parquet');
  await warehouse.query(`COPY (SELECT 'u9' AS user_id) TO '${noTime}' (FORMAT parquet)`, {}, context);
  await expect(loadEvents(warehouse, SOURCE, noTime, context)).rejects.toThrow(
    `${noTime}: missing required column(s) time`,
  );
  const notParquet = file('fake.parquet', 'user_id,time\n');
  await expect(loadEvents(warehouse, SOURCE, notParquet, context)).rejects.toBeInstanceOf(InputFileError);
  expect(await countEvents()).toBe(3);
});

test('the target is the config source, or --table', () => {
  expect(configuredSource(job)).toMatchObject({ dataset: 'gamepltx', table: 'fact' });
  expect(configuredSource(job, 'raw.events')).toMatchObject({ dataset: 'raw', table: 'events' });
  expect(() => configuredSource(job, 'events')).toThrow('--table must be DATASET.TABLE');
});

test('microseconds in an event file are kept, and rows land in time order', async () => {
  const csv = file('micros.csv', 'user_id,time\nu2,2026-11-20 10:00:00.000002\nu1,2026-11-20 10:00:00.000001\n');
  await loadEvents(warehouse, SOURCE, csv, context);
  expect(await warehouse.query('SELECT user_id, time FROM gamepltx.fact', {}, context)).toEqual([
    { user_id: 'u1', time: '2026-11-20T10:00:00.000001Z' },
    { user_id: 'u2', time: '2026-11-20T10:00:00.000002Z' },
  ]);
});

test('a file of the same content is refused the second time, under any name, unless forced; another table takes it', async () => {
  const first = file('day1.csv', 'user_id,time\nu1,2026-11-20 10:00:00\n');
  const copy = file('day1-again.csv', 'user_id,time\nu1,2026-11-20 10:00:00\n');
  const loaded = await loadEvents(warehouse, SOURCE, first, context);
  await expect(loadEvents(warehouse, SOURCE, copy, context)).rejects.toThrow(
    `${copy}: a file with the same content was loaded into gamepltx.fact on `,
  );
  await expect(loadEvents(warehouse, SOURCE, copy, context)).rejects.toThrow(
    'loading it again would count its events twice (use --force to load it anyway)',
  );
  expect(await warehouse.query('SELECT COUNT(*) AS n FROM gamepltx.fact', {}, context)).toEqual([{ n: 1 }]);
  await loadEvents(warehouse, SOURCE, copy, context, { force: true });
  await loadEvents(warehouse, sourceTable('raw', 'events'), copy, context);
  expect(await warehouse.query('SELECT COUNT(*) AS n FROM gamepltx.fact', {}, context)).toEqual([{ n: 2 }]);
  const logged = await warehouse.query(
    "SELECT file_name, message FROM logs.daily_logs WHERE job_name = 'load_events' ORDER BY ts, message",
    {},
    context,
  );
  expect(logged).toContainEqual({ file_name: 'day1.csv', message: `sha256:${loaded.sha256} into gamepltx.fact` });
  expect(logged).toContainEqual({ file_name: 'day1-again.csv', message: `sha256:${loaded.sha256} into raw.events` });
});

describe('a user id or event name beyond 256 characters refuses the file, naming line and column, on every format', () => {
  const long = 'x'.repeat(257);
  const huge = 'y'.repeat(1_000_000);
  test.each([
    [
      'CSV (the engine reader hands it over)',
      'long.csv',
      `user_id,time,event_name\nu1,2026-11-20,ok\nu2,2026-11-20,${long}\n`,
      ':3: column 3: event_name: longer than 256 characters',
    ],
    [
      'CSV, quoted',
      'quoted.csv',
      `time,user_id\n"2026-11-20","${long}"\n`,
      ':2: column 2: user_id: longer than 256 characters',
    ],
    [
      'CSV, a 1 MB name (never held whole)',
      'huge.csv',
      `user_id,time,event_name\nu1,2026-11-20,${huge}\n`,
      ':2: column 3: event_name: longer than 256 characters',
    ],
    [
      'JSON lines',
      'long.jsonl',
      `{"user_id":"u1","time":"2026-11-20"}\n{"user_id":"u1","time":"2026-11-20","event_name":"${long}"}\n`,
      ':2: column 37: event_name: longer than 256 characters',
    ],
    [
      'JSON lines, a 1 MB name (never held whole)',
      'huge.jsonl',
      `{"user_id":"${huge}","time":"2026-11-20"}\n`,
      ':1: column 2: user_id: longer than 256 characters',
    ],
  ])('%s', async (_name, name, text, message) => {
    const target = file(name, text);
    await expect(loadEvents(warehouse, SOURCE, target, context)).rejects.toThrow(`${target}${message}`);
    expect(
      await warehouse.query("SELECT COUNT(*) AS n FROM duckdb_tables() WHERE table_name = 'fact'", {}, context),
    ).toEqual([{ n: 1 }]);
    expect(await countEvents()).toBe(0);
  });

  test('Parquet: the row and the column', async () => {
    const parquet = path.join(folder, 'long.parquet');
    await warehouse.query(
      `COPY (SELECT 'u' || i AS user_id, TIMESTAMP '2026-11-20' AS time, CASE WHEN i = 1 THEN repeat('z', 300) END AS event_name FROM range(3) t(i)) TO '${parquet}' (FORMAT parquet)`,
      {},
      context,
    );
    await expect(loadEvents(warehouse, SOURCE, parquet, context)).rejects.toThrow(
      `${parquet}:2: column event_name: event_name: longer than 256 characters`,
    );
    expect(await countEvents()).toBe(0);
  });

  test('256 characters load, counted as Unicode code points (an emoji is one)', async () => {
    const csv = file('limit.csv', `user_id,time,event_name\n${'é'.repeat(256)},2026-11-20,${'😀'.repeat(256)}\n`);
    await expect(loadEvents(warehouse, SOURCE, csv, context)).resolves.toMatchObject({ rows: 1 });
  });
});

test('a file whose header or values the engine does not take plainly still loads, checked as it streams', async () => {
  const csv = file(
    'quoted-values.csv',
    'user_id , "time"\n" u1",2026-11-20 10:00 UTC\n"u2","2026-11-20T11:00:00+01:00"\n',
  );
  await expect(loadEvents(warehouse, SOURCE, csv, context)).resolves.toMatchObject({ rows: 2 });
  expect(await warehouse.query('SELECT user_id, time FROM gamepltx.fact', {}, context)).toEqual([
    { user_id: ' u1', time: '2026-11-20T10:00:00.000Z' },
    { user_id: 'u2', time: '2026-11-20T10:00:00.000Z' },
  ]);
});

describe('on BigQuery', () => {
  test('a checked file streams to one load job of newline-delimited JSON; a bad one runs no job; a second load is refused', async () => {
    const bigquery = await bigQueryWithEvents([]);
    try {
      const target = await bigquery.warehouse();
      const csv = file(
        'bq.csv',
        'user_id,time,event_name,coins_added\nu1,2026-11-20 10:00:00,purchase,100\nu2,2026-11-20T11:00:00+01:00,,\n',
      );
      await expect(loadEvents(target, SOURCE, csv, context)).resolves.toMatchObject({ rows: 2, format: 'csv' });
      const uploads = () => bigquery.fake.requests.filter((r) => r.path.startsWith('/upload/'));
      const upload = uploads().at(-1);
      expect(upload?.text).toContain('"sourceFormat":"NEWLINE_DELIMITED_JSON"');
      expect(upload?.text).toContain(
        '{"user_id":"u2","time":"2026-11-20T10:00:00.000Z","event_name":null,"coins_added":null,"platform":null,"country":null}',
      );
      const before = uploads().length;
      const bad = file('bq-bad.jsonl', `{"user_id":"u3","time":"2026-11-20","event_name":"${'n'.repeat(300)}"}\n`);
      await expect(loadEvents(target, SOURCE, bad, context)).rejects.toThrow(
        `${bad}:1: column 37: event_name: longer than 256 characters`,
      );
      await expect(loadEvents(target, SOURCE, csv, context)).rejects.toThrow(
        'a file with the same content was loaded into gamepltx.fact',
      );
      expect(uploads()).toHaveLength(before);
    } finally {
      await bigquery.fake.stop();
    }
  });
});
