/**
 * The command lines of the cron job daily-kpis replaces: `SCRIPT PROJECT_ID --etl-name NAME
 * --etl-action daily|init|delete --days-back N [--dry-run]`. `kpis etl`, `kpis monitor` and `kpis
 * monitor-logs` accept them, so a crontab line keeps working with `npx kpis COMMAND` in place of
 * the script (README "Coming from the cron job").
 */
import { loadEtlConfig } from '../shared/config/etl-config';
import { configPath } from '../shared/config/files';
import { UsageError } from '../shared/errors';
import type { Options, Values } from './command';
import type { Io } from './context';

export const ETL_ACTIONS = ['daily', 'init', 'delete'] as const;
export type EtlAction = (typeof ETL_ACTIONS)[number];

export const CRON_OPTIONS: Options = { 'etl-name': { type: 'string' }, 'etl-action': { type: 'string' } };

export const CRON_POSITIONALS = { min: 0, max: 1, name: 'at most a PROJECT_ID' };

export const CRON_HELP = `The cron job's form, for a crontab line that called the old script:
  PROJECT_ID         the same as --warehouse bigquery:PROJECT_ID
  --etl-name NAME    the ETL config's job group; any other name is an error`;

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/**
 * Folds the cron job's forms into the command's own flags (a positional project id becomes the
 * warehouse) and returns the action; an action the command does not take is a usage error.
 */
export function fromCronLine(values: Values, positionals: string[], io: Io, allowed: readonly EtlAction[]): { values: Values; action: EtlAction } {
  const [project] = positionals;
  let folded = values;
  if (project !== undefined) {
    if (!PROJECT_ID.test(project)) throw new UsageError(`PROJECT_ID must be a Google Cloud project id such as my-project-123, got ${JSON.stringify(project)}`);
    if (values.warehouse !== undefined) throw new UsageError(`give the project as PROJECT_ID or as --warehouse, not both (got ${project} and ${String(values.warehouse)})`);
    folded = { ...values, warehouse: `bigquery:${project}` };
  }
  const action = (values['etl-action'] ?? 'daily') as EtlAction;
  if (!ETL_ACTIONS.includes(action)) throw new UsageError(`--etl-action must be one of ${ETL_ACTIONS.join(', ')}, got ${JSON.stringify(values['etl-action'])}`);
  if (!allowed.includes(action)) throw new UsageError(`--etl-action ${action} applies to \`kpis etl\` only; this command takes ${allowed.join(', ')}`);
  const name = values['etl-name'];
  if (name !== undefined) {
    const file = configPath('etl', io.env, values.config as string | undefined);
    const job = loadEtlConfig(file);
    if (name !== job.jobName) throw new UsageError(`--etl-name ${JSON.stringify(name)} is not the job of ${file}, which is ${JSON.stringify(job.jobName)} (its group's key)`);
  }
  return { values: folded, action };
}
