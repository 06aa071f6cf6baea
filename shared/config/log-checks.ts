/**
 * The run-log checks' config, config/log_config.json, in daily-kpis' shape or the cron job's: did
 * the ETL (or any job) finish a run recently enough.
 */
import path from 'node:path';
import Joi from 'joi';
import { CONFIG_DIR } from './etl-config';
import { identifier, readJsonConfig, validateEitherShape, type ConfigShape } from './validate';

export const DEFAULT_LOG_CONFIG = path.join(CONFIG_DIR, 'log_config.json');

/** One run-log check (config/log_config.json). */
export interface LogCheck {
  name: string;
  /** The job whose run-log rows are checked; left out, the ETL config's job (its group's name). */
  job_name: string;
  /**
   * job_name was left out: the dataset the ETL writes (its first table's dataset_dst). The check
   * then also watches the rows of any job name that wrote it (a crontab line's --etl-name), so it
   * follows the job name the ETL actually writes. null when the config names the job.
   */
  follows_etl_dataset: string | null;
  /** Only rows of this file; null matches any. */
  file_name: string | null;
  /** The step that marks a finished run, usually end. */
  step_name: string;
  /** A finished run older than this raises. */
  thresh_in_hours: number;
  /** The alert's message; {hours} and {job_name} are filled in. */
  message: string;
  /** Only rows whose message is LIKE this pattern (the cron job's `message` filter); null matches any. */
  message_like: string | null;
  /**
   * From the cron job's log_config: the end rows daily-kpis writes for the job count as finished
   * runs too, so the check keeps passing when the functions take over from the script.
   */
  counts_daily_kpis_runs: boolean;
  description: string;
}

/** Up to a year and a day: how long a job may go without a finished run. */
const thresholdHours = Joi.number()
  .greater(0)
  .max(24 * 366)
  .required();
const DEFAULT_LOG_MESSAGE = '{job_name} has not finished a run for {hours} hours';

const logCheckSchema = Joi.object({
  job_name: identifier,
  file_name: Joi.string().allow(null).default(null),
  step_name: Joi.string().default('end'),
  thresh_in_hours: thresholdHours,
  message: Joi.string().default(DEFAULT_LOG_MESSAGE),
  description: Joi.string().allow('').default(''),
});

type LogEntry = Omit<
  LogCheck,
  'name' | 'job_name' | 'follows_etl_dataset' | 'message_like' | 'counts_daily_kpis_runs'
> & { job_name?: string; message_like?: string | null };

const LOG_SHAPE: ConfigShape<{ logs: Record<string, LogEntry> }> = {
  name: "daily-kpis' shape",
  outline: '{"logs": {NAME: {job_name, file_name, step_name, thresh_in_hours, message, message_like, description}}}',
  schema: Joi.object({
    logs: Joi.object()
      .pattern(identifier, logCheckSchema.keys({ message_like: Joi.string().allow(null).default(null) }))
      .min(1)
      .required(),
  }),
};

/**
 * The cron job's shape: `{GROUP: {"alerts": {NAME: {...}}}}`. There `message` filtered the rows'
 * message with LIKE ("" for any), `enable_message` switched that filter on, and `file_name` named
 * the script (e.g. daily_kpis_etl.py).
 */
interface CronLogEntry {
  message?: string;
  enable_message?: boolean | number | string;
  step_name?: string;
  file_name?: string | null;
  job_name?: string;
  thresh_in_hours: number;
  description?: string;
}
const CRON_LOG_SHAPE: ConfigShape<Record<string, { alerts: Record<string, CronLogEntry> }>> = {
  name: "the cron job's shape",
  outline:
    '{GROUP: {"alerts": {NAME: {message, enable_message, step_name, file_name, job_name, thresh_in_hours, description}}}}',
  schema: Joi.object()
    .pattern(
      identifier,
      Joi.object({
        alerts: Joi.object()
          .pattern(
            identifier,
            Joi.object({
              message: Joi.string().allow('', null),
              enable_message: Joi.alternatives().try(Joi.boolean(), Joi.number().valid(0, 1), Joi.string().allow('')),
              step_name: Joi.string().allow(''),
              file_name: Joi.string().allow('', null),
              job_name: identifier,
              thresh_in_hours: thresholdHours,
              description: Joi.string().allow(''),
            }),
          )
          .min(1)
          .required(),
      }),
    )
    .min(1),
};

/** Whether the cron job's enable_message switched the message filter on (1, true, or a non-empty marker other than "false"/"0"). */
function messageFilterOn(value: CronLogEntry['enable_message']): boolean {
  if (value === undefined) return true;
  if (typeof value === 'string') return value !== '' && !['false', '0', 'no'].includes(value.toLowerCase());
  return Boolean(value);
}

function fromCronEntry(name: string, entry: CronLogEntry, etl: EtlIdentity): LogCheck {
  const filter =
    entry.message !== undefined &&
    entry.message !== null &&
    entry.message !== '' &&
    messageFilterOn(entry.enable_message)
      ? entry.message
      : null;
  return {
    name,
    job_name: entry.job_name ?? etl.jobName,
    follows_etl_dataset: entry.job_name === undefined ? etl.dataset : null,
    file_name: entry.file_name || null,
    step_name: entry.step_name || 'end',
    thresh_in_hours: entry.thresh_in_hours,
    message: DEFAULT_LOG_MESSAGE,
    message_like: filter,
    counts_daily_kpis_runs: true,
    description: entry.description ?? '',
  };
}

/** The ETL a log check without job_name watches: its config's name, and the dataset it writes. */
export interface EtlIdentity {
  jobName: string;
  dataset: string;
}

/**
 * Loads config/log_config.json, in daily-kpis' shape or the cron job's (README "Coming from the
 * cron job"). A check without `job_name` watches the ETL job under whatever name it writes: the
 * ETL config's group (`etlJobName`), or the --etl-name of the crontab line that ran it (any job
 * whose ETL rows say it wrote `etlDataset`). In the cron job's shape, `group` (the log monitor's
 * own --etl-name) runs only the group of that key when the file has one, else every group.
 */
export function loadLogChecks(
  file: string = DEFAULT_LOG_CONFIG,
  etlJobName = 'daily_kpis',
  etlDataset = 'daily_kpis',
  group?: string,
): LogCheck[] {
  const etl: EtlIdentity = { jobName: etlJobName, dataset: etlDataset };
  const loaded = validateEitherShape(readJsonConfig(file), file, LOG_SHAPE, CRON_LOG_SHAPE);
  if (loaded.shape === 'second') {
    // A crontab line's --etl-name (`group`) picks the group of that key, when there is one.
    const groups = new Map(Object.entries(loaded.value));
    const picked =
      group !== undefined && groups.has(group)
        ? [groups.get(group) as { alerts: Record<string, CronLogEntry> }]
        : [...groups.values()];
    return picked.flatMap(({ alerts }) =>
      Object.entries(alerts).map(([name, entry]) => fromCronEntry(name, entry, etl)),
    );
  }
  return Object.entries(loaded.value.logs).map(([name, entry]) => ({
    name,
    ...entry,
    job_name: entry.job_name ?? etl.jobName,
    follows_etl_dataset: entry.job_name === undefined ? etl.dataset : null,
    message_like: entry.message_like ?? null,
    counts_daily_kpis_runs: false,
  }));
}
