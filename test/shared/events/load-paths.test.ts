/**
 * The two ways a CSV reaches DuckDB agree: the engine's own reader (appendCsvFile, the fast path)
 * takes a file only when the streaming checker (parseCsvEvents) takes it too, with the same values.
 * Cells are drawn from the spellings where the two readers could differ: blanks at the edges,
 * quotes, Unicode blanks, timestamps in every spelling, integers near the limits, text near 256.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { MAX_TEXT_LENGTH, parseCsvEvents } from '../../../shared/events/parse-events';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { sourceTable } from '../../../shared/schema';
import type { Row } from '../../../shared/warehouse/warehouse';
import { tempDir } from '../../helpers/history';
import { context, openMemoryWarehouse, SOURCE } from '../../helpers/warehouse';

/** `npm test`: 150 files; CHAOS_RUNS=10000 (as `npm run chaos` sets it): 2,000. */
const RUNS = Math.max(150, Math.round(Number(process.env.CHAOS_RUNS ?? 150) / 5));
const COLUMNS = ['user_id', 'time', 'event_name', 'coins_added'];
const CHECKED = sourceTable('raw', 'events');

const blank = fc.constantFrom('', ' ', '\t', '\u00a0', '\u2028', '\ufeff', '\x01');
const word = fc.string({
  unit: fc.constantFrom('a', 'Z', '0', '_', 'é', '😀', '"', ',', "'", '\\', ' ', '<', '\u202e'),
  maxLength: 8,
});
const text = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(blank, word, blank).map(([a, b, c]) => `${a}${b}${c}`) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(255, 256, 257)
      .chain((n) => fc.constantFrom('a', 'é', '😀').map((unit) => unit.repeat(n))),
  },
);
const two = (values: string[]) => fc.constantFrom(...values);
const time = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        two(['2026', '0999', '0000', '1970', '9999', '202']),
        two(['01', '02', '12', '13', '00', '1']),
        two(['01', '28', '29', '30', '31', '00']),
        fc.option(
          fc.tuple(
            two(['T', ' ', 't', '  ']),
            two(['00', '09', '23', '24']),
            two(['00', '59', '60']),
            fc.option(fc.tuple(two(['00', '59', '60']), fc.option(fc.stringMatching(/^\d{1,10}$/), { nil: '' })), {
              nil: null,
            }),
          ),
          { nil: null },
        ),
        two([
          '',
          '',
          'Z',
          'z',
          ' UTC',
          'UTC',
          'utc',
          ' Z',
          '+02',
          '+0200',
          '+02:00',
          '-14:00',
          '+15:00',
          '+02:0',
          '+2',
          '-00:30',
          '+14:59',
          ' +01:00',
        ]),
      )
      .map(([y, m, d, clock, zone]) => {
        const at = clock
          ? `${clock[0]}${clock[1]}:${clock[2]}${clock[3] ? `:${clock[3][0]}${clock[3][1] ? `.${clock[3][1]}` : ''}` : ''}`
          : '';
        return `${y}-${m}-${d}${at}${zone}`;
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        blank,
        two(['2026-11-20 10:00:00', '2026-11-20', 'infinity', 'epoch', '2026-11-20 10:00:00 (BC)', '20261120']),
      )
      .map(([b, t]) => `${b}${t}`),
  },
);
const coins = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  two([
    '',
    '-0',
    '007',
    '1.5',
    '1e3',
    ' 5',
    '+5',
    '123456789012345',
    '-123456789012345',
    '1234567890123456',
    '9007199254740993',
    '0x10',
    '1_000',
    '５',
  ]),
);
const cell = (value: fc.Arbitrary<string>) =>
  fc
    .tuple(value, fc.boolean())
    .map(([v, quoted]) => (quoted || /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v));
/** Mostly plain values, so most files are valid and a hostile cell decides. */
const mostly = (plain: fc.Arbitrary<string>, hostile: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 8, arbitrary: plain }, { weight: 1, arbitrary: hostile });
const plainTime = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2026-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 19).replace('T', ' '));
const row = fc
  .tuple(
    cell(mostly(fc.stringMatching(/^u[0-9a-z]{1,6}$/), text)),
    cell(mostly(plainTime, time)),
    cell(mostly(fc.constantFrom('purchase', 'level_start', ''), text)),
    cell(mostly(fc.constant(''), coins)),
  )
  .map((cells) => cells.join(','));

describe('the engine reader and the streaming checker', () => {
  let warehouse: DuckDbWarehouse;
  const dir = tempDir('kpis-load-paths-');
  beforeAll(async () => {
    warehouse = await openMemoryWarehouse();
    await warehouse.ensureTable(SOURCE);
    await warehouse.ensureTable(CHECKED);
  });
  afterAll(() => warehouse.close());

  const loaded = async (table = 'gamepltx.fact'): Promise<Row[]> =>
    warehouse.query(`SELECT * FROM ${table}`, {}, context);

  test(`${RUNS} generated files: what the engine takes, the checker takes, with the same values`, async () => {
    let taken = 0;
    let refusedByBoth = 0;
    let handedOver = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 3 }), async (lines) => {
        const file = path.join(dir, 'e.csv');
        const content = `${COLUMNS.join(',')}\n${lines.join('\n')}\n`;
        writeFileSync(file, content);
        await warehouse.query('DELETE FROM gamepltx.fact', {}, context);
        let expected: Row[] | undefined;
        try {
          expected = parseCsvEvents(file, content);
        } catch {
          expected = undefined;
        }
        const rows = await warehouse.appendCsvFile(SOURCE, file, COLUMNS, MAX_TEXT_LENGTH, context);
        if (rows === null) {
          if (expected) handedOver += 1;
          else refusedByBoth += 1;
          expect(await loaded()).toEqual([]);
          return;
        }
        taken += 1;
        expect(expected).toBeDefined();
        // The checker's rows, appended as the streaming path appends them.
        await warehouse.query('DELETE FROM raw.events', {}, context);
        await warehouse.appendBatches(
          CHECKED,
          (async function* () {
            yield expected as Row[];
          })(),
          context,
        );
        expect(await loaded()).toEqual(await loaded('raw.events'));
      }),
      { numRuns: RUNS, seed: 20261201 },
    );
    process.stdout.write(
      `engine reader: ${RUNS} files, ${taken} taken (checker agrees), ${refusedByBoth} refused by both, ${handedOver} handed to the checker\n`,
    );
    expect(taken).toBeGreaterThan(RUNS / 10);
  }, 600_000);

  test('a plain file is taken by the engine itself, a quoted value is handed to the checker', async () => {
    const plain = path.join(dir, 'plain.csv');
    writeFileSync(plain, 'time,user_id\n2026-11-20 10:00:00,u1\n2026-11-20T09:00:00.5Z,u2\n');
    expect(await warehouse.appendCsvFile(SOURCE, plain, ['time', 'user_id'], MAX_TEXT_LENGTH, context)).toBe(2);
    const quoted = path.join(dir, 'quoted.csv');
    writeFileSync(quoted, 'time,user_id\n2026-11-20 10:00:00," u1"\n');
    expect(await warehouse.appendCsvFile(SOURCE, quoted, ['time', 'user_id'], MAX_TEXT_LENGTH, context)).toBeNull();
  });
});
