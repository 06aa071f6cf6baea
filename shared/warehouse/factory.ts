/**
 * The one place that turns a warehouse spec into a real client and adapter. Engines are loaded on
 * first use, so a deployed function never loads DuckDB and the CLI on DuckDB never loads BigQuery.
 */
import { settingError } from '../errors';
import type { Logger } from '../log';
import type { Warehouse } from './warehouse';

export const DEFAULT_WAREHOUSE = 'duckdb:.data/warehouse.duckdb';
export const DEFAULT_MAX_BYTES_BILLED = 100 * 1024 ** 3;

export type WarehouseSpec = { engine: 'duckdb'; path: string } | { engine: 'bigquery'; projectId: string };

/** Parses `duckdb:PATH`, `duckdb::memory:` or `bigquery:PROJECT_ID`; errors name `source` (the flag, or the variable it came from). */
export function parseWarehouseSpec(spec: string, source = '--warehouse'): WarehouseSpec {
  const colon = spec.indexOf(':');
  const engine = colon === -1 ? spec : spec.slice(0, colon);
  const target = colon === -1 ? '' : spec.slice(colon + 1);
  if (engine === 'duckdb') return { engine, path: target || DEFAULT_WAREHOUSE.slice('duckdb:'.length) };
  if (engine === 'bigquery' && /^[a-z][a-z0-9.:-]{4,}$/.test(target)) return { engine, projectId: target };
  if (engine === 'bigquery')
    throw settingError(source, `bigquery:PROJECT_ID needs a Google Cloud project id, got ${JSON.stringify(target)}`);
  throw settingError(source, `must be duckdb:PATH or bigquery:PROJECT_ID, got ${JSON.stringify(spec)}`);
}

/** What a BigQuery warehouse is opened with (shared/settings.ts reads them: KPIS_BQ_LOCATION, KPIS_MAX_BYTES_BILLED, KPIS_BQ_API_ENDPOINT). */
export interface BigQuerySettings {
  /** BigQuery dataset and job location. */
  bqLocation: string;
  maxBytesBilled: number;
  /** Another BigQuery endpoint, e.g. a local fake in tests. */
  bqApiEndpoint: string | undefined;
}

export async function openWarehouse(
  spec: WarehouseSpec,
  logger: Logger,
  bigQuery: BigQuerySettings,
): Promise<Warehouse> {
  if (spec.engine === 'duckdb') {
    const { DuckDbWarehouse } = await import('./duckdb');
    return DuckDbWarehouse.open(spec.path);
  }
  const location = bigQuery.bqLocation;
  const client = await createBigQueryClient(spec.projectId, location, bigQuery.bqApiEndpoint);
  const { BigQueryWarehouse } = await import('./bigquery');
  return new BigQueryWarehouse(client, {
    projectId: spec.projectId,
    location,
    maximumBytesBilled: bigQuery.maxBytesBilled,
    logger,
  });
}

/**
 * The BigQuery client. Its own retries are off: BigQueryWarehouse retries with a policy that
 * also covers failed jobs, and knows when a job id may be reused. A custom endpoint (an emulator
 * or a test's fake) gets a fixed token: such servers do not check it, and without one the library
 * would look for credentials on the GCE metadata server.
 */
export async function createBigQueryClient(projectId: string, location: string, apiEndpoint?: string) {
  const { BigQuery } = await import('@google-cloud/bigquery');
  if (!apiEndpoint) return new BigQuery({ projectId, location, autoRetry: false });
  const { OAuth2Client } = await import('google-auth-library');
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: 'local-endpoint', expiry_date: Date.now() + 365 * 86_400_000 });
  return new BigQuery({ projectId, location, autoRetry: false, apiEndpoint, authClient });
}
