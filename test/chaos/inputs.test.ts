/**
 * Generated input files: event rows as CSV and JSON lines, each row valid or broken in a known
 * way, and config files of every shape. A file with any bad row is refused whole, naming the line
 * (and column) of its first bad row, and loads nothing; a good one loads every row; no input
 * crashes the loader. A config is loaded, or refused with a ConfigError that names the file and
 * where in it. `npm test` generates CHAOS_RUNS / 10 files of each kind (default 15, about 1,000
 * rows); `npm run chaos` (CHAOS_RUNS=10,000) 1,000 files of each format, over 12,000 rows, and
 * 3,001 configs of each kind.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { loadEtlConfig } from '../../shared/config/etl-config';
import { loadKpiChecks } from '../../shared/config/kpi-checks';
import { loadLogChecks } from '../../shared/config/log-checks';
import { ConfigError, InputFileError } from '../../shared/errors';
import { loadEvents } from '../../shared/events/load-events';
import { parseCsvEvents, parseJsonLinesEvents } from '../../shared/events/parse-events';
import type { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import { tempDir } from '../helpers/history';
import { context, openMemoryWarehouse, SOURCE } from '../helpers/warehouse';

const FILES = Math.max(10, Math.round(Number(process.env.CHAOS_RUNS ?? 150) / 10));
const figures: string[] = [];

interface GeneratedRow {
  fields: { user_id: string; time: string; event_name: string | null; coins_added: string | null };
  /** Why the row is bad, or null for a good one. */
  bad: string | null;
}

const text = fc.string({
  unit: fc.constantFrom('a', 'Z', '0', ' ', ',', '"', ';', "'", 'é', '\\', '{', '}'),
  maxLength: 12,
});
const goodTime = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2026-11-27T00:00:00Z'), noInvalidDate: true })
  .map((date) => date.toISOString());
const goodRow: fc.Arbitrary<GeneratedRow> = fc
  .record({
    user_id: fc.string({ unit: fc.constantFrom('u', 'x', '1', '9', '_'), minLength: 1, maxLength: 8 }),
    time: goodTime,
    event_name: fc.option(
      text.filter((name) => name.trim() !== ''),
      { nil: null },
    ),
    coins_added: fc.option(fc.integer({ min: -1000, max: 1_000_000 }).map(String), { nil: null }),
  })
  .map((fields) => ({ fields, bad: null }));
const badRow: fc.Arbitrary<GeneratedRow> = fc
  .tuple(goodRow, fc.constantFrom('no user', 'bad time', 'impossible date', 'fractional coins', 'word coins'))
  .map(([row, kind]) => {
    const fields = { ...row.fields };
    if (kind === 'no user') fields.user_id = '';
    if (kind === 'bad time') fields.time = 'yesterday at noon';
    if (kind === 'impossible date') fields.time = '2026-02-30T10:00:00+01:00';
    if (kind === 'fractional coins') fields.coins_added = '1.5';
    if (kind === 'word coins') fields.coins_added = 'lots';
    return { fields, bad: kind };
  });
const rows = fc.array(fc.oneof({ weight: 9, arbitrary: goodRow }, { weight: 1, arbitrary: badRow }), {
  minLength: 1,
  maxLength: 25,
});

const csvCell = (value: string | null): string =>
  value === null ? '' : /[",\n\r]/.test(value) || value.trim() !== value ? `"${value.replaceAll('"', '""')}"` : value;
const toCsv = (generated: GeneratedRow[]): string =>
  `user_id,time,event_name,coins_added\n${generated.map(({ fields }) => [fields.user_id, fields.time, fields.event_name, fields.coins_added].map(csvCell).join(',')).join('\n')}\n`;
const toJsonLines = (generated: GeneratedRow[]): string =>
  `${generated
    .map(({ fields }) =>
      JSON.stringify({
        ...fields,
        coins_added:
          fields.coins_added === null
            ? null
            : /^-?\d+$/.test(fields.coins_added)
              ? Number(fields.coins_added)
              : fields.coins_added,
      }),
    )
    .join('\n')}\n`;

describe.each([
  ['csv', toCsv, parseCsvEvents, 1],
  ['jsonl', toJsonLines, parseJsonLinesEvents, 0],
] as const)('generated %s files', (format, render, parse, headerLines) => {
  test(`${FILES} files: a good one parses whole, a bad one is refused at its first bad row`, () => {
    let total = 0;
    let refused = 0;
    fc.assert(
      fc.property(rows, (generated) => {
        total += generated.length;
        const file = `e.${format}`;
        const firstBad = generated.findIndex((row) => row.bad !== null);
        if (firstBad === -1) {
          const parsed = parse(file, render(generated));
          expect(parsed).toHaveLength(generated.length);
          expect(parsed.map((row) => row.user_id)).toEqual(generated.map((row) => row.fields.user_id));
          return;
        }
        refused += 1;
        let error: unknown;
        try {
          parse(file, render(generated));
        } catch (thrown) {
          error = thrown;
        }
        expect(error).toBeInstanceOf(InputFileError);
        // The first problem named is the first bad row's line (the header is line 1 of a CSV).
        expect((error as Error).message).toContain(`${file}:${firstBad + 1 + headerLines}: `);
      }),
      { numRuns: FILES, seed: 20261128 },
    );
    figures.push(`${format}: ${FILES} files, ${total} rows, ${refused} files refused, 0 crashes`);
  });
});

describe('loading generated files into DuckDB', () => {
  let warehouse: DuckDbWarehouse;
  beforeAll(async () => {
    warehouse = await openMemoryWarehouse();
  });
  afterAll(() => warehouse.close());

  test('nothing is loaded from a file with any bad row; every row of a good one is', async () => {
    const dir = tempDir('kpis-chaos-files-');
    const count = async () =>
      Number(
        (await warehouse.query('SELECT COUNT(*) AS n FROM gamepltx.fact', {}, context).catch(() => [{ n: 0 }]))[0]?.n ??
          0,
      );
    const samples = fc.sample(fc.tuple(rows, fc.constantFrom('csv', 'jsonl')), {
      numRuns: Math.min(FILES, 40),
      seed: 20261128,
    });
    for (const [index, [generated, format]] of samples.entries()) {
      const file = path.join(dir, `events-${index}.${format}`);
      writeFileSync(file, format === 'csv' ? toCsv(generated) : toJsonLines(generated));
      const before = await count();
      const bad = generated.some((row) => row.bad !== null);
      const load = loadEvents(warehouse, SOURCE, file, context, { force: true });
      if (bad) await expect(load).rejects.toThrow(InputFileError);
      else await expect(load).resolves.toMatchObject({ rows: generated.length });
      expect(await count()).toBe(before + (bad ? 0 : generated.length));
    }
  });
});

describe('generated config files', () => {
  const dir = tempDir('kpis-chaos-configs-');
  const table = fc.record(
    {
      dataset_src: fc.constantFrom('gamepltx', 'x y', ''),
      table_src: fc.constantFrom('fact', 1),
      dataset_dst: fc.constantFrom('daily_kpis', null),
      isEnable: fc.constantFrom(true, 'yes'),
    },
    { requiredKeys: [] },
  );
  const etlConfig = fc.oneof(
    fc.jsonValue(),
    fc.constantFrom('UTC', 'America/Los_Angeles').map((zone) => ({
      my_game: { time_zone: zone, kpis: { daily_user_panel: {}, installs: { isEnable: false }, last_activity: {} } },
    })),
    fc.record({
      daily_kpis: fc.record(
        {
          time_zone: fc.constantFrom('UTC', 'Europe/Berlin', 'Mars/Base', 3),
          kpis: fc.dictionary(
            fc.constantFrom('daily_user_panel', 'installs', 'last_activity', 'coins', 'bad name'),
            table,
          ),
        },
        { requiredKeys: [] },
      ),
    }),
    fc.dictionary(fc.constantFrom('a', 'b', 'daily_kpis'), fc.record({ kpis: fc.jsonValue() })),
  );
  const kpisConfig = fc.oneof(
    fc.jsonValue(),
    fc.record({
      kpis: fc.dictionary(
        fc.constantFrom('dau', 'installs', 'x', 'coins'),
        fc.record(
          {
            thresh_in_percent: fc.constantFrom(0.2, -1, 'a'),
            method: fc.constantFrom('weekday', 'zscore', 'guess'),
            table_id: fc.constantFrom('daily_coins', 'nope'),
            d1: fc.constantFrom('d1'),
          },
          { requiredKeys: [] },
        ),
      ),
    }),
    fc.record({
      g: fc.record({
        kpis: fc.dictionary(
          fc.constantFrom('dau', 'installs'),
          fc.record(
            {
              dataset: fc.constantFrom('daily_kpis'),
              thresh_in_percent: fc.constantFrom(0.1, 'x'),
              d1: fc.constantFrom('a'),
            },
            { requiredKeys: [] },
          ),
        ),
      }),
    }),
  );
  const logConfig = fc.oneof(
    fc.jsonValue(),
    fc.record({
      logs: fc.dictionary(
        fc.constantFrom('etl', 'x'),
        fc.record(
          { thresh_in_hours: fc.constantFrom(26, 0, 'a'), step_name: fc.constantFrom('end', 5) },
          { requiredKeys: [] },
        ),
      ),
    }),
    fc.record({
      g: fc.record({
        alerts: fc.dictionary(
          fc.constantFrom('etl'),
          fc.record(
            {
              thresh_in_hours: fc.constantFrom(26, -1),
              message: fc.constantFrom('', '%x%', 7),
              enable_message: fc.constantFrom(true, 0, 'yes', null),
            },
            { requiredKeys: [] },
          ),
        ),
      }),
    }),
  );

  test.each([
    ['daily_kpis_config.json', etlConfig, (file: string) => loadEtlConfig(file)],
    ['kpis_config.json', kpisConfig, (file: string) => loadKpiChecks(file)],
    ['log_config.json', logConfig, (file: string) => loadLogChecks(file)],
  ] as const)(
    `${FILES * 3 + 1} generated %s files, a third of them not JSON: each loads, or is refused naming the file and where`,
    (name, config, load) => {
      let refused = 0;
      let loaded = 0;
      fc.assert(
        fc.property(
          fc.oneof(
            { weight: 2, arbitrary: config.map((value) => JSON.stringify(value)) },
            { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
          ),
          (content) => {
            const file = path.join(dir, name);
            writeFileSync(file, content);
            try {
              load(file);
              loaded += 1;
            } catch (error) {
              refused += 1;
              expect(error).toBeInstanceOf(ConfigError);
              expect((error as Error).message.startsWith(`${file}: `)).toBe(true);
              expect((error as Error).message).toMatch(/\$|not valid JSON|invalid config/);
            }
          },
        ),
        { numRuns: FILES * 3 + 1, seed: 20261128 },
      );
      figures.push(
        `${name}: ${FILES * 3 + 1} generated, ${loaded} loaded, ${refused} refused with file and path, 0 crashes`,
      );
    },
  );
});

afterAll(() => {
  process.stdout.write(`\ngenerated inputs\n  ${figures.join('\n  ')}\n`);
});
