/** What every command needs, built once from flags and the environment. */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { loadEtlConfig, type EtlJob } from '../shared/config/etl-config';
import { configPath } from '../shared/config/files';
import { dayIn } from '../shared/dates';
import { clockFromEnv } from '../shared/clock';
import { createLogger, type Logger } from '../shared/log';
import { logLevelFromEnv } from '../shared/settings';
import type { Publisher } from '../shared/messaging/publisher';
import { openPorts } from '../shared/ports';
import type { WarehouseSpec } from '../shared/warehouse/factory';
import type { Warehouse } from '../shared/warehouse/warehouse';
import type { Values } from './command';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export interface CommonFlags {
  warehouse?: string;
  config?: string;
  verbose?: boolean;
}

export interface Runtime {
  warehouse: Warehouse;
  spec: WarehouseSpec;
  publisher: Publisher;
  slackWebhook: () => Promise<string | null>;
  job: EtlJob;
  logger: Logger;
  clock: () => Date;
  newRunId: () => string;
  username: string;
  close(): Promise<void>;
}

/** Today in the business day's zone (the ETL config's time_zone). */
export function today(clock: () => Date, timeZone: string): string {
  return dayIn(clock(), timeZone);
}

/** Today in the zone of the ETL config the flags and environment name, before anything opens. */
export function configuredToday(flags: CommonFlags, io: Io): string {
  return today(clockFromEnv(io.env), loadEtlConfig(configPath('etl', io.env, flags.config)).timeZone);
}

export function createCliLogger(io: Io, verbose: boolean | undefined): Logger {
  // Quiet by default: a person reads stdout; --verbose or KPIS_LOG_LEVEL shows the JSON log lines.
  return createLogger({ level: verbose ? 'DEBUG' : (logLevelFromEnv(io.env) ?? 'WARNING'), write: (line) => io.stderr(`${line}\n`) });
}

/** Loads the config and opens the ports; the caller closes them. */
export async function openRuntime(flags: CommonFlags, io: Io): Promise<Runtime> {
  const clock = clockFromEnv(io.env);
  const job = loadEtlConfig(configPath('etl', io.env, flags.config));
  const logger = createCliLogger(io, flags.verbose);
  const ports = await openPorts({ warehouse: flags.warehouse, env: io.env, logger, clock });
  let username = 'daily-kpis';
  try {
    username = userInfo().username;
  } catch {
    // No passwd entry (some containers): keep the default.
  }
  return { ...ports, job, logger, clock, newRunId: randomUUID, username };
}

export function describeWarehouse(spec: WarehouseSpec): string {
  return spec.engine === 'duckdb' ? `DuckDB ${spec.path}` : `BigQuery project ${spec.projectId}`;
}

/** The functions' environment: the caller's, with the command's flags in place of their variables. */
export function functionEnv(values: Values, io: Io, defaults: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...defaults,
    ...io.env,
    ...(typeof values.warehouse === 'string' ? { KPIS_WAREHOUSE: values.warehouse } : {}),
    ...(typeof values.config === 'string' ? { KPIS_CONFIG: values.config } : {}),
  };
}
