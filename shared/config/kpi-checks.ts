/**
 * The KPI checks' config, config/kpis_config.json, in daily-kpis' shape or the seed's. Every
 * detection default lives in DETECTION_DEFAULTS and METHOD_DEFAULTS below, and nowhere else.
 * The run-log checks' config is ./log-checks.ts.
 */
import path from 'node:path';
import Joi from 'joi';
import type { CalendarEntry } from './calendar-entry';
import { InvalidConfigError, UsageError } from '../errors';
import { readSqlTemplate, renderTemplate } from '../sql';
import { CONFIG_DIR } from './etl-config';
import { expressionProblem } from './expression';
import { checkPlaceholders, configSqlFile, readQueryFile } from './table-sql';
import { identifier, readJsonConfig, oneOf, validateEitherShape } from './validate';

export const DEFAULT_KPIS_CONFIG = path.join(CONFIG_DIR, 'kpis_config.json');

export const METHODS = ['pct_change', 'weekday', 'zscore'] as const;
export type Method = (typeof METHODS)[number];

export const DIRECTIONS = ['both', 'spike', 'drop'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const SEVERITIES = ['warn', 'error'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One KPI check after defaults are applied. */
export interface KpiCheck {
  /** The check's key in the config, e.g. dau: the `check` of its results and alerts. */
  name: string;
  /** The built-in series it watches (its SQL under sql/monitors/), or null for a user-defined one. */
  metric: string | null;
  /** The query (one SELECT returning day, value and optionally segment), with its placeholders. */
  query: string;
  /** Where the query came from, for messages: a file, or the short form. */
  sqlLabel: string;
  /** The dataset bare table names resolve in, and whose daily user panel says which days had events. */
  dataset: string;
  /** The table it reads, for results and alerts; null for a SQL check that names its own tables. */
  table_id: string | null;
  /**
   * Values are users counted on the day they were first seen (installs): after a day without
   * events, that day's new users show up on the days after it, so those days give no verdict.
   */
  first_seen: boolean;
  /** Segments judged on their own; the rest are judged together as `(other)`. */
  max_segments: number;
  /** Said with every result, when the config names a table the built-in series does not read. */
  note: string | null;
  /** A fraction, as in the seed: 0.1 raises on a change of more than 10%. Used by pct_change and weekday. */
  thresh_in_percent: number;
  description: string;
  isEnable: boolean;
  method: Method;
  direction: Direction;
  /** Days before the checked day that the baseline is computed from. */
  training_days: number;
  /** Days of data needed before the checked day; with fewer, the check gives no verdict. */
  min_training_days: number;
  /** zscore: how many standard deviations from the mean raise. */
  sensitivity: number;
  /** Changes smaller than this, in the metric's own units, never raise (per segment). */
  min_value: number;
  /**
   * Ratio checks (a query returning numerator and denominator instead of value): a day whose
   * denominator is below this gives no verdict and is left out of baselines, so a cohort of 12
   * users does not raise on one user more or less.
   */
  min_denominator: number;
  /**
   * The first days of data are never checked nor used as a baseline. The first day is often
   * partial; and a user's first day in the data counts as their install, so installs (and
   * returning users) are off until every regular user has been seen once: the shipped config
   * gives those two checks 14 days.
   */
  warm_up_days: number;
  severity: Severity;
  /**
   * Hours after a day's end (in the business zone) before it is judged: a day whose events arrive
   * late is judged once complete, not as a false drop every morning. 0 (the default) judges a day
   * as soon as it has ended, as the predecessor did.
   */
  complete_after_hours: number;
  /**
   * A raised day (a spike or drop, not resolved by late data) is left out of the check's later
   * baselines, as a day without events is, so one spike does not widen the band that should catch
   * the next; a raised level that the next day holds stays in, so a lasting shift trains it (shared/monitor/detect.ts).
   */
  exclude_raised_days: boolean;
  /** The calendar entries that name this check (config/calendar.json, shared/config/calendar.ts); none when absent. */
  calendar?: readonly CalendarEntry[];
  /** Slack user (U…, W…) or user group (S…) ids, mentioned in the check's posts. */
  owner: readonly string[];
  /** The Slack webhook the check's posts go to: a name in slack_webhooks, or `default` (KPIS_SLACK_SECRET). */
  channel: string;
  /** Carried in its Pub/Sub alerts as attributes `tag_NAME` (for subscription filters such as `attributes:tag_growth`). */
  tags: readonly string[];
  /**
   * An ongoing incident publishes an update at most once per this many hours, counted between the
   * judged days (a day is 24 hours), so a rerun decides the same.
   */
  remind_after_hours: number;
}

/** Defaults shared by every method. */
export const DETECTION_DEFAULTS = {
  thresh_in_percent: 0.1,
  method: 'weekday',
  direction: 'both',
  sensitivity: 3,
  min_value: 0,
  min_denominator: 0,
  warm_up_days: 1,
  severity: 'warn',
  isEnable: true,
  complete_after_hours: 0,
  exclude_raised_days: true,
  max_segments: 20,
  dataset: 'daily_kpis',
  // Routing and incidents: the config's `defaults` replaces these for checks that do not set their own.
  owner: [],
  channel: 'default',
  tags: [],
  remind_after_hours: 24,
} as const satisfies Partial<KpiCheck>;

/** The channel every check posts to unless it names another: the webhook of KPIS_SLACK_SECRET. */
export const DEFAULT_CHANNEL = 'default';

/** Where a named channel's webhook URL is: a Secret Manager secret, or locally an environment variable. */
export interface SlackWebhookRef {
  secret: string;
  env: string;
}

/** Window defaults per method: pct_change needs only the day before; the others a few weeks. */
export const METHOD_DEFAULTS: Record<Method, Pick<KpiCheck, 'training_days' | 'min_training_days'>> = {
  pct_change: { training_days: 7, min_training_days: 1 },
  weekday: { training_days: 28, min_training_days: 14 },
  zscore: { training_days: 28, min_training_days: 14 },
};

/** A SQL expression of the short form: exactly one, read token by token (shared/config/expression.ts). */
const expression = Joi.string()
  .min(1)
  .max(2000)
  .custom((value: string) => {
    const problem = expressionProblem(value);
    if (problem !== null) throw new Error(problem);
    return value;
  })
  .messages({
    'any.custom': '{{#label}} must be one SQL expression, such as SUM(coins): {{#error.message}}, got {{#value}}',
  });

/** A Slack member (U…, W…) or user group (S…) id: mentioned as markup, so only this shape passes. */
const slackId = Joi.string()
  .pattern(/^[UWS][A-Z0-9]{2,20}$/)
  .messages({
    'string.pattern.base':
      '{{#label}} must be a Slack user id (U0123ABCD, W0123ABCD) or user group id (S0123ABCD), got {{#value}}',
  });
const channelName = Joi.string()
  .pattern(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/)
  .messages({
    'string.pattern.base':
      '{{#label}} must be a channel name (letters, digits, _ and -, starting with a letter), got {{#value}}',
  });
/** Tags become attribute names (tag_NAME) that a Pub/Sub filter can name unquoted. */
const tag = Joi.string()
  .pattern(/^[a-z0-9_]{1,64}$/)
  .messages({ 'string.pattern.base': '{{#label}} must be lower-case letters, digits and underscores, got {{#value}}' });
const routingKeys = {
  owner: Joi.alternatives().try(slackId, Joi.array().items(slackId).max(10).unique()),
  channel: channelName,
  tags: Joi.array().items(tag).max(20).unique(),
  remind_after_hours: Joi.number()
    .greater(0)
    .max(24 * 366),
};

const kpiCheckSchema = Joi.object({
  ...routingKeys,
  metric: Joi.string(),
  sql: Joi.string().min(1),
  dataset: identifier,
  table_id: identifier,
  date_column: identifier,
  value: expression,
  segment: identifier,
  max_segments: Joi.number().integer().min(1).max(1000),
  thresh_in_percent: Joi.number().greater(0).max(100),
  description: Joi.string().allow(''),
  isEnable: Joi.boolean(),
  method: oneOf(METHODS),
  direction: oneOf(DIRECTIONS),
  training_days: Joi.number().integer().min(1).max(366),
  min_training_days: Joi.number().integer().min(1).max(366),
  sensitivity: Joi.number().greater(0),
  min_value: Joi.number().min(0),
  min_denominator: Joi.number().min(0),
  warm_up_days: Joi.number().integer().min(0).max(366),
  severity: oneOf(SEVERITIES),
  exclude_raised_days: Joi.boolean(),
  complete_after_hours: Joi.number()
    .min(0)
    .max(24 * 366)
    .messages({
      'number.base': '{{#label}} must be a number of hours from 0 to 8784 after the day ends, got {{#value}}',
      'number.min': '{{#label}} must be a number of hours from 0 to 8784 after the day ends, got {{#value}}',
      'number.max': '{{#label}} must be a number of hours from 0 to 8784 after the day ends, got {{#value}}',
    }),
});

const kpisConfigSchema = Joi.object({
  kpis: Joi.object().pattern(identifier, kpiCheckSchema).min(1).required(),
  defaults: Joi.object({ ...routingKeys, exclude_raised_days: Joi.boolean() }),
  slack_webhooks: Joi.object().pattern(
    channelName,
    Joi.object({
      secret: Joi.string()
        .pattern(/^[A-Za-z0-9_-]{1,255}$/)
        .required(),
      env: Joi.string().pattern(/^[A-Z_][A-Z0-9_]{0,127}$/),
    }),
  ),
});

type RoutingEntry = Partial<Omit<KpiCheck, 'owner'>> & { owner?: string | string[] };
interface KpisFile {
  kpis: Record<string, CheckEntry>;
  defaults?: RoutingEntry;
  slack_webhooks?: Record<string, { secret: string; env?: string }>;
}

/**
 * The seed's shape wraps the checks in one group, `{GROUP: {"kpis": {...}}}`, and gives each a `d1`
 * (the previous day's column in its output; here the previous value is always `previous_metric`,
 * so `d1` is accepted and not used).
 */
const seedKpisConfigSchema = Joi.object()
  .pattern(
    identifier,
    Joi.object({
      kpis: Joi.object()
        .pattern(identifier, kpiCheckSchema.keys({ d1: Joi.string().allow('') }))
        .min(1)
        .required(),
    }),
  )
  .length(1)
  .messages({
    'object.length': "must hold the checks under kpis, or in the seed's shape exactly one group holding kpis",
  });

type CheckEntry = Partial<Omit<KpiCheck, 'metric' | 'owner'>> & { owner?: string | string[] } & {
  metric?: string;
  sql?: string;
  date_column?: string;
  value?: string;
  segment?: string;
};

/** The built-in series: sql/monitors/builtin.json names each one's SQL file and default table. */
interface BuiltinSeries {
  sql: string;
  table_id: string;
  first_seen?: boolean;
  /** Why a configured table_id other than the default is not read (its SQL names its tables itself). */
  table_note?: string;
}
let builtins: Map<string, BuiltinSeries> | undefined;

/** By name, in a Map: a check named toString is not a built-in series. */
function builtinSeries(): Map<string, BuiltinSeries> {
  builtins ??= new Map(
    Object.entries(JSON.parse(readSqlTemplate('monitors/builtin.json')) as Record<string, BuiltinSeries>),
  );
  return builtins;
}

/** A check entry of either shape (the cron job's carries `d1`, which daily-kpis does not use). */
type AnyCheckEntry = CheckEntry & { d1?: string };

/** config/kpis_config.json read and validated in either shape: the checks and the monitor's loaders both start here. */
function readKpisFile(file: string) {
  return validateEitherShape(
    readJsonConfig(file),
    file,
    { name: "daily-kpis' shape", outline: '{"kpis": {NAME: {...}}}', schema: kpisConfigSchema as Joi.Schema<KpisFile> },
    {
      name: "the cron job's shape",
      outline: '{GROUP: {"kpis": {NAME: {dataset, table_id, thresh_in_percent, d1, description, isEnable}}}}',
      schema: seedKpisConfigSchema as Joi.Schema<Record<string, { kpis: Record<string, AnyCheckEntry> }>>,
    },
  );
}

/** Loads config/kpis_config.json: every check, enabled or not, with defaults applied. */
export function loadKpiChecks(file: string = DEFAULT_KPIS_CONFIG): KpiCheck[] {
  const loaded = readKpisFile(file);
  const checks: Record<string, AnyCheckEntry> =
    loaded.shape === 'first'
      ? loaded.value.kpis
      : (Object.values(loaded.value)[0] as { kpis: Record<string, AnyCheckEntry> }).kpis;
  if (loaded.shape === 'first' && Object.hasOwn(loaded.value.slack_webhooks ?? {}, DEFAULT_CHANNEL)) {
    loadFail(
      file,
      `$.slack_webhooks.${DEFAULT_CHANNEL}`,
      'is the webhook of KPIS_SLACK_SECRET (KPIS_SLACK_WEBHOOK_URL locally): name the others only',
    );
  }
  const routing =
    loaded.shape === 'first'
      ? { defaults: loaded.value.defaults ?? {}, channels: Object.keys(loaded.value.slack_webhooks ?? {}) }
      : { defaults: {}, channels: [] };
  return Object.entries(checks).map(([name, { d1: _unused, ...entry }]: [string, AnyCheckEntry]) =>
    withRouting(withDefaults(name, entry, file), entry, routing.defaults, routing.channels, file),
  );
}

/**
 * The named Slack webhooks of config/kpis_config.json (`slack_webhooks`): each a Secret Manager
 * secret, or locally the environment variable `env` (default KPIS_SLACK_WEBHOOK_URL_<NAME>).
 */
export function loadSlackWebhooks(file: string = DEFAULT_KPIS_CONFIG): Map<string, SlackWebhookRef> {
  const loaded = readKpisFile(file);
  if (loaded.shape === 'second') return new Map();
  return new Map(
    Object.entries(loaded.value.slack_webhooks ?? {}).map(([name, ref]) => [
      name,
      { secret: ref.secret, env: ref.env ?? `KPIS_SLACK_WEBHOOK_URL_${name.toUpperCase().replace(/-/g, '_')}` },
    ]),
  );
}

type RoutingKey = 'owner' | 'channel' | 'tags' | 'remind_after_hours' | 'exclude_raised_days';

/** The check's owner, channel, tags and reminder interval: its own, else the config's defaults, else DETECTION_DEFAULTS. */
function withRouting(
  check: KpiCheck,
  entry: CheckEntry,
  defaults: RoutingEntry,
  channels: string[],
  file: string,
): KpiCheck {
  const pick = <K extends RoutingKey>(key: K) => entry[key] ?? defaults[key] ?? DETECTION_DEFAULTS[key];
  const owner = pick('owner');
  const channel = pick('channel');
  if (channel !== DEFAULT_CHANNEL && !channels.includes(channel)) {
    const where = entry.channel === undefined ? '$.defaults.channel' : `$.kpis.${check.name}.channel`;
    loadFail(
      file,
      where,
      `must be ${[DEFAULT_CHANNEL, ...channels].join(', ')} (the names in slack_webhooks, or default), got ${channel}`,
    );
  }
  return {
    ...check,
    owner: typeof owner === 'string' ? [owner] : [...owner],
    channel,
    tags: [...pick('tags')],
    remind_after_hours: pick('remind_after_hours'),
    exclude_raised_days: pick('exclude_raised_days'),
  };
}

/** What a check reads, whichever form the config gives it in. */
interface CheckQuery {
  query: string;
  sqlLabel: string;
  metric: string | null;
  table_id: string | null;
  first_seen: boolean;
  note: string | null;
}

function withDefaults(name: string, entry: CheckEntry, file: string): KpiCheck {
  const where = `$.kpis.${name}`;
  const method = entry.method ?? DETECTION_DEFAULTS.method;
  const { sql: _sql, date_column: _dateColumn, value: _value, segment: _segment, metric: _metric, ...rest } = entry;
  const read = checkQuery(file, where, name, entry);
  checkPlaceholders(
    read.query,
    { file, path: where, sqlLabel: read.sqlLabel },
    read.table_id === null ? [] : ['table'],
  );
  const check: KpiCheck = {
    ...DETECTION_DEFAULTS,
    ...METHOD_DEFAULTS[method],
    description: '',
    ...rest,
    ...read,
    name,
    method,
  } as KpiCheck;
  if (check.min_training_days > check.training_days) {
    loadFail(
      file,
      `${where}.min_training_days`,
      `(${check.min_training_days}) must not exceed training_days (${check.training_days})`,
    );
  }
  return check;
}

/** The one form the entry gives its query in: a SQL file, the short form, or a built-in series. */
function checkQuery(file: string, where: string, name: string, entry: CheckEntry): CheckQuery {
  const { sql, date_column: dateColumn, value, segment, metric } = entry;
  const forms = [sql !== undefined && 'sql', value !== undefined && 'value', metric !== undefined && 'metric'].filter(
    Boolean,
  );
  if (forms.length > 1)
    loadFail(file, where, `give one of sql, value (the short form) or metric, not ${forms.join(' and ')}`);
  if ((dateColumn !== undefined || segment !== undefined) && value === undefined)
    loadFail(file, where, 'date_column and segment belong to the short form, which needs value too');
  const tableId = entry.table_id ?? null;
  if (sql !== undefined) return sqlCheck(file, where, sql, tableId);
  if (value !== undefined) return shortFormCheck(file, where, tableId, dateColumn, value, segment);
  return builtinCheck(file, where, name, metric, tableId);
}

/** A SQL file relative to the config's folder. */
function sqlCheck(file: string, where: string, sql: string, tableId: string | null): CheckQuery {
  const resolved = configSqlFile(file, sql, (problem) => loadFail(file, `${where}.sql`, problem));
  return {
    query: readQueryFile(resolved, { file, path: where, sqlLabel: sql }),
    sqlLabel: sql,
    metric: null,
    table_id: tableId,
    first_seen: false,
    note: null,
  };
}

/** `value` per `date_column` (and `segment`) of one table. */
function shortFormCheck(
  file: string,
  where: string,
  tableId: string | null,
  dateColumn: string | undefined,
  value: string,
  segment: string | undefined,
): CheckQuery {
  if (tableId === null)
    loadFail(
      file,
      `${where}.table_id`,
      'is required by the short form (table_id, date_column, value, and optionally segment)',
    );
  if (dateColumn === undefined)
    loadFail(
      file,
      `${where}.date_column`,
      'is required by the short form: the DATE column that says which day a row is about',
    );
  return {
    query: shortFormQuery(tableId, dateColumn, value, segment),
    sqlLabel: 'the short form',
    metric: null,
    table_id: tableId,
    first_seen: false,
    note: null,
  };
}

/** A built-in series: `metric`, or the check's own name. */
function builtinCheck(
  file: string,
  where: string,
  name: string,
  metricField: string | undefined,
  tableId: string | null,
): CheckQuery {
  const metric = metricField ?? name;
  const series = builtinSeries().get(metric);
  if (!series) {
    // A check named after something other than a built-in series has to say what it watches.
    const known = [...builtinSeries().keys()].join(', ');
    loadFail(
      file,
      `${where}${metricField === undefined ? '' : '.metric'}`,
      `${metricField === undefined ? `is not a built-in series (${known}): give metric, sql, or the short form (table_id, date_column, value)` : `must be one of ${known}, got ${metricField}`}`,
    );
  }
  const sqlLabel = `monitors/${series.sql}`;
  // The seed's config named last_activity's own table here: not an error, but said with each result.
  const note =
    series.table_note !== undefined && tableId !== null && tableId !== series.table_id
      ? `table_id ${tableId} is not read: ${series.table_note}`
      : null;
  const table = series.table_note !== undefined || tableId === null ? series.table_id : tableId;
  return {
    query: readSqlTemplate(sqlLabel),
    sqlLabel,
    metric,
    table_id: table,
    first_seen: Boolean(series.first_seen),
    note,
  };
}

/** The short form as a query: `value` per `date_column` (and `segment`) of one table. */
function shortFormQuery(table: string, dateColumn: string, value: string, segment: string | undefined): string {
  return renderTemplate(
    readSqlTemplate(segment === undefined ? 'monitors/short_form.sql' : 'monitors/short_form_segmented.sql'),
    {
      date_column: dateColumn,
      value,
      segment: segment ?? '',
      table_placeholder: '{{table}}',
    },
  );
}

function loadFail(file: string, jsonPath: string, problem: string): never {
  throw new InvalidConfigError(file, { path: jsonPath, problem });
}

/** The checks a command runs: the ones asked for by name (enabled or not), else every enabled one; an unknown name is a usage error. */
export function selectChecks(checks: KpiCheck[], wanted?: string[]): KpiCheck[] {
  if (!wanted || wanted.length === 0) return checks.filter((check) => check.isEnable);
  const unknown = wanted.filter((name) => !checks.some((check) => check.name === name));
  if (unknown.length > 0)
    throw new UsageError(
      `--checks: no check named ${unknown.join(', ')}; the config has ${checks.map((check) => check.name).join(', ')}`,
    );
  return checks.filter((check) => wanted.includes(check.name)).map((check) => ({ ...check, isEnable: true }));
}
