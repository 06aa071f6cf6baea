/**
 * The BigQuery adapter against the REST fake with tables (test/fakes/bigquery-tables.ts): rows
 * round-trip through load jobs and queries, a transaction's writes stay invisible until it
 * commits, and two transactions writing one table conflict as on BigQuery, the later one to commit
 * being aborted and run again by the adapter under a new job id.
 */
import { BigQueryWarehouse } from '../../../shared/warehouse/bigquery';
import { createBigQueryClient } from '../../../shared/warehouse/factory';
import type { TableSchema } from '../../../shared/schema';
import { BigQueryFake } from '../../fakes/bigquery-fake';
import type { FakeTables } from '../../fakes/bigquery-tables';
import { openMemoryWarehouse } from '../../helpers/warehouse';

const PROJECT = 'demo-project';
const context = { job: 'daily_kpis', runId: 'tx-test' };
const FAST = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

const TABLE: TableSchema = {
  dataset: 'kpis_test',
  table: 'every_type',
  description: 'One column of each type the project writes.',
  columns: [
    { name: 's', type: 'STRING', required: true, description: 'text' },
    { name: 'i', type: 'INT64', description: 'integer' },
    { name: 'f', type: 'FLOAT64', description: 'float' },
    { name: 'n', type: 'NUMERIC', description: 'numeric' },
    { name: 'b', type: 'BOOL', description: 'bool' },
    { name: 'd', type: 'DATE', description: 'date' },
    { name: 't', type: 'TIMESTAMP', description: 'timestamp' },
  ],
};
const REF = `\`${PROJECT}.kpis_test.every_type\``;

let fake: BigQueryFake;
let tables: FakeTables;

async function newWarehouse(): Promise<BigQueryWarehouse> {
  return new BigQueryWarehouse(await createBigQueryClient(PROJECT, 'US', fake.url), {
    projectId: PROJECT,
    location: 'US',
    retry: FAST,
    concurrencyRetry: FAST,
  });
}

beforeEach(async () => {
  fake = await new BigQueryFake({ tables: true, projectId: PROJECT }).start();
  tables = fake.tableStore as FakeTables;
  await (await newWarehouse()).ensureTable(TABLE);
});
afterEach(() => fake.stop());

test('rows round-trip: a load job and a script write every type, and a query reads them back as the DuckDB adapter gives them', async () => {
  const warehouse = await newWarehouse();
  await warehouse.appendRows(
    TABLE,
    [{ s: 'loaded', i: 7, f: 1.5, n: 12.25, b: true, d: '2026-11-20', t: new Date('2026-11-20T23:30:00.250Z') }],
    context,
  );
  await warehouse.runScript(
    [`INSERT INTO ${REF} (s, i, f, n, b, d, t) VALUES ('scripted', @i, @f, @n, @b, @d, @t)`],
    {
      i: { type: 'INT64', value: 8 },
      f: { type: 'FLOAT64', value: 2.5 },
      n: { type: 'NUMERIC', value: '0.000000001' },
      b: { type: 'BOOL', value: false },
      d: { type: 'DATE', value: '2026-11-21' },
      t: { type: 'TIMESTAMP', value: new Date('2026-11-21T00:00:00Z') },
    },
    context,
    { atomic: true },
  );
  expect(await warehouse.query(`SELECT * FROM ${REF} ORDER BY s`, {}, context)).toEqual([
    { s: 'loaded', i: 7, f: 1.5, n: 12.25, b: true, d: '2026-11-20', t: '2026-11-20T23:30:00.250Z' },
    { s: 'scripted', i: 8, f: 2.5, n: 1e-9, b: false, d: '2026-11-21', t: '2026-11-21T00:00:00.000Z' },
  ]);
});

test("both adapters report one table's columns in the project's type names, whatever the engine calls them (REST: INTEGER, FLOAT, BOOLEAN; DuckDB: BIGINT, DOUBLE, DECIMAL(38,9))", async () => {
  const declared = TABLE.columns.map(({ name, type }) => ({ name, type }));
  const duckdb = await openMemoryWarehouse();
  try {
    await duckdb.ensureTable(TABLE);
    expect(await duckdb.columnsOf('kpis_test', 'every_type')).toEqual(declared);
    // A query's columns are named as the table's are.
    expect((await duckdb.describeQuery('SELECT * FROM kpis_test.every_type', {})).columns).toEqual(declared);
  } finally {
    await duckdb.close();
  }
  expect(await (await newWarehouse()).columnsOf('kpis_test', 'every_type')).toEqual(declared);
});

test("a transaction's writes are invisible to other jobs until it commits", async () => {
  const writer = await newWarehouse();
  const reader = await newWarehouse();
  const gate = tables.holdNextCommit('kpis_test.every_type');
  const script = writer.runScript(
    [`INSERT INTO ${REF} (s) VALUES ('a')`, `INSERT INTO ${REF} (s) VALUES ('b')`],
    {},
    context,
    { atomic: true },
  );
  await gate.reached;
  expect(await reader.query(`SELECT COUNT(*) AS n FROM ${REF}`, {}, context)).toEqual([{ n: 0 }]);
  gate.release();
  await script;
  expect(await reader.query(`SELECT COUNT(*) AS n FROM ${REF}`, {}, context)).toEqual([{ n: 2 }]);
});

test("two transactions mutating one table: the later to commit is aborted with BigQuery's words, and the adapter runs it again under a new job id", async () => {
  const first = await newWarehouse();
  const second = await newWarehouse();
  const gate = tables.holdNextCommit('kpis_test.every_type');
  // Each deletes rows the other never touches: DuckDB alone would commit both; BigQuery aborts at table level.
  const script = (name: string) => [
    `DELETE FROM ${REF} WHERE s = '${name}'`,
    `INSERT INTO ${REF} (s) VALUES ('${name}')`,
  ];
  const firstRun = first.runScript(script('first'), {}, { ...context, workKey: 'first' }, { atomic: true });
  await gate.reached;
  await second.runScript(script('second'), {}, { ...context, workKey: 'second' }, { atomic: true });
  gate.release();
  await firstRun;
  const failed = [...fake.jobs.values()].filter((job) => job.status.errorResult);
  expect(failed.map((job) => (job.status.errorResult as { message: string }).message)).toEqual([
    `Transaction is aborted due to concurrent update against table ${PROJECT}.kpis_test.every_type.`,
  ]);
  const failedId = failed[0]?.jobReference.jobId as string;
  expect(failedId).toMatch(/_g0$/);
  expect(fake.jobs.get(failedId.replace(/_g0$/, '_g1'))?.status).toEqual({ state: 'DONE' });
  expect(await first.query(`SELECT s FROM ${REF} ORDER BY s`, {}, context)).toEqual([{ s: 'first' }, { s: 'second' }]);
});

test('two transactions that only insert into one table both commit, as on BigQuery', async () => {
  const first = await newWarehouse();
  const gate = tables.holdNextCommit('kpis_test.every_type');
  const firstRun = first.runScript(
    [`INSERT INTO ${REF} (s) VALUES ('first')`],
    {},
    { ...context, workKey: 'first' },
    { atomic: true },
  );
  await gate.reached;
  await (
    await newWarehouse()
  ).runScript([`INSERT INTO ${REF} (s) VALUES ('second')`], {}, { ...context, workKey: 'second' }, { atomic: true });
  gate.release();
  await firstRun;
  expect([...fake.jobs.values()].filter((job) => job.status.errorResult)).toEqual([]);
  expect(await first.query(`SELECT COUNT(*) AS n FROM ${REF}`, {}, context)).toEqual([{ n: 2 }]);
});

test('a script that ends inside its transaction fails and writes nothing; a failing statement rolls back the ones before it', async () => {
  const warehouse = await newWarehouse();
  await expect(
    warehouse.runScript([`BEGIN TRANSACTION`, `INSERT INTO ${REF} (s) VALUES ('open')`], {}, context, {
      atomic: false,
    }),
  ).rejects.toThrow(/not committed or rolled back/);
  await expect(
    warehouse.runScript(
      [`INSERT INTO ${REF} (s) VALUES ('kept?')`, `INSERT INTO ${REF} (s) VALUES (NULL)`],
      {},
      context,
      { atomic: true },
    ),
  ).rejects.toThrow(/NOT NULL/);
  expect(await warehouse.query(`SELECT COUNT(*) AS n FROM ${REF}`, {}, context)).toEqual([{ n: 0 }]);
});
