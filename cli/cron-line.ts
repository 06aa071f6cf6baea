/**
 * The command lines of the cron job daily-kpis replaces: `SCRIPT PROJECT_ID --etl-name NAME
 * --etl-action daily|init|delete --days-back N [--dry-run]`. `kpis etl`, `kpis monitor` and `kpis
 * monitor-logs` accept them, so a crontab line keeps working with `npx kpis COMMAND` in place of
 * the script (README "Coming from the cron job").
 */
import { jobNameProblem } from '../shared/config/names';
import { UsageError } from '../shared/errors';
import type { Options, Values } from './command';

export const ETL_ACTIONS = ['daily', 'init', 'delete'] as const;
export type EtlAction = (typeof ETL_ACTIONS)[number];

export const CRON_OPTIONS: Options = { 'etl-name': { type: 'string' }, 'etl-action': { type: 'string' } };

export const CRON_POSITIONALS = { min: 0, max: 1, name: 'at most a PROJECT_ID' };

export const CRON_HELP = `The cron job's form, for a crontab line that called the old script:
  PROJECT_ID         the same as --warehouse bigquery:PROJECT_ID
  --etl-name NAME    the job's name as the run log records it (its job_name); the config
                     group of that key when there is one, else the config's one group`;

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** What a crontab line asks for, in the command's own terms. */
export interface CronLine {
  values: Values;
  action: EtlAction;
  /** --etl-name: the job_name the run writes to the run log; undefined for the command's own. */
  jobName: string | undefined;
}

/**
 * Folds the cron job's forms into the command's own flags (a positional project id becomes the
 * warehouse) and returns the action and the job name; an action the command does not take, or a
 * name the run log cannot hold, is a usage error.
 */
export function fromCronLine(values: Values, positionals: string[], allowed: readonly EtlAction[]): CronLine {
  const [project] = positionals;
  let folded = values;
  if (project !== undefined) {
    if (!PROJECT_ID.test(project))
      throw new UsageError(
        `PROJECT_ID must be a Google Cloud project id such as my-project-123, got ${JSON.stringify(project)}`,
      );
    if (values.warehouse !== undefined)
      throw new UsageError(
        `give the project as PROJECT_ID or as --warehouse, not both (got ${project} and ${String(values.warehouse)})`,
      );
    folded = { ...values, warehouse: `bigquery:${project}` };
  }
  const action = (values['etl-action'] ?? 'daily') as EtlAction;
  if (!ETL_ACTIONS.includes(action))
    throw new UsageError(
      `--etl-action must be one of ${ETL_ACTIONS.join(', ')}, got ${JSON.stringify(values['etl-action'])}`,
    );
  if (!allowed.includes(action))
    throw new UsageError(
      `--etl-action ${action} applies to \`kpis etl\` only; this command takes ${allowed.join(', ')}`,
    );
  return { values: folded, action, jobName: etlName(values['etl-name']) };
}

/**
 * --etl-name is the job's name in the run log, as the cron job's scripts wrote it (its ETL line
 * says daily_kpis whatever its config's group is called; its monitor lines say kpis and log).
 */
function etlName(name: string | boolean | undefined): string | undefined {
  if (typeof name !== 'string') return undefined;
  const problem = jobNameProblem(name);
  if (problem !== null) throw new UsageError(`--etl-name must be a job name (${problem}), got ${JSON.stringify(name)}`);
  return name;
}
