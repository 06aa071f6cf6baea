/** The DuckDB adapter and its BigQuery compatibility layer, on the real engine. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RUN_LOG_TABLE } from '../../../shared/schema';
import { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { configuredTable, context, openMemoryWarehouse } from '../../helpers/warehouse';

let warehouse: DuckDbWarehouse;
beforeEach(async () => {
  warehouse = await openMemoryWarehouse();
});
afterEach(() => warehouse.close());

describe('DuckDbWarehouse', () => {
  test('runs BigQuery spellings: @params, FLOAT64, INT64, STRING, SAFE_DIVIDE, COUNTIF, DATE(ts)', async () => {
    const rows = await warehouse.query(
      `SELECT
         CAST(@n AS FLOAT64) / 4 AS quarter,
         CAST(@n AS INT64) AS whole,
         CAST(@n AS STRING) AS text,
         SAFE_DIVIDE(1, 0) AS by_zero,
         SAFE_DIVIDE(@n, 2) AS half,
         COUNTIF(x > 1) AS over_one,
         DATE(@ts) AS day,
         '@n stays text' AS literal
       FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3)`,
      { n: { type: 'INT64', value: 10 }, ts: { type: 'TIMESTAMP', value: new Date('2026-11-20T23:30:00Z') } },
      context,
    );
    expect(rows).toEqual([
      {
        quarter: 2.5,
        whole: 10,
        text: '10',
        by_zero: null,
        half: 5,
        over_one: 2,
        day: '2026-11-20',
        literal: '@n stays text',
      },
    ]);
  });

  test('returns dates as YYYY-MM-DD, timestamps as ISO strings, integers as numbers, NULLs as null', async () => {
    const rows = await warehouse.query(
      "SELECT DATE '2026-11-20' AS d, TIMESTAMP '2026-11-20 10:00:00.123' AS ts, COUNT(*) AS n, SUM(2) AS s, CAST(NULL AS DATE) AS nothing, @flag AS flag, @text AS text",
      { flag: { type: 'BOOL', value: true }, text: { type: 'STRING', value: null } },
      context,
    );
    expect(rows).toEqual([
      { d: '2026-11-20', ts: '2026-11-20T10:00:00.123Z', n: 1, s: 2, nothing: null, flag: true, text: null },
    ]);
  });

  test('a parameter without a value is refused', async () => {
    await expect(warehouse.query('SELECT @missing', {}, context)).rejects.toThrow(
      'query parameter @missing has no value',
    );
  });

  test('creates schemas and tables idempotently, with NOT NULL and column comments', async () => {
    for (let i = 0; i < 2; i += 1) await warehouse.ensureTable(configuredTable('installs'));
    const columns = await warehouse.query(
      "SELECT column_name, data_type, is_nullable, comment FROM duckdb_columns() WHERE schema_name = 'daily_kpis' AND table_name = 'installs' ORDER BY column_index",
      {},
      context,
    );
    expect(columns).toEqual([
      { column_name: 'user_id', data_type: 'VARCHAR', is_nullable: false, comment: 'App user id.' },
      { column_name: 'install_date', data_type: 'DATE', is_nullable: false, comment: 'First day the user was seen.' },
    ]);
  });

  test('an atomic script rolls back every statement when one fails', async () => {
    await warehouse.ensureTable(RUN_LOG_TABLE);
    const insert =
      "INSERT INTO logs.daily_logs (ts, dt, uid, job_name, log_type) VALUES (TIMESTAMP '2026-11-20 00:00:00', DATE '2026-11-20', 'a', 'j', 'start')";
    await expect(
      warehouse.runScript([insert, 'SELECT * FROM no_such_table'], {}, context, { atomic: true }),
    ).rejects.toThrow(/no_such_table/);
    expect(await warehouse.query('SELECT COUNT(*) AS n FROM logs.daily_logs', {}, context)).toEqual([{ n: 0 }]);
    await warehouse.runScript([insert, 'SELECT 1'], {}, context, { atomic: true });
    expect(await warehouse.query('SELECT COUNT(*) AS n FROM logs.daily_logs', {}, context)).toEqual([{ n: 1 }]);
  });

  test("a script's temp tables are gone when it ends, as on BigQuery", async () => {
    await warehouse.runScript(['CREATE TEMP TABLE scratch AS SELECT 1 AS x', 'SELECT * FROM scratch'], {}, context, {
      atomic: true,
    });
    await warehouse.runScript(['CREATE TEMP TABLE scratch AS SELECT 2 AS x'], {}, context, { atomic: false });
    expect(await warehouse.query('SELECT COUNT(*) AS n FROM duckdb_tables() WHERE temporary', {}, context)).toEqual([
      { n: 0 },
    ]);
  });

  test('calls made at once run one after the other, so a transaction never interleaves', async () => {
    await warehouse.ensureTable(RUN_LOG_TABLE);
    const insert = (uid: string) =>
      `INSERT INTO logs.daily_logs (ts, dt, uid, job_name, log_type) VALUES (TIMESTAMP '2026-11-20 00:00:00', DATE '2026-11-20', '${uid}', 'j', 'start')`;
    await Promise.all([
      warehouse.runScript([insert('a'), insert('a')], {}, context, { atomic: true }),
      expect(
        warehouse.runScript([insert('b'), 'SELECT * FROM missing'], {}, context, { atomic: true }),
      ).rejects.toThrow(),
      warehouse.query(insert('c'), {}, context),
    ]);
    expect(
      await warehouse.query('SELECT uid, COUNT(*) AS n FROM logs.daily_logs GROUP BY uid ORDER BY uid', {}, context),
    ).toEqual([
      { uid: 'a', n: 2 },
      { uid: 'c', n: 1 },
    ]);
  });

  test('a warehouse file keeps its tables across opens', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kpis-duckdb-')), 'nested', 'w.duckdb');
    const first = await DuckDbWarehouse.open(file);
    await first.ensureTable(configuredTable('installs'));
    await first.query("INSERT INTO daily_kpis.installs VALUES ('u1', DATE '2026-11-20')", {}, context);
    await first.close();
    const second = await DuckDbWarehouse.open(file);
    try {
      expect(await second.query('SELECT * FROM daily_kpis.installs', {}, context)).toEqual([
        { user_id: 'u1', install_date: '2026-11-20' },
      ]);
      expect(await second.query('SELECT CAST(1 AS FLOAT64) AS f', {}, context)).toEqual([{ f: 1 }]);
    } finally {
      await second.close();
    }
  });
});

describe('closing the DuckDB warehouse', () => {
  test('a call made while close() waits for the running one is refused: it used to start on the closed connection and crash the process', async () => {
    const closing = await openMemoryWarehouse();
    const running = closing.query('SELECT count(*) AS n FROM range(20000000)', {}, context);
    const closed = closing.close();
    const late = closing.query('SELECT 1 AS one', {}, context);
    await expect(late).rejects.toThrow(/^the DuckDB warehouse .* is closed$/);
    expect(await running).toEqual([{ n: 20000000 }]);
    await closed;
    // A second close (a stack closing its ports twice) waits for the same one.
    await closing.close();
  });
});

describe('names from data on the DuckDB adapter', () => {
  test('a column aliased __proto__ or constructor is an own column of the row, not its prototype', async () => {
    const rows = await warehouse.query('SELECT 1 AS "__proto__", 2 AS "constructor", 3 AS plain', {}, context);
    expect(Object.keys(rows[0] as object)).toEqual(['__proto__', 'constructor', 'plain']);
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(rows[0], '__proto__')?.value).toBe(1);
  });

  test('a parameter named after Object.prototype has no value unless given', async () => {
    await expect(warehouse.query('SELECT @toString AS x', {}, context)).rejects.toThrow(
      'query parameter @toString has no value',
    );
    await expect(
      warehouse.query('SELECT @toString AS x', { toString: { type: 'INT64' as const, value: 7 } }, context),
    ).resolves.toEqual([{ x: 7 }]);
  });
});
