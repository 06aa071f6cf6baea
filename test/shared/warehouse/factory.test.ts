import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { UsageError } from '../../../shared/errors';
import { silentLogger } from '../../../shared/log';
import { BigQueryWarehouse, isTransientBigQueryError } from '../../../shared/warehouse/bigquery';
import { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import {
  DEFAULT_MAX_BYTES_BILLED,
  openWarehouse,
  parseWarehouseSpec,
  type BigQuerySettings,
} from '../../../shared/warehouse/factory';

const FAKE_ENDPOINT: BigQuerySettings = {
  bqLocation: 'US',
  maxBytesBilled: DEFAULT_MAX_BYTES_BILLED,
  bqApiEndpoint: 'http://127.0.0.1:9',
};

describe('warehouse specs', () => {
  test.each([
    ['duckdb:.data/w.duckdb', { engine: 'duckdb', path: '.data/w.duckdb' }],
    ['duckdb::memory:', { engine: 'duckdb', path: ':memory:' }],
    ['duckdb', { engine: 'duckdb', path: '.data/warehouse.duckdb' }],
    ['bigquery:my-project-123', { engine: 'bigquery', projectId: 'my-project-123' }],
  ])('%s', (spec, expected) => {
    expect(parseWarehouseSpec(spec)).toEqual(expected);
  });

  test.each([
    ['bigquery:', 'needs a Google Cloud project id'],
    ['bigquery:My Project', 'needs a Google Cloud project id'],
    ['sqlite:x.db', '--warehouse must be duckdb:PATH or bigquery:PROJECT_ID, got "sqlite:x.db"'],
  ])('rejects %s', (spec, message) => {
    expect(() => parseWarehouseSpec(spec)).toThrow(UsageError);
    expect(() => parseWarehouseSpec(spec)).toThrow(message);
  });

  // Flag, else KPIS_WAREHOUSE, else the default: test/shared/settings.test.ts.
});

describe('openWarehouse', () => {
  test('builds the adapter the spec names', async () => {
    const duck = await openWarehouse({ engine: 'duckdb', path: ':memory:' }, silentLogger, FAKE_ENDPOINT);
    expect(duck).toBeInstanceOf(DuckDbWarehouse);
    await duck.close();
    const bq = await openWarehouse({ engine: 'bigquery', projectId: 'demo-project' }, silentLogger, FAKE_ENDPOINT);
    expect(bq).toBeInstanceOf(BigQueryWarehouse);
    expect(bq.tableRef('d', 't')).toBe('`demo-project.d.t`');
  });
});

describe('isTransientBigQueryError', () => {
  test.each([
    [{ code: 503, message: 'Service Unavailable' }, true],
    [{ code: 429, message: 'Too Many Requests' }, true],
    [{ code: 400, errors: [{ reason: 'rateLimitExceeded' }] }, true],
    [{ code: 400, errors: [{ reason: 'backendError' }] }, true],
    [
      {
        code: 400,
        errors: [
          { reason: 'invalidQuery', message: 'Transaction is aborted due to concurrent update against table p.d.t' },
        ],
      },
      true,
    ],
    [{ code: 'ECONNRESET', message: 'read ECONNRESET' }, true],
    [{ code: 400, errors: [{ reason: 'invalidQuery', message: 'Syntax error' }] }, false],
    [{ code: 403, errors: [{ reason: 'accessDenied' }] }, false],
    [{ code: 404, errors: [{ reason: 'notFound' }] }, false],
    [new Error('something else'), false],
  ])('%j -> %s', (error, transient) => {
    expect(isTransientBigQueryError(error)).toBe(transient);
  });
});

test('a BigQuery warehouse never loads DuckDB, and a DuckDB one never loads BigQuery', () => {
  const loaded = (spec: string): string[] => {
    const script = `
      const { openWarehouse, parseWarehouseSpec } = require('./dist/shared/warehouse/factory');
      const { silentLogger } = require('./dist/shared/log');
      openWarehouse(parseWarehouseSpec(${JSON.stringify(spec)}), silentLogger, ${JSON.stringify(FAKE_ENDPOINT)})
        .then((w) => w.close())
        .then(() => console.log(JSON.stringify(Object.keys(require.cache))));`;
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: path.resolve(__dirname, '../../..'),
      encoding: 'utf8',
    });
    return JSON.parse(out.trim().split('\n').pop() as string) as string[];
  };
  const onBigQuery = loaded('bigquery:demo-project');
  expect(onBigQuery.some((file) => file.includes('@google-cloud/bigquery'))).toBe(true);
  expect(onBigQuery.some((file) => file.includes('@duckdb'))).toBe(false);
  const onDuckDb = loaded('duckdb::memory:');
  expect(onDuckDb.some((file) => file.includes('@duckdb'))).toBe(true);
  expect(onDuckDb.some((file) => file.includes('@google-cloud/bigquery'))).toBe(false);
});
