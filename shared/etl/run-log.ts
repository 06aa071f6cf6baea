/** Rows of logs.daily_logs: one run's steps, numbered and sharing the run id as uid. */
import { toIsoDate } from '../dates';
import { RUN_LOG_TABLE } from '../schema';
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

const COLUMNS = RUN_LOG_TABLE.columns.map((column) => column.name);

/**
 * One INSERT of a run's steps, numbered 1..n. Parameters carry the step number (`@ts_1`, ...), so
 * the statement can join a larger script without clashing with its parameters.
 */
export function runLogStatement(warehouse: Pick<Warehouse, 'tableRef'>, identity: RunLogIdentity, steps: RunLogStep[]): { sql: string; params: QueryParams } {
  const params: QueryParams = {};
  const tuples = steps.map((step, index) => {
    const stepId = index + 1;
    const row: QueryParams = {
      ts: { type: 'TIMESTAMP', value: step.at },
      dt: { type: 'DATE', value: toIsoDate(step.at) },
      uid: { type: 'STRING', value: identity.runId },
      username: { type: 'STRING', value: identity.username },
      job_name: { type: 'STRING', value: identity.jobName },
      job_type: { type: 'STRING', value: identity.jobType },
      file_name: { type: 'STRING', value: step.fileName ?? null },
      step_name: { type: 'STRING', value: step.step },
      step_id: { type: 'INT64', value: stepId },
      log_type: { type: 'STRING', value: step.logType },
      message: { type: 'STRING', value: step.message },
    };
    for (const column of COLUMNS) params[`${column}_${stepId}`] = row[column] as QueryParams[string];
    return `(${COLUMNS.map((column) => `@${column}_${stepId}`).join(', ')})`;
  });
  const sql = renderSqlFile('logs/insert_log_rows.sql', {
    daily_logs: warehouse.tableRef(RUN_LOG_TABLE.dataset, RUN_LOG_TABLE.table),
    columns: COLUMNS.join(', '),
    rows: tuples.join(',\n'),
  });
  return { sql, params };
}

export async function writeRunLog(warehouse: Warehouse, identity: RunLogIdentity, steps: RunLogStep[]): Promise<void> {
  const { sql, params } = runLogStatement(warehouse, identity, steps);
  await warehouse.query(sql, params, { job: identity.jobName, runId: identity.runId });
}
