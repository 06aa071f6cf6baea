/** Rows of logs.daily_logs: one run's steps, numbered and sharing the run id as uid. */
import { toIsoDate, type IsoDate } from '../dates';
import { TableNotFoundError, toError } from '../errors';
import type { Logger } from '../log';
import { RUN_LOG_TABLE } from '../schema';
import { numberedRows, valuesList } from '../rows';
import { renderSqlFile } from '../sql';
import type { QueryParams, Warehouse } from '../warehouse/warehouse';
import { forgetRunLogShape, runLogShape, type RunLogShape } from './run-log-shape';

export type LogType = 'start' | 'info' | 'end' | 'error';

export interface RunLogIdentity {
  runId: string;
  jobName: string;
  jobType: string;
  username: string;
}

export interface RunLogStep {
  step: string;
  logType: LogType;
  message: string;
  /** When the step happened; the ts column. */
  at: Date;
  fileName?: string;
}

/**
 * The days a run wrote again, from its `restate` rows' messages (`restated YYYY-MM-DD: why`,
 * written by restate.ts and reach.ts) as sql/logs/finished_run.sql and sql/reports/etl_runs.sql
 * read them: joined by newlines, NULL when the run restated nothing. Oldest first, once each.
 */
export function restatedDaysOf(messages: unknown): IsoDate[] {
  const days = [...String(messages ?? '').matchAll(/^restated (\d{4}-\d{2}-\d{2}):/gm)].map(
    (match) => match[1] as IsoDate,
  );
  return [...new Set(days)].sort();
}

/**
 * One INSERT of a run's steps, numbered 1..n. Parameters carry the step number (`@ts_1`, ...), so
 * the statement can join a larger script without clashing with its parameters.
 */
export function runLogStatement(
  warehouse: Pick<Warehouse, 'tableRef'>,
  shape: RunLogShape,
  identity: RunLogIdentity,
  steps: RunLogStep[],
  firstStepId = 1,
): { sql: string; params: QueryParams } {
  const rows = numberedRows(
    RUN_LOG_TABLE.columns,
    steps.map((step, index) => ({
      ts: step.at,
      dt: toIsoDate(step.at),
      uid: identity.runId,
      username: identity.username,
      job_name: identity.jobName,
      job_type: identity.jobType,
      file_name: step.fileName ?? null,
      step_name: step.step,
      step_id: firstStepId + index,
      log_type: step.logType,
      message: step.message,
    })),
  );
  // Each value in the table's own type: a pandas-made run log takes ts as DATETIME, dt as STRING.
  const written = {
    ...rows,
    refs: rows.refs.map((refs) =>
      refs.map((ref, index) => shape.write(RUN_LOG_TABLE.columns[index]?.name as string, ref)),
    ),
  };
  const sql = renderSqlFile('logs/insert_log_rows.sql', {
    daily_logs: warehouse.tableRef(RUN_LOG_TABLE.dataset, RUN_LOG_TABLE.table),
    columns: RUN_LOG_TABLE.columns.map((column) => column.name).join(', '),
    rows: valuesList(written),
  });
  return { sql, params: rows.params };
}

/**
 * Writes a run's steps, numbered from `firstStepId`, so later rows of a run continue its numbering.
 * A run log dropped under a warm instance is created again, and the rows written to it.
 */
export async function writeRunLog(
  warehouse: Warehouse,
  identity: RunLogIdentity,
  steps: RunLogStep[],
  firstStepId = 1,
): Promise<void> {
  const context = { job: identity.jobName, runId: identity.runId, sqlFile: 'logs/insert_log_rows.sql' };
  const statement = (shape: RunLogShape) => runLogStatement(warehouse, shape, identity, steps, firstStepId);
  const first = statement(await runLogShape(warehouse));
  try {
    await warehouse.query(first.sql, first.params, context);
  } catch (error) {
    if (!(error instanceof TableNotFoundError)) throw error;
    forgetRunLogShape(warehouse); // dropped: it comes back in daily-kpis' shape
    const again = statement(await ensureRunLog(warehouse));
    await warehouse.query(again.sql, again.params, context);
  }
}

/** Creates the run log if it is missing and returns its shape; a shape daily-kpis cannot use throws a ConfigError. */
export async function ensureRunLog(warehouse: Warehouse): Promise<RunLogShape> {
  await warehouse.ensureTable(RUN_LOG_TABLE);
  return runLogShape(warehouse);
}

/**
 * Runs a job between a start and an end row (an error row when it throws, and the error goes on).
 * For jobs whose work is not one script: the ETL writes its rows inside its own transaction.
 *
 * With `bestEffort`, the work runs even when its rows cannot be written, and the failure is
 * logged: the log monitor must still check the pipeline when the run log itself is broken.
 */
export async function recordRun<T>(
  deps: { warehouse: Warehouse; clock: () => Date; logger: Logger },
  identity: RunLogIdentity,
  startMessage: string,
  work: () => Promise<{ value: T; summary: string }>,
  options: { bestEffort?: boolean } = {},
): Promise<T> {
  const { warehouse, clock, logger } = deps;
  const write = runLogWriter(deps, identity, options.bestEffort === true);
  if (!options.bestEffort) await ensureRunLog(warehouse);
  else
    await ensureRunLog(warehouse).catch((error: unknown) =>
      logger.error('could not create the run log', { error: toError(error).message }),
    );
  await write([{ step: 'start', logType: 'start', at: clock(), message: startMessage }], 1);
  let outcome: { value: T; summary: string };
  try {
    outcome = await work();
  } catch (error) {
    const message = toError(error).message.slice(0, 10_000);
    await writeRunLog(warehouse, identity, [{ step: 'error', logType: 'error', at: clock(), message }], 2).catch(
      (logError: unknown) => {
        logger.error('could not write the error row of this run to the run log', {
          run_id: identity.runId,
          error: toError(logError).message,
        });
      },
    );
    throw error;
  }
  await write([{ step: 'end', logType: 'end', at: clock(), message: outcome.summary }], 2);
  return outcome.value;
}

/** Writes a run's rows; best effort logs a failed write and carries on (the log monitor must alert even when the run log cannot be written). */
function runLogWriter(deps: { warehouse: Warehouse; logger: Logger }, identity: RunLogIdentity, bestEffort: boolean) {
  return async (steps: RunLogStep[], firstStepId: number): Promise<void> => {
    try {
      await writeRunLog(deps.warehouse, identity, steps, firstStepId);
    } catch (error) {
      if (!bestEffort) throw error;
      deps.logger.error(`could not write the ${steps[0]?.step ?? ''} row of this run to the run log; carrying on`, {
        run_id: identity.runId,
        error: toError(error).message,
      });
    }
  };
}
