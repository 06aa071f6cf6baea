/** What every command needs, built once from flags and the environment. */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { loadMonitorChecks } from '../shared/config/calendar';
import { loadEtlConfig, type EtlJob } from '../shared/config/etl-config';
import type { KpiCheck } from '../shared/config/kpi-checks';
import { namingSettingFiles } from '../shared/config/validate';
import { dayIn } from '../shared/dates';
import { clockFrom } from '../shared/clock';
import { createLogger, type Logger } from '../shared/log';
import { parseSettings, type Settings } from '../shared/settings';
import type { Publisher } from '../shared/messaging/publisher';
import { openPorts } from '../shared/ports';
import type { WarehouseSpec } from '../shared/warehouse/factory';
import type { Warehouse } from '../shared/warehouse/warehouse';

/** A command's parsed options, as node:util parseArgs gives them. */
export type Values = Record<string, string | boolean | undefined>;

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The settings are parsed from it once per command (cliSettings); secrets named by a variable are read from it. */
  env: NodeJS.ProcessEnv;
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

/**
 * A command's settings: its flags, else io.env's variables, else `defaults` (the command's own),
 * else the declared defaults (shared/settings.ts). A command parses them once, after folding its
 * own forms into flags (a cron line's PROJECT_ID), and passes them on.
 */
export function cliSettings(values: Values, io: Io, defaults?: Partial<Settings>): Settings {
  return parseSettings(values, io.env, defaults);
}

/** The ETL config the settings name. */
export function loadCliJob(settings: Settings): EtlJob {
  return namingSettingFiles(settings, () => loadEtlConfig(settings.etlConfig));
}

/** The KPI checks the settings name, with their calendar entries. */
export function loadCliChecks(settings: Settings): KpiCheck[] {
  return namingSettingFiles(settings, () => loadMonitorChecks(settings.kpisConfig, settings.calendar));
}

/** Today in the job's zone, before anything opens. */
export function configuredToday(job: EtlJob, settings: Settings): string {
  return today(clockFrom(settings.now), job.timeZone);
}

export function createCliLogger(io: Io, settings: Settings, verbose: boolean | undefined): Logger {
  // Quiet by default: a person reads stdout; --verbose or KPIS_LOG_LEVEL shows the JSON log lines.
  return createLogger({
    level: verbose ? 'DEBUG' : (settings.logLevel ?? 'WARNING'),
    write: (line) => io.stderr(`${line}\n`),
  });
}

/** Loads the config (unless the caller already did) and opens the ports; the caller closes them. */
export async function openRuntime(
  settings: Settings,
  io: Io,
  options: { verbose?: boolean; job?: EtlJob } = {},
): Promise<Runtime> {
  const job = options.job ?? loadCliJob(settings);
  const clock = clockFrom(settings.now);
  const logger = createCliLogger(io, settings, options.verbose);
  const ports = await openPorts({ settings, env: io.env, logger, clock });
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
