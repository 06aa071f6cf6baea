/** The ETL use-case on the BigQuery adapter, through the real client against the local REST fake. */
import { runEtl } from '../../../shared/etl/run-etl';
import { silentLogger } from '../../../shared/log';
import { BigQueryWarehouse } from '../../../shared/warehouse/bigquery';
import { createBigQueryClient } from '../../../shared/warehouse/factory';
import { BigQueryFake } from '../../fakes/bigquery-fake';
import { job as shippedBuiltins } from '../../helpers/warehouse';

// The script's own jobs, without the reads before it (restate_days: restate-bigquery.test.ts;
// source_freshness_hours: freshness.test.ts).
const job = { ...shippedBuiltins, restateDays: 0, sourceFreshnessHours: 0 };

let fake: BigQueryFake;
let warehouse: BigQueryWarehouse;

beforeEach(async () => {
  fake = await new BigQueryFake().start();
  warehouse = new BigQueryWarehouse(await createBigQueryClient('demo-project', 'US', fake.url), {
    projectId: 'demo-project',
    location: 'US',
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
  });
});
afterEach(() => fake.stop());

const deps = () => ({ warehouse, clock: () => new Date('2026-11-27T06:00:00Z'), logger: silentLogger });

interface InsertedJob {
  configuration: {
    labels: Record<string, string>;
    query: {
      query: string;
      queryParameters: { name: string; parameterType: { type: string }; parameterValue: { value?: string } }[];
    };
  };
}

test('a run is one transactional script job, with typed parameters and labels, after creating missing tables', async () => {
  const { result } = await runEtl(deps(), job, {
    range: { start: '2026-11-20', end: '2026-11-21' },
    runId: 'evt-123',
    username: 'scheduler',
  });
  expect(result.status).toBe('succeeded');

  expect([...fake.datasets].sort()).toEqual(['daily_kpis', 'logs']);
  expect([...fake.tables.keys()].sort()).toEqual([
    'daily_kpis.daily_user_panel',
    'daily_kpis.installs',
    'daily_kpis.last_activity',
    'logs.daily_logs',
  ]);
  expect(fake.tables.get('logs.daily_logs')).toMatchObject({
    timePartitioning: { type: 'DAY', field: 'dt' },
    clustering: { fields: ['job_name'] },
  });

  const jobs = fake.jobInserts().map((r) => r.body as InsertedJob);
  expect(jobs).toHaveLength(1);
  const [script] = jobs;
  const sql = script?.configuration.query.query ?? '';
  expect(sql.startsWith('BEGIN TRANSACTION;')).toBe(true);
  expect(sql.trimEnd().endsWith('COMMIT TRANSACTION;')).toBe(true);
  expect(sql).toContain('FROM `demo-project.gamepltx.fact`\nWHERE time >= @start_ts\n  AND time < @end_ts');
  expect(sql).toContain('MERGE INTO `demo-project.daily_kpis.installs` AS t');
  expect(sql).toContain('INSERT INTO `demo-project.logs.daily_logs`');
  expect(script?.configuration.labels).toEqual({ job: 'daily_kpis', run_id: 'evt-123', sql_file: 'etl-run' });

  const params = Object.fromEntries(
    (script?.configuration.query.queryParameters ?? []).map((p) => [
      p.name,
      [p.parameterType.type, p.parameterValue.value],
    ]),
  );
  expect(params).toMatchObject({
    start_date: ['DATE', '2026-11-20'],
    end_date: ['DATE', '2026-11-21'],
    start_ts: ['TIMESTAMP', '2026-11-20T00:00:00.000Z'],
    end_ts: ['TIMESTAMP', '2026-11-22T00:00:00.000Z'],
    uid_1: ['STRING', 'evt-123'],
    step_name_1: ['STRING', 'start'],
    step_id_5: ['INT64', '5'],
    log_type_5: ['STRING', 'end'],
  });
});

test('a missing source fails the script twice (once more after ensuring the tables), is not retried further, and leaves start and error rows in their own job', async () => {
  const notFound = {
    kind: 'job-error',
    reason: 'notFound',
    message: 'Not found: Table demo-project:gamepltx.fact',
  } as const;
  fake.insertBehaviours = [notFound, notFound];
  const outcome = await runEtl(deps(), job, {
    range: { start: '2026-11-20', end: '2026-11-20' },
    runId: 'evt-9',
    username: 'scheduler',
  });
  expect(outcome.result).toMatchObject({
    status: 'failed',
    error: expect.stringContaining('Not found: Table demo-project:gamepltx.fact'),
  });
  expect(outcome.failure).toMatchObject({ transient: false });
  // The second try runs under the next job id (the first one failed): three jobs ran in all.
  expect(fake.executed.map((id) => id.slice(-3))).toEqual(['_g0', '_g1', '_g0']);
  const jobs = fake.jobInserts().map((r) => r.body as InsertedJob);
  const logJob = jobs.at(-1)?.configuration.query;
  expect(logJob?.query).toContain('INSERT INTO `demo-project.logs.daily_logs`');
  const values = Object.fromEntries((logJob?.queryParameters ?? []).map((p) => [p.name, p.parameterValue.value]));
  expect(values).toMatchObject({ log_type_1: 'start', log_type_2: 'error', uid_2: 'evt-9' });
});

test('a dry run sends one dryRun job and reports the bytes BigQuery estimates', async () => {
  fake.bytesProcessed = 42 * 1024 ** 2;
  const outcome = await runEtl(deps(), job, {
    range: { start: '2026-11-20', end: '2026-11-20' },
    runId: 'dry',
    username: 'me',
    dryRun: true,
  });
  expect(outcome.result).toMatchObject({ status: 'succeeded', dry_run: true, bytes_processed: 42 * 1024 ** 2 });
  expect(fake.executed).toEqual([]);
  expect(fake.tables.size).toBe(0);
  expect(outcome.script).toContain('BEGIN TRANSACTION;');
});

test("in a business zone, the script's window is the local days' midnights (a 25-hour day here) and the query gets the zone", async () => {
  const { result } = await runEtl(
    deps(),
    { ...job, timeZone: 'Europe/Berlin' },
    { range: { start: '2026-10-25', end: '2026-10-25' }, runId: 'evt-berlin', username: 'scheduler' },
  );
  expect(result.status).toBe('succeeded');
  const [script] = fake.jobInserts().map((r) => r.body as InsertedJob);
  expect(script?.configuration.query.query).toContain('DATE(DATETIME(time, @time_zone)) AS date');
  const params = Object.fromEntries(
    (script?.configuration.query.queryParameters ?? []).map((p) => [
      p.name,
      [p.parameterType.type, p.parameterValue.value],
    ]),
  );
  expect(params).toMatchObject({
    start_date: ['DATE', '2026-10-25'],
    end_date: ['DATE', '2026-10-25'],
    start_ts: ['TIMESTAMP', '2026-10-24T22:00:00.000Z'],
    end_ts: ['TIMESTAMP', '2026-10-25T23:00:00.000Z'],
    time_zone: ['STRING', 'Europe/Berlin'],
  });
});
