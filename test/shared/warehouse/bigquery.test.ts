/**
 * The BigQuery adapter through the real @google-cloud/bigquery client against a local HTTP fake
 * of the REST API: what reaches BigQuery, and how failures are retried.
 */
import { BigQueryWarehouse, sqlFileLabel } from '../../../shared/warehouse/bigquery';
import { createBigQueryClient } from '../../../shared/warehouse/factory';
import { WarehouseError } from '../../../shared/errors';
import { sourceTable } from '../../../shared/schema';
import { configuredTable } from '../../helpers/warehouse';
import { BigQueryFake } from '../../fakes/bigquery-fake';

const PROJECT = 'demo-project';
const context = { job: 'daily_kpis', runId: 'Run-42' };
const FAST_RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

let fake: BigQueryFake;
let warehouse: BigQueryWarehouse;

beforeEach(async () => {
  fake = await new BigQueryFake().start();
  const client = await createBigQueryClient(PROJECT, 'EU', fake.url);
  warehouse = new BigQueryWarehouse(client, {
    projectId: PROJECT,
    location: 'EU',
    maximumBytesBilled: 5_000_000_000,
    retry: FAST_RETRY,
  });
});

afterEach(() => fake.stop());

interface QueryJobBody {
  jobReference: { jobId: string; location: string; projectId: string };
  configuration: {
    labels: Record<string, string>;
    dryRun?: boolean;
    query: {
      query: string;
      useLegacySql: boolean;
      maximumBytesBilled: string;
      parameterMode?: string;
      queryParameters: unknown[];
    };
  };
}

const insertBodies = (): QueryJobBody[] => fake.jobInserts().map((r) => r.body as QueryJobBody);

describe('BigQueryWarehouse', () => {
  test('names tables as backticked project.dataset.table', () => {
    expect(warehouse.tableRef('daily_kpis', 'installs')).toBe('`demo-project.daily_kpis.installs`');
  });

  test.each([
    ['alerts/claim.sql', 'alerts-claim'],
    ['custom/My Coins.v2.SQL', 'custom-my_coins_v2'],
    [`custom/${'deep/'.repeat(20)}retention_by_cohort.sql`, expect.stringMatching(/^[a-z0-9_-]{1,63}$/)],
  ])('labels a job with its SQL file %s, in the label alphabet', async (file, label) => {
    await warehouse.query('SELECT 1', {}, { ...context, sqlFile: file });
    expect(insertBodies()[0]?.configuration.labels).toEqual({ job: 'daily_kpis', run_id: 'run-42', sql_file: label });
  });

  test('a long SQL file path keeps its end, the file name, in the label', () => {
    const label = sqlFileLabel(`custom/${'deep/'.repeat(20)}retention_by_cohort.sql`);
    expect(label.length).toBeLessThanOrEqual(63);
    expect(label.endsWith('-retention_by_cohort')).toBe(true);
  });

  test('sends the query with typed named parameters, labels, location and the byte cap', async () => {
    fake.results = () => ({
      fields: [
        { name: 'dau', type: 'INTEGER' },
        { name: 'day', type: 'DATE' },
      ],
      rows: [[42, '2026-11-20']],
    });
    const rows = await warehouse.query(
      'SELECT COUNT(*) AS dau FROM t WHERE date = @day AND ts < @until AND n > @n',
      {
        day: { type: 'DATE', value: '2026-11-20' },
        until: { type: 'TIMESTAMP', value: new Date('2026-11-21T00:00:00Z') },
        n: { type: 'INT64', value: 3 },
      },
      context,
    );
    expect(rows).toEqual([{ dau: 42, day: '2026-11-20' }]);
    const [body] = insertBodies();
    expect(body?.configuration.query.query).toBe(
      'SELECT COUNT(*) AS dau FROM t WHERE date = @day AND ts < @until AND n > @n',
    );
    expect(body?.configuration.query.useLegacySql).toBe(false);
    expect(body?.configuration.query.parameterMode?.toUpperCase()).toBe('NAMED');
    expect(body?.configuration.query.queryParameters).toEqual([
      { name: 'day', parameterType: { type: 'DATE' }, parameterValue: { value: '2026-11-20' } },
      { name: 'until', parameterType: { type: 'TIMESTAMP' }, parameterValue: { value: '2026-11-21T00:00:00.000Z' } },
      { name: 'n', parameterType: { type: 'INT64' }, parameterValue: { value: '3' } },
    ]);
    expect(body?.configuration.labels).toEqual({ job: 'daily_kpis', run_id: 'run-42' });
    expect(body?.configuration.query.maximumBytesBilled).toBe('5000000000');
    expect(body?.jobReference.location).toBe('EU');
    expect(body?.jobReference.jobId).toMatch(/^kpis_daily_kpis_run_42_read_[0-9a-f]{32}_g0$/);
  });

  test('a read gets a fresh job id every time, so a redelivery asks BigQuery again instead of reading a stale job', async () => {
    fake.results = () => ({ fields: [{ name: 'n', type: 'INTEGER' }], rows: [[fake.executed.length]] });
    const other = new BigQueryWarehouse(await createBigQueryClient(PROJECT, 'EU', fake.url), {
      projectId: PROJECT,
      location: 'EU',
      retry: FAST_RETRY,
    });
    const first = await warehouse.query('-- did the run finish?\nSELECT COUNT(*) AS n FROM logs', {}, context);
    const second = await other.query(
      '-- did the run finish?\nWITH x AS (SELECT 1) SELECT COUNT(*) AS n FROM logs',
      {},
      context,
    );
    const third = await other.query('-- did the run finish?\nSELECT COUNT(*) AS n FROM logs', {}, context);
    const ids = insertBodies().map((b) => b.jobReference.jobId);
    expect(new Set(ids).size).toBe(3);
    expect(fake.executed).toEqual(ids);
    expect([first, second, third]).toEqual([[{ n: 1 }], [{ n: 2 }], [{ n: 3 }]]);
  });

  test('a write job id is deterministic: the same run, SQL and parameters give the same id', async () => {
    const other = new BigQueryWarehouse(await createBigQueryClient(PROJECT, 'EU', fake.url), {
      projectId: PROJECT,
      location: 'EU',
      retry: FAST_RETRY,
    });
    await warehouse.query('INSERT INTO t SELECT 1', {}, context);
    fake.jobs.clear();
    await other.query('INSERT INTO t SELECT 1', {}, context);
    await other.query('INSERT INTO t SELECT 2', {}, context);
    const ids = insertBodies().map((b) => b.jobReference.jobId);
    expect(ids[0]).toMatch(/^kpis_daily_kpis_run_42_[0-9a-f]{16}_g0$/);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  test('a write with a work key keeps its job id when its parameters change: a redelivered script re-attaches', async () => {
    const keyed = { ...context, workKey: 'etl:run-42:2026-11-20..2026-11-20:daily_kpis.installs' };
    await warehouse.runScript(
      ['INSERT INTO log VALUES (@ts)'],
      { ts: { type: 'TIMESTAMP', value: new Date('2026-11-21T06:00:00Z') } },
      keyed,
      { atomic: true },
    );
    const other = new BigQueryWarehouse(await createBigQueryClient(PROJECT, 'EU', fake.url), {
      projectId: PROJECT,
      location: 'EU',
      retry: FAST_RETRY,
    });
    await other.runScript(
      ['INSERT INTO log VALUES (@ts)'],
      { ts: { type: 'TIMESTAMP', value: new Date('2026-11-21T06:05:00Z') } },
      keyed,
      { atomic: true },
    );
    const ids = insertBodies().map((b) => b.jobReference.jobId);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    expect(fake.executed).toEqual([ids[0]]);
  });

  test('a write whose job failed permanently runs under the next id on a later delivery, once its cause is fixed', async () => {
    fake.insertBehaviours = [{ kind: 'job-error', reason: 'invalidQuery', message: 'Table t was not found' }];
    const script = () =>
      warehouse.runScript(['INSERT INTO t SELECT 1'], {}, { ...context, workKey: 'etl:run-42' }, { atomic: true });
    await expect(script()).rejects.toMatchObject({ transient: false });
    // The redelivery, after someone created the table: g0 is a failed job, so the work runs as g1.
    const other = new BigQueryWarehouse(await createBigQueryClient(PROJECT, 'EU', fake.url), {
      projectId: PROJECT,
      location: 'EU',
      retry: FAST_RETRY,
    });
    await other.runScript(['INSERT INTO t SELECT 1'], {}, { ...context, workKey: 'etl:run-42' }, { atomic: true });
    const ids = insertBodies().map((b) => b.jobReference.jobId);
    expect(ids.map((id) => id.slice(-3))).toEqual(['_g0', '_g0', '_g1']);
    expect(fake.executed).toEqual([ids[0], ids[2]]);
  });

  test('runs an atomic script as one multi-statement transaction', async () => {
    await warehouse.runScript(
      ['DELETE FROM t WHERE d = @d', 'INSERT INTO t SELECT 1'],
      { d: { type: 'DATE', value: '2026-11-20' } },
      context,
      { atomic: true },
    );
    const [body] = insertBodies();
    expect(body?.configuration.query.query).toBe(
      'BEGIN TRANSACTION;\n\nDELETE FROM t WHERE d = @d;\n\nINSERT INTO t SELECT 1;\n\nCOMMIT TRANSACTION;\n',
    );
  });

  test('a dry run sets dryRun, runs nothing, and returns the estimated bytes', async () => {
    fake.bytesProcessed = 987_654;
    const result = await warehouse.dryRunScript(['SELECT 1'], {}, context);
    expect(result).toEqual({ bytesProcessed: 987_654 });
    expect(insertBodies()[0]?.configuration.dryRun).toBe(true);
    expect(fake.executed).toEqual([]);
  });

  test('a lost insert response is retried with the same job id and re-attaches instead of running twice', async () => {
    fake.insertBehaviours = [{ kind: 'lose-response' }];
    fake.results = () => ({ fields: [{ name: 'n', type: 'INTEGER' }], rows: [[7]] });
    const rows = await warehouse.query('INSERT INTO t SELECT 7', {}, context);
    expect(rows).toEqual([{ n: 7 }]);
    const ids = insertBodies().map((b) => b.jobReference.jobId);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    expect(fake.executed).toEqual([ids[0]]);
    expect(fake.requests.some((r) => r.method === 'GET' && r.path.endsWith(`/jobs/${ids[0]}`))).toBe(true);
  });

  test('a lost results response re-attaches to the same job, which runs once', async () => {
    fake.resultsFailures = [503];
    fake.results = () => ({ fields: [{ name: 'n', type: 'INTEGER' }], rows: [[1]] });
    expect(await warehouse.query('SELECT 1 AS n', {}, context)).toEqual([{ n: 1 }]);
    const ids = insertBodies().map((b) => b.jobReference.jobId);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    expect(fake.executed).toEqual([ids[0]]);
  });

  test.each([
    ['backendError', 'Backend error, please retry'],
    ['rateLimitExceeded', 'Exceeded rate limits'],
    ['invalidQuery', 'Transaction is aborted due to concurrent update against table t'],
  ])('a job that failed with %s runs again under a new job id', async (reason, message) => {
    fake.insertBehaviours = [{ kind: 'job-error', reason, message }];
    await warehouse.runScript(['MERGE INTO t USING s ON TRUE WHEN MATCHED THEN DELETE'], {}, context, { atomic: true });
    const ids = insertBodies().map((b) => b.jobReference.jobId);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toMatch(/_g0$/);
    expect(ids[1]).toMatch(/_g1$/);
    expect(fake.executed).toEqual(ids);
  });

  test('a transaction aborted by a concurrent one is retried on a longer budget than other transient failures', async () => {
    const aborted = {
      kind: 'job-error',
      reason: 'invalidQuery',
      message: 'Transaction is aborted due to concurrent update against table daily_kpis.installs',
    } as const;
    const patient = new BigQueryWarehouse(await createBigQueryClient(PROJECT, 'EU', fake.url), {
      projectId: PROJECT,
      location: 'EU',
      retry: FAST_RETRY,
      concurrencyRetry: { attempts: 8, baseDelayMs: 1, maxDelayMs: 5 },
    });
    // The other run holds the tables for six tries: more than FAST_RETRY's three allow.
    fake.insertBehaviours = Array.from({ length: 6 }, () => aborted);
    await patient.runScript(
      ['MERGE INTO t USING s ON TRUE WHEN MATCHED THEN DELETE'],
      {},
      { ...context, workKey: 'etl:overlap' },
      { atomic: true },
    );
    expect(fake.executed).toHaveLength(7);
    expect(fake.executed.at(-1)).toMatch(/_g6$/);
    // Other transient failures keep the short budget.
    fake.insertBehaviours = Array.from(
      { length: 6 },
      () => ({ kind: 'job-error', reason: 'backendError', message: 'Backend error' }) as const,
    );
    await expect(
      patient.runScript(['MERGE INTO t USING s ON FALSE WHEN MATCHED THEN DELETE'], {}, context, { atomic: true }),
    ).rejects.toMatchObject({ transient: true });
    expect(fake.executed).toHaveLength(7 + FAST_RETRY.attempts);
  });

  test('HTTP 503 and 429 on insert are retried; the job runs once', async () => {
    fake.insertBehaviours = [
      { kind: 'http-error', status: 503, reason: 'backendError' },
      { kind: 'http-error', status: 429, reason: 'rateLimitExceeded' },
    ];
    await warehouse.query('SELECT 1', {}, context);
    expect(fake.jobInserts()).toHaveLength(3);
    expect(fake.executed).toHaveLength(1);
  });

  test('a permanent error is not retried and surfaces as a non-transient WarehouseError', async () => {
    fake.insertBehaviours = [
      { kind: 'job-error', reason: 'invalidQuery', message: 'Syntax error: Unexpected keyword FROM at [1:8]' },
    ];
    const failure = warehouse.query('SELECT FROM', {}, context);
    await expect(failure).rejects.toBeInstanceOf(WarehouseError);
    await expect(failure).rejects.toMatchObject({ transient: false, message: expect.stringContaining('Syntax error') });
    expect(fake.jobInserts()).toHaveLength(1);
  });

  test('gives up after the bounded number of attempts with a transient error', async () => {
    fake.insertBehaviours = Array.from({ length: 5 }, () => ({
      kind: 'http-error' as const,
      status: 500,
      reason: 'internalError',
    }));
    await expect(warehouse.query('SELECT 1', {}, context)).rejects.toMatchObject({ transient: true });
    expect(fake.jobInserts()).toHaveLength(FAST_RETRY.attempts);
  });

  test('creates datasets and tables through the API with partitioning, clustering and descriptions, once', async () => {
    const table = configuredTable('daily_user_panel');
    for (let i = 0; i < 2; i += 1) {
      await warehouse.ensureDataset('daily_kpis');
      await warehouse.ensureTable(table);
    }
    const creates = fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/tables'));
    expect(creates).toHaveLength(1);
    const datasetCreates = fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/datasets'));
    expect(datasetCreates).toHaveLength(1);
    expect(datasetCreates[0]?.body).toMatchObject({ datasetReference: { datasetId: 'daily_kpis' }, location: 'EU' });
    expect(creates[0]?.body).toMatchObject({
      tableReference: { datasetId: 'daily_kpis', tableId: 'daily_user_panel' },
      description: table.description,
      timePartitioning: { type: 'DAY', field: 'date' },
      clustering: { fields: ['user_id'] },
      schema: {
        fields: table.columns.map((c) => ({
          name: c.name,
          type: c.type,
          mode: 'REQUIRED',
          description: c.description,
        })),
      },
    });
  });

  test('dataset and table calls are retried when transient, and fail clearly when not', async () => {
    fake.metadataFailures = [503, 500];
    await warehouse.ensureDataset('daily_kpis');
    expect(fake.datasets.has('daily_kpis')).toBe(true);
    fake.metadataFailures = [403];
    await expect(warehouse.ensureTable(configuredTable('installs'))).rejects.toMatchObject({
      transient: false,
      message: expect.stringContaining('BigQuery failed on look up table daily_kpis.installs'),
    });
  });

  test('appends rows with one load job of newline-delimited JSON', async () => {
    const table = sourceTable('gamepltx', 'fact');
    const loaded = await warehouse.appendRows(
      table,
      [
        { user_id: 'u1', time: new Date('2026-11-20T10:00:00Z'), event_name: 'purchase', coins_added: 100 },
        { user_id: 'u2', time: new Date('2026-11-20T11:00:00Z'), event_name: null, coins_added: null },
      ],
      context,
    );
    expect(loaded).toBe(2);
    const upload = fake.requests.find((r) => r.path.startsWith('/upload/'));
    expect(upload?.query.get('uploadType')).toBe('multipart');
    expect(upload?.text).toContain('"sourceFormat":"NEWLINE_DELIMITED_JSON"');
    expect(upload?.text).toContain('"writeDisposition":"WRITE_APPEND"');
    expect(upload?.text).toContain(
      '{"user_id":"u1","time":"2026-11-20T10:00:00.000Z","event_name":"purchase","coins_added":100}',
    );
  });
});
