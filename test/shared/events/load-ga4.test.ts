/**
 * A GA4 export file into the real DuckDB copy of the export: a file with events the mapping cannot
 * read (no time, no user), or with none at all, replaces no shard. The same contract as the other
 * event formats: the first 20 problems with their line and column, and nothing loaded.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputFileError } from '../../../shared/errors';
import { loadGa4Export } from '../../../shared/events/load-ga4';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { tempDir } from '../../helpers/history';
import { context, openMemoryWarehouse } from '../../helpers/warehouse';

const DATASET = 'analytics_1';
const event = (user: string, minute: number) => ({
  event_date: '20261110',
  event_timestamp: String(Date.parse(`2026-11-10T10:${String(minute).padStart(2, '0')}:00Z`) * 1000),
  event_name: 'level_start',
  user_pseudo_id: user,
});

let warehouse: DuckDbWarehouse;
let dir: string;
beforeEach(async () => {
  warehouse = await openMemoryWarehouse();
  dir = tempDir('kpis-load-ga4-');
  // The day's shard as the export wrote it: three events.
  await loadGa4Export(
    warehouse,
    DATASET,
    write(
      'events_20261110.json',
      [event('p1', 0), event('p2', 1), event('p3', 2)].map((e) => JSON.stringify(e)),
    ),
  );
});
afterEach(() => warehouse.close());

function write(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, lines.map((line) => `${line}\n`).join(''));
  return file;
}

const shardRows = async (table = 'events_20261110') =>
  Number((await warehouse.query(`SELECT COUNT(*) AS n FROM ${DATASET}.${table}`, {}, context))[0]?.n);

test.each([
  [
    'no event_timestamp and no user',
    [{ event_name: 'x' }],
    [
      '1: column event_timestamp: event_timestamp: is required',
      '1: column user_pseudo_id: user_pseudo_id or user_id is required',
    ],
  ],
  [
    'a null user_pseudo_id and no user_id',
    [{ ...event('p1', 5), user_pseudo_id: null }],
    ['1: column 90: user_pseudo_id or user_id is required'],
  ],
  [
    'an event_timestamp that is not microseconds',
    [event('p1', 5), { ...event('p2', 6), event_timestamp: '2026-11-10T10:00:00Z' }],
    ['2: column 26: event_timestamp: expected a whole number of microseconds since 1970, got "2026-11-10T10:00:00Z"'],
  ],
  ['a line that is not an object', [event('p1', 5), ['x']], ['2: column 1: expected one JSON object per line']],
])(
  'a shard file with %s replaces nothing and names each problem with its line and column',
  async (_case, events, problems) => {
    const file = write(
      'events_20261110.json',
      events.map((e) => JSON.stringify(e)),
    );
    const loading = loadGa4Export(warehouse, DATASET, file);
    await expect(loading).rejects.toThrow(InputFileError);
    await expect(loading).rejects.toThrow(
      `${file}: nothing loaded, the file has ${problems.length} problem(s):\n${problems.map((p) => `  ${file}:${p}`).join('\n')}`,
    );
    expect(await shardRows()).toBe(3);
  },
);

test('a line that is not JSON is named with its line and column, among the first 20 problems; the rest are counted', async () => {
  const lines = [
    JSON.stringify(event('p1', 5)),
    '{"event_date": "20261110" "x"}',
    ...Array.from({ length: 24 }, () => '{"event_name":"x","user_id":"u"}'),
  ];
  const file = write('events_20261110.json', lines);
  const error: unknown = await loadGa4Export(warehouse, DATASET, file).catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(InputFileError);
  const listed = (error as Error).message.split('\n');
  expect(listed[0]).toBe(`${file}: nothing loaded, the file has 25 problem(s):`);
  expect(listed[1]).toMatch(new RegExp(`^  ${file}:2: column \\d+: not valid JSON: `));
  expect(listed[2]).toBe(`  ${file}:3: column event_timestamp: event_timestamp: is required`);
  expect(listed).toHaveLength(22);
  expect(listed[21]).toBe('  ... and 5 more problems');
  expect(await shardRows()).toBe(3);
});

test('a file named after no shard needs each event_date, as YYYYMMDD: the line says which is wrong', async () => {
  const file = write('export.json', [
    JSON.stringify(event('p1', 5)),
    JSON.stringify({ ...event('p2', 6), event_date: '2026-11-10' }),
    JSON.stringify({ ...event('p3', 7), event_date: null }),
  ]);
  await expect(loadGa4Export(warehouse, DATASET, file)).rejects.toThrow(
    [
      `${file}: nothing loaded, the file has 2 problem(s):`,
      `  ${file}:2: column 2: event_date: expected YYYYMMDD (the file's name names no shard, so each event goes to its event_date's), got "2026-11-10"`,
      `  ${file}:3: column 2: event_date: expected YYYYMMDD (the file's name names no shard, so each event goes to its event_date's), got null`,
    ].join('\n'),
  );
  expect(await shardRows()).toBe(3);
});

test('an event with user_id only is an event (user_key user_id reads it)', async () => {
  const { user_pseudo_id: _none, ...signedIn } = { ...event('p1', 5), user_id: 'u-1' };
  const result = await loadGa4Export(warehouse, DATASET, write('events_20261110.json', [JSON.stringify(signedIn)]));
  expect(result.tables).toEqual([{ table: 'events_20261110', rows: 1 }]);
});

test.each([
  ['empty', []],
  ['blank lines only', ['', '  ']],
])('an %s file would empty the shard it names: refused, unless forced', async (_case, lines) => {
  const file = write('events_20261110.json', lines);
  const loading = loadGa4Export(warehouse, DATASET, file);
  await expect(loading).rejects.toThrow(InputFileError);
  await expect(loading).rejects.toThrow(
    `no events in ${file}: it would replace shard events_20261110 holding 3 rows; nothing loaded (--force empties the shard)`,
  );
  expect(await shardRows()).toBe(3);
  expect(await loadGa4Export(warehouse, DATASET, file, { force: true })).toMatchObject({
    tables: [{ table: 'events_20261110', rows: 0 }],
    rows: 0,
  });
  expect(await shardRows()).toBe(0);
});

test('an empty file named after a shard not loaded yet, or after none, loads nothing', async () => {
  const newShard = write('events_intraday_20261111.json', []);
  await expect(loadGa4Export(warehouse, DATASET, newShard)).rejects.toThrow(
    `no events in ${newShard}: nothing loaded (--force creates an empty shard events_intraday_20261111)`,
  );
  const unnamed = write('export.json', []);
  await expect(loadGa4Export(warehouse, DATASET, unnamed, { force: true })).rejects.toThrow(
    `no events in ${unnamed}: nothing loaded`,
  );
  const tables = await warehouse.query(
    `SELECT table_name FROM duckdb_tables() WHERE schema_name = '${DATASET}'`,
    {},
    context,
  );
  expect(tables).toEqual([{ table_name: 'events_20261110' }]);
});
