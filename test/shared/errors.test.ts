/**
 * The failure classification of README "Failure classification", row by row, on errors the real
 * adapters raise: transient ones are retried (the function throws), permanent ones acknowledged.
 */
import {
  ConfigError,
  InputFileError,
  InvalidMessageError,
  isTransientFailure,
  PublishError,
  UsageError,
} from '../../shared/errors';
import { BigQueryWarehouse } from '../../shared/warehouse/bigquery';
import { createBigQueryClient } from '../../shared/warehouse/factory';
import { BigQueryFake, type InsertBehaviour } from '../fakes/bigquery-fake';
import { context, openMemoryWarehouse } from '../helpers/warehouse';

describe('BigQuery failures, as the real client raises them against the REST fake', () => {
  let fake: BigQueryFake;
  let warehouse: BigQueryWarehouse;
  beforeEach(async () => {
    fake = await new BigQueryFake().start();
    warehouse = new BigQueryWarehouse(await createBigQueryClient('p', 'US', fake.url), {
      projectId: 'p',
      location: 'US',
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      concurrencyRetry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    });
  });
  afterEach(() => fake.stop());

  test.each<[string, InsertBehaviour, boolean]>([
    ['HTTP 429 rate limit', { kind: 'http-error', status: 429, reason: 'rateLimitExceeded' }, true],
    ['HTTP 500 internal error', { kind: 'http-error', status: 500, reason: 'internalError' }, true],
    ['HTTP 503 backend error', { kind: 'http-error', status: 503, reason: 'backendError' }, true],
    [
      'a job that failed with backendError',
      { kind: 'job-error', reason: 'backendError', message: 'Backend error' },
      true,
    ],
    [
      'a job aborted by a concurrent update',
      {
        kind: 'job-error',
        reason: 'invalidQuery',
        message: 'Transaction is aborted due to concurrent update against table t',
      },
      true,
    ],
    [
      'a SQL syntax error',
      { kind: 'job-error', reason: 'invalidQuery', message: 'Syntax error: Unexpected keyword FROM at [1:8]' },
      false,
    ],
    [
      'a missing table or dataset',
      {
        kind: 'job-error',
        reason: 'notFound',
        message: 'Not found: Table p:gamepltx.fact was not found in location US',
      },
      false,
    ],
    [
      'a schema mismatch',
      {
        kind: 'job-error',
        reason: 'invalidQuery',
        message: 'Query column 2 has type STRING which cannot be inserted into column n, which has type INT64',
      },
      false,
    ],
    ['access denied', { kind: 'http-error', status: 403, reason: 'accessDenied' }, false],
    [
      'a bytes-billed cap exceeded',
      { kind: 'job-error', reason: 'bytesBilledLimitExceeded', message: 'Query exceeded limit for bytes billed' },
      false,
    ],
  ])('%s', async (_name, behaviour, transient) => {
    fake.insertBehaviours = [behaviour];
    const failure = await warehouse.query('INSERT INTO t SELECT 1', {}, context).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).not.toBeNull();
    expect(isTransientFailure(failure)).toBe(transient);
  });
});

describe('DuckDB failures', () => {
  test.each([
    ['a SQL syntax error', 'SELEKT 1'],
    ['a missing table', 'SELECT * FROM gamepltx.nowhere'],
    ['a type error', "SELECT CAST('x' AS INT64)"],
  ])('%s is permanent', async (_name, sql) => {
    const warehouse = await openMemoryWarehouse();
    try {
      const failure = await warehouse.query(sql, {}, context).catch((error: unknown) => error);
      expect(isTransientFailure(failure)).toBe(false);
    } finally {
      await warehouse.close();
    }
  });
});

test.each<[string, unknown, boolean]>([
  [
    'a publish the broker did not take',
    new PublishError('cannot publish to daily-kpis-completed: 14 UNAVAILABLE'),
    true,
  ],
  ['a network failure below any API', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), true],
  ["fetch's network failure", new TypeError('fetch failed'), true],
  ['a config error', new ConfigError('config/kpis_config.json: invalid config'), false],
  ['a bad message', new InvalidMessageError('trigger: dayz_back is not allowed'), false],
  ['a bad flag or date', new UsageError('--date must be a calendar day'), false],
  ['a bad input file', new InputFileError('events.csv:3: column 2: time: not a timestamp'), false],
  ['a programming error', new TypeError("Cannot read properties of undefined (reading 'x')"), false],
])('%s', (_name, error, transient) => {
  expect(isTransientFailure(error)).toBe(transient);
});
