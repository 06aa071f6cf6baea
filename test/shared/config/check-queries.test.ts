/**
 * `kpis validate`'s checks: every query described by the real DuckDB engine, and by BigQuery's dry
 * run through the real client against the REST fake; problems name the file, the entry, and the
 * SQL file with line and column.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkQueries, describeProblems } from '../../../shared/config/check-queries';
import { loadEtlConfig } from '../../../shared/config/etl-config';
import { loadKpiChecks } from '../../../shared/config/kpi-checks';
import { BigQueryWarehouse } from '../../../shared/warehouse/bigquery';
import { createBigQueryClient } from '../../../shared/warehouse/factory';
import { BigQueryFake } from '../../fakes/bigquery-fake';
import { tempDir } from '../../helpers/history';
import { appendEvents } from '../../../shared/events/load-events';
import { context, openMemoryWarehouse, SOURCE } from '../../helpers/warehouse';

/** A config folder: the built-in panel, one user table and one check, from the given SQL. */
function configs(tableSql: string, schema: Record<string, string>, checkSql?: string) {
  const dir = tempDir('kpis-validate-');
  mkdirSync(path.join(dir, 'custom'), { recursive: true });
  writeFileSync(path.join(dir, 'custom', 'totals.sql'), tableSql);
  const etl = path.join(dir, 'daily_kpis_config.json');
  writeFileSync(
    etl,
    JSON.stringify({
      game: { kpis: { daily_user_panel: {}, totals: { sql: 'custom/totals.sql', strategy: 'replace_days', schema } } },
    }),
  );
  const kpis = path.join(dir, 'kpis_config.json');
  const check =
    checkSql === undefined
      ? { dataset: 'daily_kpis', table_id: 'totals', date_column: 'date', value: 'SUM(events)' }
      : { sql: 'custom/check.sql' };
  if (checkSql !== undefined) writeFileSync(path.join(dir, 'custom', 'check.sql'), checkSql);
  writeFileSync(kpis, JSON.stringify({ kpis: { totals_check: check } }));
  return { job: loadEtlConfig(etl), kpis: { file: kpis, checks: loadKpiChecks(kpis) }, etl };
}

const GOOD =
  'SELECT\n  DATE(time) AS date,\n  COUNT(*) AS events\nFROM {{source}}\nWHERE time >= @start_ts AND time < @end_ts\nGROUP BY DATE(time)\n';

describe('on DuckDB', () => {
  test('valid queries: no problem, no byte estimate', async () => {
    const warehouse = await openMemoryWarehouse();
    try {
      await appendEvents(warehouse, SOURCE, [], context);
      const { job, kpis } = configs(GOOD, { date: 'DATE', events: 'INT64' });
      const results = await checkQueries(warehouse, job, kpis, context);
      expect(results.map((r) => [r.kind, r.entry, r.problems])).toEqual([
        ['table', '$.kpis.daily_user_panel', []],
        ['table', '$.kpis.totals', []],
        ['check', '$.kpis.totals_check', []],
      ]);
    } finally {
      await warehouse.close();
    }
  });

  test.each([
    [
      'a syntax error',
      'SELECT\n  DATE(time) AS date,\n  COUNT(*) AS events\nFROM {{source}}\nWHER time >= @start_ts\n',
      { date: 'DATE', events: 'INT64' },
      /custom\/totals\.sql:5:6\): DuckDB rejected the query: .*Parser Error: syntax error at or near "time"/,
    ],
    [
      'an unknown column after a placeholder',
      'SELECT DATE(time) AS date, COUNT(*) AS events\nFROM {{source}} WHERE coinz > 0\nGROUP BY 1\n',
      { date: 'DATE', events: 'INT64' },
      /custom\/totals\.sql:2:23\): DuckDB rejected the query: .*Binder Error: Referenced column "coinz" not found/,
    ],
    [
      'columns other than the schema',
      GOOD,
      { date: 'DATE', events: 'INT64', coins: 'INT64' },
      /custom\/totals\.sql\): returns the columns \(date, events\) but its schema says \(date, events, coins\), in that order/,
    ],
    [
      'a column of another type',
      GOOD.replace('COUNT(*) AS events', 'CAST(COUNT(*) AS STRING) AS events'),
      { date: 'DATE', events: 'INT64' },
      /custom\/totals\.sql\): column events is STRING, but its schema says INT64/,
    ],
  ])('%s is named with the config file, the entry and the SQL file', async (_name, sql, schema, message) => {
    const warehouse = await openMemoryWarehouse();
    try {
      await appendEvents(warehouse, SOURCE, [], context);
      const { job, kpis, etl } = configs(sql, schema);
      const problems = describeProblems(await checkQueries(warehouse, job, kpis, context));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        new RegExp(`^${etl.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\$\\.kpis\\.totals \\(`),
      );
      expect(problems[0]).toMatch(message);
    } finally {
      await warehouse.close();
    }
  });

  test.each([
    [
      'a segment that is no string',
      'SELECT date AS day, 1 AS segment, COUNT(*) AS value\nFROM {{daily_kpis.totals}}\nGROUP BY date\n',
      'segment must be a STRING, it is INT64: CAST it AS STRING',
    ],
    [
      'a day that is no DATE',
      'SELECT CAST(date AS STRING) AS day, COUNT(*) AS value\nFROM {{daily_kpis.totals}}\nGROUP BY 1\n',
      'day must be a DATE, it is STRING',
    ],
    [
      'a missing value column',
      'SELECT date AS day, COUNT(*) AS n\nFROM {{daily_kpis.totals}}\nGROUP BY date\n',
      'must return the columns day, value (or numerator and denominator) and optionally segment; it returns day, n',
    ],
    [
      'a numerator without its denominator (a ratio check)',
      'SELECT date AS day, COUNT(*) AS numerator\nFROM {{daily_kpis.totals}}\nGROUP BY date\n',
      'must return the columns day, value (or numerator and denominator) and optionally segment; it returns day, numerator',
    ],
    [
      'a denominator that is no number',
      'SELECT date AS day, COUNT(*) AS numerator, CAST(COUNT(*) AS STRING) AS denominator\nFROM {{daily_kpis.totals}}\nGROUP BY date\n',
      'denominator must be a number (INT64, FLOAT64 or NUMERIC), it is STRING',
    ],
  ])('a check query with %s', async (_name, checkSql, message) => {
    const warehouse = await openMemoryWarehouse();
    try {
      await appendEvents(warehouse, SOURCE, [], context);
      const { job, kpis } = configs(GOOD, { date: 'DATE', events: 'INT64' }, checkSql);
      const problems = describeProblems(await checkQueries(warehouse, job, kpis, context));
      expect(problems).toEqual([`${kpis.file}: $.kpis.totals_check (custom/check.sql): ${message}`]);
    } finally {
      await warehouse.close();
    }
  });

  test('a ratio check (day, numerator, denominator, segment) is valid', async () => {
    const warehouse = await openMemoryWarehouse();
    try {
      await appendEvents(warehouse, SOURCE, [], context);
      const ratio =
        "SELECT date AS day, 'all' AS segment, SUM(events) AS numerator, COUNT(*) AS denominator\nFROM {{daily_kpis.totals}}\nGROUP BY date\n";
      const { job, kpis } = configs(GOOD, { date: 'DATE', events: 'INT64' }, ratio);
      expect(describeProblems(await checkQueries(warehouse, job, kpis, context))).toEqual([]);
    } finally {
      await warehouse.close();
    }
  });
});

describe('on BigQuery (the REST fake)', () => {
  let fake: BigQueryFake;
  beforeEach(async () => {
    fake = await new BigQueryFake().start();
  });
  afterEach(() => fake.stop());

  test('every query is dry-run: what it would read, its schema compared, nothing run', async () => {
    fake.bytesProcessed = 5 * 1024 ** 2;
    // By each query's SQL file: the short-form check, the built-in panel, and custom/totals.sql.
    fake.results = (_sql, labels) =>
      labels.sql_file === 'the_short_form'
        ? {
            fields: [
              { name: 'day', type: 'DATE' },
              { name: 'value', type: 'INTEGER' },
            ],
            rows: [],
          }
        : labels.sql_file === 'etl-daily_user_panel'
          ? {
              fields: [
                { name: 'user_id', type: 'STRING' },
                { name: 'date', type: 'DATE' },
                { name: 'total_events', type: 'INTEGER' },
                { name: 'total_coins_added', type: 'INTEGER' },
              ],
              rows: [],
            }
          : {
              fields: [
                { name: 'date', type: 'DATE' },
                { name: 'events', type: 'FLOAT' },
              ],
              rows: [],
            };
    const warehouse = new BigQueryWarehouse(await createBigQueryClient('demo-project', 'US', fake.url), {
      projectId: 'demo-project',
      location: 'US',
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const { job, kpis, etl } = configs(GOOD, { date: 'DATE', events: 'INT64' });
    const results = await checkQueries(warehouse, job, kpis, context);
    expect(results.map((r) => r.bytes_processed)).toEqual([5 * 1024 ** 2, 5 * 1024 ** 2, 5 * 1024 ** 2]);
    expect(describeProblems(results)).toEqual([
      `${etl}: $.kpis.totals (custom/totals.sql): column events is FLOAT64, but its schema says INT64`,
    ]);
    expect(
      fake
        .jobInserts()
        .every((request) => (request.body as { configuration: { dryRun?: boolean } }).configuration.dryRun === true),
    ).toBe(true);
    expect(fake.executed).toEqual([]);
    const sent = fake
      .jobInserts()
      .map((request) => (request.body as { configuration: { query: { query: string } } }).configuration.query.query);
    expect(sent[1]).toContain('FROM `demo-project.gamepltx.fact`');
  });

  test("BigQuery's error position is mapped back to the SQL file's line and column", async () => {
    fake.insertBehaviours = [{ kind: 'http-error', status: 400, reason: 'invalidQuery' }];
    fake.errorMessage = 'Syntax error: Unexpected identifier "WHER" at [5:1]';
    const warehouse = new BigQueryWarehouse(await createBigQueryClient('demo-project', 'US', fake.url), {
      projectId: 'demo-project',
      location: 'US',
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const { job, kpis, etl } = configs(GOOD, { date: 'DATE', events: 'INT64' });
    const results = await checkQueries(
      warehouse,
      { ...job, tables: job.tables.filter((t) => t.name === 'totals') },
      { ...kpis, checks: [] },
      context,
    );
    expect(describeProblems(results)).toEqual([
      `${etl}: $.kpis.totals (custom/totals.sql:5:1): BigQuery rejected the query: Syntax error: Unexpected identifier "WHER" at [5:1]`,
    ]);
  });
});
