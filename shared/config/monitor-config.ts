/**
 * The monitors' config: config/kpis_config.json (KPI anomaly checks) and config/log_config.json
 * (run-log checks), in the seed's shapes. Every detection default lives in DETECTION_DEFAULTS and
 * METHOD_DEFAULTS below, and nowhere else.
 */
import path from 'node:path';
import Joi from 'joi';
import { ConfigError } from '../errors';
import { CONFIG_DIR } from './etl-config';
import { loadJsonConfig } from './validate';

export const DEFAULT_KPIS_CONFIG = path.join(CONFIG_DIR, 'kpis_config.json');
export const DEFAULT_LOG_CONFIG = path.join(CONFIG_DIR, 'log_config.json');

/** The KPI series the monitor can read; each has its SQL in sql/monitors/<metric>.sql. */
export const METRICS = ['dau', 'installs', 'last_activity', 'events'] as const;
export type Metric = (typeof METRICS)[number];

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
  metric: Metric;
  dataset: string;
  table_id: string;
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
  /** Changes smaller than this, in the metric's own units, never raise. */
  min_value: number;
  /**
   * The first days of data are never checked nor used as a baseline. The first day is often
   * partial; and a user's first day in the data counts as their install, so installs (and
   * returning users) are off until every regular user has been seen once: the shipped config
   * gives those two checks 14 days.
   */
  warm_up_days: number;
  severity: Severity;
}

/** Defaults shared by every method. */
export const DETECTION_DEFAULTS = {
  thresh_in_percent: 0.1,
  method: 'weekday',
  direction: 'both',
  sensitivity: 3,
  min_value: 0,
  warm_up_days: 1,
  severity: 'warn',
  isEnable: true,
} as const satisfies Partial<KpiCheck>;

/** Window defaults per method: pct_change needs only the day before; the others a few weeks. */
export const METHOD_DEFAULTS: Record<Method, Pick<KpiCheck, 'training_days' | 'min_training_days'>> = {
  pct_change: { training_days: 7, min_training_days: 1 },
  weekday: { training_days: 28, min_training_days: 14 },
  zscore: { training_days: 28, min_training_days: 14 },
};

const identifier = Joi.string().pattern(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/).messages({
  'string.pattern.base': '{{#label}} must be letters, digits and underscores, starting with a letter or underscore, got {{#value}}',
});

const oneOf = <T extends string>(values: readonly T[]) =>
  Joi.string()
    .valid(...values)
    .messages({ 'any.only': `{{#label}} must be one of ${values.join(', ')}, got {{#value}}` });

const kpiCheckSchema = Joi.object({
  metric: oneOf(METRICS),
  dataset: identifier.required(),
  table_id: identifier.required(),
  thresh_in_percent: Joi.number().greater(0).max(100),
  description: Joi.string().allow(''),
  isEnable: Joi.boolean(),
  method: oneOf(METHODS),
  direction: oneOf(DIRECTIONS),
  training_days: Joi.number().integer().min(1).max(366),
  min_training_days: Joi.number().integer().min(1).max(366),
  sensitivity: Joi.number().greater(0),
  min_value: Joi.number().min(0),
  warm_up_days: Joi.number().integer().min(0).max(366),
  severity: oneOf(SEVERITIES),
});

const kpisConfigSchema = Joi.object({
  kpis: Joi.object().pattern(identifier, kpiCheckSchema).min(1).required(),
});

/** Loads config/kpis_config.json: every check, enabled or not, with defaults applied. */
export function loadKpiChecks(file: string = DEFAULT_KPIS_CONFIG): KpiCheck[] {
  const config = loadJsonConfig<{ kpis: Record<string, Partial<KpiCheck>> }>(file, kpisConfigSchema);
  return Object.entries(config.kpis).map(([name, entry]) => withDefaults(name, entry, file));
}

function withDefaults(name: string, entry: Partial<KpiCheck>, file: string): KpiCheck {
  const method = entry.method ?? DETECTION_DEFAULTS.method;
  const metric = entry.metric ?? name;
  if (!(METRICS as readonly string[]).includes(metric)) {
    // A check named after something other than a metric has to say which series it watches.
    loadFail(file, `$.kpis.${name}.metric`, `is required when the check's name is not a metric; must be one of ${METRICS.join(', ')}`);
  }
  const check: KpiCheck = {
    ...DETECTION_DEFAULTS,
    ...METHOD_DEFAULTS[method],
    description: '',
    ...entry,
    name,
    metric: metric as Metric,
    method,
  } as KpiCheck;
  if (check.min_training_days > check.training_days) {
    loadFail(file, `$.kpis.${name}.min_training_days`, `(${check.min_training_days}) must not exceed training_days (${check.training_days})`);
  }
  return check;
}

function loadFail(file: string, jsonPath: string, problem: string): never {
  // Same wording as validateConfig's errors, for checks that span two fields.
  throw new ConfigError(`${file}: invalid config\n  ${jsonPath}: ${problem}`);
}

/** One run-log check (config/log_config.json). */
export interface LogCheck {
  name: string;
  /** The job whose run-log rows are checked, e.g. daily_kpis. */
  job_name: string;
  /** Only rows of this file; null matches any. */
  file_name: string | null;
  /** The step that marks a finished run, usually end. */
  step_name: string;
  /** A finished run older than this raises. */
  thresh_in_hours: number;
  /** The alert's message; {hours} and {job_name} are filled in. */
  message: string;
  description: string;
}

const logCheckSchema = Joi.object({
  job_name: identifier.required(),
  file_name: Joi.string().allow(null).default(null),
  step_name: Joi.string().default('end'),
  thresh_in_hours: Joi.number().greater(0).max(24 * 366).required(),
  message: Joi.string().default('{job_name} has not finished a run for {hours} hours'),
  description: Joi.string().allow('').default(''),
});

const logConfigSchema = Joi.object({
  logs: Joi.object().pattern(identifier, logCheckSchema).min(1).required(),
});

export function loadLogChecks(file: string = DEFAULT_LOG_CONFIG): LogCheck[] {
  const config = loadJsonConfig<{ logs: Record<string, Omit<LogCheck, 'name'>> }>(file, logConfigSchema);
  return Object.entries(config.logs).map(([name, entry]) => ({ name, ...entry }));
}
