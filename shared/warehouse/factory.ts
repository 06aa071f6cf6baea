/**
 * The one place that turns a warehouse spec into a real client and adapter. Engines are loaded on
 * first use, so a deployed function never loads DuckDB and the CLI on DuckDB never loads BigQuery.
 */
import { envValue } from '../settings';
import { ConfigError, UsageError } from '../errors';
import type { Logger } from '../log';
import type { Warehouse } from './warehouse';

export const DEFAULT_WAREHOUSE = 'duckdb:.data/warehouse.duckdb';
export const DEFAULT_MAX_BYTES_BILLED = 100 * 1024 ** 3;

export type WarehouseSpec = { engine: 'duckdb'; path: string } | { engine: 'bigquery'; projectId: string };

/** Parses `duckdb:PATH`, `duckdb::memory:` or `bigquery:PROJECT_ID`. */
export function parseWarehouseSpec(spec: string): WarehouseSpec {
  const colon = spec.indexOf(':');
  const engine = colon === -1 ? spec : spec.slice(0, colon);
  const target = colon === -1 ? '' : spec.slice(colon + 1);
  if (engine === 'duckdb') return { engine, path: target || DEFAULT_WAREHOUSE.slice('duckdb:'.length) };
  if (engine === 'bigquery' && /^[a-z][a-z0-9.:-]{4,}$/.test(target)) return { engine, projectId: target };
  if (engine === 'bigquery') throw new UsageError(`--warehouse bigquery:PROJECT_ID needs a Google Cloud project id, got ${JSON.stringify(target)}`);
  throw new UsageError(`--warehouse must be duckdb:PATH or bigquery:PROJECT_ID, got ${JSON.stringify(spec)}`);
}

export interface WarehouseEnv {
  KPIS_WAREHOUSE?: string;
  /** BigQuery dataset and job location. */
  KPIS_BQ_LOCATION?: string;
  KPIS_MAX_BYTES_BILLED?: string;
  /** Another BigQuery endpoint, e.g. a local fake in tests. */
  KPIS_BQ_API_ENDPOINT?: string;
}

/** The spec from a flag, else the environment, else the local DuckDB file. */
export function resolveWarehouseSpec(flag: string | undefined, env: WarehouseEnv = process.env): WarehouseSpec {
  // An empty variable counts as unset, as shells and CI configs often leave them.
  return parseWarehouseSpec(flag ?? (env.KPIS_WAREHOUSE || undefined) ?? DEFAULT_WAREHOUSE);
}

export async function openWarehouse(spec: WarehouseSpec, logger: Logger, env: WarehouseEnv = process.env): Promise<Warehouse> {
  if (spec.engine === 'duckdb') {
    const { DuckDbWarehouse } = await import('./duckdb');
    return DuckDbWarehouse.open(spec.path);
  }
  // Empty counts as unset, as for every variable (shared/settings.ts).
  const rawBytes = envValue(env, 'KPIS_MAX_BYTES_BILLED');
  const maxBytes = rawBytes === undefined ? DEFAULT_MAX_BYTES_BILLED : Number(rawBytes);
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new ConfigError(`KPIS_MAX_BYTES_BILLED must be a positive whole number of bytes, got ${JSON.stringify(rawBytes)}`);
  const location = envValue(env, 'KPIS_BQ_LOCATION') ?? 'US';
  const client = await createBigQueryClient(spec.projectId, location, envValue(env, 'KPIS_BQ_API_ENDPOINT'));
  const { BigQueryWarehouse } = await import('./bigquery');
  return new BigQueryWarehouse(client, { projectId: spec.projectId, location, maximumBytesBilled: maxBytes, logger });
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
