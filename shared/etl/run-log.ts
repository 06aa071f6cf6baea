/** Rows of logs.daily_logs: one run's steps, numbered and sharing the run id as uid. */
import { toIsoDate } from '../dates';
import { RUN_LOG_TABLE } from '../schema';
import { numberedRows, valuesList } from '../rows';
import { renderSqlFile } from '../sql';
import type { QueryParams, Warehouse } from '../warehouse/warehouse';

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
 * One INSERT of a run's steps, numbered 1..n. Parameters carry the step number (`@ts_1`, ...), so
 * the statement can join a larger script without clashing with its parameters.
 */
export function runLogStatement(warehouse: Pick<Warehouse, 'tableRef'>, identity: RunLogIdentity, steps: RunLogStep[], firstStepId = 1): { sql: string; params: QueryParams } {
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
  const sql = renderSqlFile('logs/insert_log_rows.sql', {
    daily_logs: warehouse.tableRef(RUN_LOG_TABLE.dataset, RUN_LOG_TABLE.table),
    columns: RUN_LOG_TABLE.columns.map((column) => column.name).join(', '),
    rows: valuesList(rows),
  });
  return { sql, params: rows.params };
}

/** Writes a run's steps, numbered from `firstStepId`, so later rows of a run continue its numbering. */
export async function writeRunLog(warehouse: Warehouse, identity: RunLogIdentity, steps: RunLogStep[], firstStepId = 1): Promise<void> {
  const { sql, params } = runLogStatement(warehouse, identity, steps, firstStepId);
  await warehouse.query(sql, params, { job: identity.jobName, runId: identity.runId });
}

/**
 * Runs a job between a start and an end row (an error row when it throws, and the error goes on).
 * For jobs whose work is not one script: the ETL writes its rows inside its own transaction.
 */
export async function recordRun<T>(
  deps: { warehouse: Warehouse; clock: () => Date },
  identity: RunLogIdentity,
  startMessage: string,
  work: () => Promise<{ value: T; summary: string }>,
): Promise<T> {
  const { warehouse, clock } = deps;
  await warehouse.ensureDataset(RUN_LOG_TABLE.dataset);
  await warehouse.ensureTable(RUN_LOG_TABLE);
  const start: RunLogStep = { step: 'start', logType: 'start', at: clock(), message: startMessage };
  await writeRunLog(warehouse, identity, [start]);
  let outcome: { value: T; summary: string };
  try {
    outcome = await work();
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 10_000);
    await writeRunLog(warehouse, identity, [{ step: 'error', logType: 'error', at: clock(), message }], 2).catch(() => undefined);
    throw error;
  }
  await writeRunLog(warehouse, identity, [{ step: 'end', logType: 'end', at: clock(), message: outcome.summary }], 2);
  return outcome.value;
}
