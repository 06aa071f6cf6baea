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

/** A command's parsed options, as node:util parseArgs gives them. */
export type Values = Record<string, string | boolean | undefined>;

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
  slackWebhook: (channel?: string) => Promise<string | null>;
  slackChannels?: () => Promise<string[]>;
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

/** The ETL config the flags and environment name. */
export function loadCliJob(flags: CommonFlags, io: Io): EtlJob {
  return loadEtlConfig(configPath('etl', io.env, flags.config));
}

/** Today in the job's zone, before anything opens. */
export function configuredToday(job: EtlJob, io: Io): string {
  return today(clockFromEnv(io.env), job.timeZone);
}

export function createCliLogger(io: Io, verbose: boolean | undefined): Logger {
  // Quiet by default: a person reads stdout; --verbose or KPIS_LOG_LEVEL shows the JSON log lines.
  return createLogger({ level: verbose ? 'DEBUG' : (logLevelFromEnv(io.env) ?? 'WARNING'), write: (line) => io.stderr(`${line}\n`) });
}

/** Loads the config (unless the caller already did) and opens the ports; the caller closes them. */
export async function openRuntime(flags: CommonFlags, io: Io, job: EtlJob = loadCliJob(flags, io)): Promise<Runtime> {
  const clock = clockFromEnv(io.env);
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
