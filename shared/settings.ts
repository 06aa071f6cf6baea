/**
 * Every setting of daily-kpis, declared once: its flag (when a command takes one), its environment
 * variable, its default and how its text is read. parseSettings turns a command's flags and an
 * environment into one typed, validated object; the entry points call it once (the CLI's commands
 * through cli/context.ts, the functions through createFunctionRuntime) and everything else
 * receives values. Adding a setting touches one declaration (and the Settings field it fills).
 *
 * One rule for all of them: a flag beats its variable, which beats the default; an empty variable
 * counts as unset (so `VAR=` in a deployment falls back to the default); a bad value is an error
 * naming the flag (UsageError) or the variable (ConfigError) and what it accepts.
 */
import { DEFAULT_CONFIG_FILES } from './config/defaults';
import { settingError } from './errors';
import { parseSeverity, type Severity } from './log';
import { DEFAULT_TOPICS_DIR } from './messaging/publisher';
import { DEFAULT_ROUTER_URL, parseRouterUrl } from './messaging/router-publisher';
import {
  DEFAULT_MAX_BYTES_BILLED,
  DEFAULT_WAREHOUSE,
  parseWarehouseSpec,
  type BigQuerySettings,
  type WarehouseSpec,
} from './warehouse/factory';

/** Where messages go; a `pubsub` spec may name the emulator it reaches (else $PUBSUB_EMULATOR_HOST does). */
export type PublisherSpec =
  | { kind: 'local'; dir: string }
  | { kind: 'router'; url: string }
  | { kind: 'pubsub'; projectId: string; emulatorHost?: string };

/** Where secrets come from: environment variables, or Secret Manager in a project. */
export type SecretsSpec = { kind: 'env' } | { kind: 'secret-manager'; projectId: string };

const DEFAULT_SLACK_SECRET = 'daily-kpis-slack-webhook';

/** The local stack's ports (`kpis serve`): the router's, then each function's. */
export const DEFAULT_PORTS = { router: 8080, etl: 8081, 'kpi-monitor': 8082, 'log-monitor': 8083 } as const;

export interface Settings extends BigQuerySettings {
  /** --warehouse, $KPIS_WAREHOUSE: duckdb:PATH or bigquery:PROJECT_ID. */
  warehouse: WarehouseSpec;
  /** The config files: --config, --kpis-config, --log-config, --calendar, or their variables. */
  etlConfig: string;
  kpisConfig: string;
  logConfig: string;
  calendar: string;
  /** $KPIS_LOG_LEVEL; undefined: the entry point's own default (the CLI WARNING, the functions INFO). */
  logLevel: Severity | undefined;
  /** $KPIS_NOW: the instant the clock starts at (shared/clock.ts); undefined: real time. */
  now: Date | undefined;
  /** Older events are acknowledged without running. */
  maxEventAgeHours: number;
  /** The longest range one trigger, or one report, may cover. */
  maxRangeDays: number;
  pubsubEmulatorHost: string | undefined;
  pubsubProjectId: string;
  topicsDir: string;
  publisher: PublisherSpec;
  secrets: SecretsSpec;
  /** The default Slack webhook's secret name. */
  slackSecret: string;
  /** `kpis publish`'s router. */
  routerUrl: string;
  routerPort: number;
  etlPort: number;
  kpiMonitorPort: number;
  logMonitorPort: number;
  /** The flag or variable each setting given by one came from (absent: a default), for messages. */
  sources: SettingSources;
}

/** The settings that name config files, which a command reads later (errors then say where the name came from). */
export const FILE_SETTINGS = ['etlConfig', 'kpisConfig', 'logConfig', 'calendar'] as const;

/** Where a value came from: `--flag` or `VARIABLE`; errors name it. */
type Source = string;

type SettingName = Exclude<keyof Settings, 'sources'>;
type SettingSources = Readonly<Partial<Record<SettingName, Source>>>;

interface Declaration<T> {
  /** The flag's name without its dashes; only commands that declare it take it. */
  flag?: string;
  env?: string;
  /** The value when neither is given; a function of the settings declared before this one. */
  default: T | ((earlier: Settings) => T);
  /** The value of a flag's or variable's text, or a settingError naming `source`. */
  parse: (raw: string, source: Source, earlier: Settings) => T;
}

const PROJECT_ID = /^[a-z][a-z0-9.:-]{4,}$/;
const SEVERITIES = ['DEBUG', 'INFO', 'WARNING', 'ERROR'];

const text = (raw: string): string => raw;

/**
 * The declarations, in the order they are read: one whose default or parse reads others comes
 * after them (the publisher after the emulator's host, project and the topics folder).
 */
const SETTINGS: { [K in SettingName]: Declaration<Settings[K]> } = {
  warehouse: {
    flag: 'warehouse',
    env: 'KPIS_WAREHOUSE',
    default: parseWarehouseSpec(DEFAULT_WAREHOUSE),
    parse: parseWarehouseSpec,
  },
  bqLocation: { env: 'KPIS_BQ_LOCATION', default: 'US', parse: text },
  maxBytesBilled: { env: 'KPIS_MAX_BYTES_BILLED', default: DEFAULT_MAX_BYTES_BILLED, parse: wholeBytes },
  bqApiEndpoint: { env: 'KPIS_BQ_API_ENDPOINT', default: undefined, parse: text },
  etlConfig: { flag: 'config', env: 'KPIS_CONFIG', default: DEFAULT_CONFIG_FILES.etl, parse: filePath },
  kpisConfig: { flag: 'kpis-config', env: 'KPIS_MONITOR_CONFIG', default: DEFAULT_CONFIG_FILES.kpis, parse: filePath },
  logConfig: { flag: 'log-config', env: 'KPIS_LOG_CONFIG', default: DEFAULT_CONFIG_FILES.logs, parse: filePath },
  calendar: { flag: 'calendar', env: 'KPIS_CALENDAR', default: DEFAULT_CONFIG_FILES.calendar, parse: filePath },
  logLevel: { env: 'KPIS_LOG_LEVEL', default: undefined, parse: logLevel },
  now: { env: 'KPIS_NOW', default: undefined, parse: isoInstant },
  maxEventAgeHours: { env: 'KPIS_MAX_EVENT_AGE_HOURS', default: 24, parse: positiveNumber },
  maxRangeDays: { env: 'KPIS_MAX_RANGE_DAYS', default: 366, parse: positiveNumber },
  pubsubEmulatorHost: { env: 'PUBSUB_EMULATOR_HOST', default: undefined, parse: text },
  pubsubProjectId: { env: 'PUBSUB_PROJECT_ID', default: 'local-project', parse: text },
  topicsDir: { env: 'KPIS_TOPICS_DIR', default: DEFAULT_TOPICS_DIR, parse: text },
  // With an emulator's host and no KPIS_PUBLISHER, messages go to that emulator.
  publisher: { env: 'KPIS_PUBLISHER', default: defaultPublisher, parse: publisherSpec },
  secrets: { env: 'KPIS_SECRETS', default: { kind: 'env' }, parse: secretsSpec },
  slackSecret: { env: 'KPIS_SLACK_SECRET', default: DEFAULT_SLACK_SECRET, parse: text },
  routerUrl: { flag: 'router', env: 'KPIS_ROUTER_URL', default: DEFAULT_ROUTER_URL, parse: parseRouterUrl },
  routerPort: { flag: 'router-port', env: 'KPIS_ROUTER_PORT', default: DEFAULT_PORTS.router, parse: portNumber },
  etlPort: { flag: 'etl-port', env: 'KPIS_ETL_PORT', default: DEFAULT_PORTS.etl, parse: portNumber },
  kpiMonitorPort: {
    flag: 'kpi-monitor-port',
    env: 'KPIS_KPI_MONITOR_PORT',
    default: DEFAULT_PORTS['kpi-monitor'],
    parse: portNumber,
  },
  logMonitorPort: {
    flag: 'log-monitor-port',
    env: 'KPIS_LOG_MONITOR_PORT',
    default: DEFAULT_PORTS['log-monitor'],
    parse: portNumber,
  },
};

/** A command's parsed flags (node:util parseArgs values); only the declared flags are read. */
type SettingFlags = Readonly<Record<string, unknown>>;

/**
 * Every setting from the flags, else the environment, else `defaults` (an entry point's own, such
 * as `kpis start`'s demo calendar), else the declared default.
 */
export function parseSettings(flags: SettingFlags, env: object, defaults: Partial<Settings> = {}): Settings {
  const sources: Partial<Record<SettingName, Source>> = {};
  const settings = { sources } as Record<keyof Settings, unknown>;
  for (const [name, declaration] of Object.entries(SETTINGS) as [SettingName, Declaration<unknown>][]) {
    const source = settingSource(declaration, flags, env);
    if (source !== undefined) sources[name] = source;
    settings[name] = settingValue(name, declaration, source, { flags, env, defaults, earlier: settings as Settings });
  }
  return settings as Settings;
}

/** The flag or variable that gives a setting, if one does: a flag beats its variable; an empty variable is unset. */
function settingSource(declaration: Declaration<unknown>, flags: SettingFlags, env: object): Source | undefined {
  if (declaration.flag !== undefined && typeof flags[declaration.flag] === 'string') return `--${declaration.flag}`;
  if (declaration.env !== undefined && envValue(env, declaration.env) !== undefined) return declaration.env;
  return undefined;
}

function settingValue(
  name: SettingName,
  declaration: Declaration<unknown>,
  source: Source | undefined,
  from: { flags: SettingFlags; env: object; defaults: Partial<Settings>; earlier: Settings },
): unknown {
  if (source?.startsWith('--'))
    return declaration.parse(from.flags[declaration.flag as string] as string, source, from.earlier);
  if (source !== undefined) return declaration.parse(envValue(from.env, source) as string, source, from.earlier);
  if (Object.hasOwn(from.defaults, name)) return from.defaults[name];
  return typeof declaration.default === 'function'
    ? (declaration.default as (earlier: Settings) => unknown)(from.earlier)
    : declaration.default;
}

/** The variable's value, or undefined when it is unset or empty. */
function envValue<E extends object>(env: E, name: string): string | undefined {
  const value = (env as Record<string, string | undefined>)[name];
  return value === undefined || value === '' ? undefined : value;
}

/** A config file's path: a blank one names no file (`--config ''`), which reading would only report as ENOENT on "". */
function filePath(raw: string, source: Source): string {
  if (raw.trim() === '') throw settingError(source, `must name a file, got ${JSON.stringify(raw)}`);
  return raw;
}

function positiveNumber(raw: string, source: Source): number {
  const value = Number(raw);
  if (!(value > 0) || !Number.isFinite(value))
    throw settingError(source, `must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

function wholeBytes(raw: string, source: Source): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw settingError(source, `must be a positive whole number of bytes, got ${JSON.stringify(raw)}`);
  return value;
}

function portNumber(raw: string, source: Source): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw settingError(source, `must be a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
  return value;
}

/** DEBUG, INFO, WARNING (or WARN) or ERROR, any case. */
function logLevel(raw: string, source: Source): Severity {
  const level = parseSeverity(raw);
  if (!level) throw settingError(source, `must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(raw)}`);
  return level;
}

function isoInstant(raw: string, source: Source): Date {
  const instant = new Date(raw);
  if (Number.isNaN(instant.getTime()))
    throw settingError(source, `must be an ISO timestamp such as 2026-11-27T06:00:00Z, got ${JSON.stringify(raw)}`);
  return instant;
}

/** `local`, `router:URL` or `pubsub:PROJECT_ID`. */
function publisherSpec(raw: string, source: Source, earlier: Settings): PublisherSpec {
  if (raw === 'local') return { kind: 'local', dir: earlier.topicsDir };
  const url = raw.startsWith('router:') ? raw.slice('router:'.length) : '';
  if (/^https?:\/\/[^/]+$/.test(url)) return { kind: 'router', url };
  const projectId = raw.startsWith('pubsub:') ? raw.slice('pubsub:'.length) : '';
  if (PROJECT_ID.test(projectId)) return { kind: 'pubsub', projectId };
  throw settingError(source, `must be local, router:http://HOST:PORT or pubsub:PROJECT_ID, got ${JSON.stringify(raw)}`);
}

/**
 * Derived, not set: so a bad project id is said of PUBSUB_PROJECT_ID, the variable the user wrote,
 * with the variables that made it count.
 */
function defaultPublisher(earlier: Settings): PublisherSpec {
  if (earlier.pubsubEmulatorHost === undefined) return { kind: 'local', dir: earlier.topicsDir };
  if (PROJECT_ID.test(earlier.pubsubProjectId)) return { kind: 'pubsub', projectId: earlier.pubsubProjectId };
  throw settingError(
    'PUBSUB_PROJECT_ID',
    `must be a Google Cloud project id such as my-project (a lowercase letter, then 4 or more lowercase letters, digits or hyphens), ` +
      `got ${JSON.stringify(earlier.pubsubProjectId)} (the emulator's project: PUBSUB_EMULATOR_HOST is set and KPIS_PUBLISHER is not)`,
  );
}

/** `env` or `secret-manager:PROJECT_ID`. */
function secretsSpec(raw: string, source: Source): SecretsSpec {
  if (raw === 'env') return { kind: 'env' };
  const projectId = raw.startsWith('secret-manager:') ? raw.slice('secret-manager:'.length) : '';
  if (!PROJECT_ID.test(projectId))
    throw settingError(source, `must be env or secret-manager:PROJECT_ID, got ${JSON.stringify(raw)}`);
  return { kind: 'secret-manager', projectId };
}
