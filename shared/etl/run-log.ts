/** Writes the rows of one run to logs.daily_logs, numbering its steps. */
import { toIsoDate } from '../dates';
import { RUN_LOG_TABLE } from '../schema';
import { readSqlTemplate, renderTemplate } from '../sql';
import type { Warehouse } from '../warehouse/warehouse';

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
  fileName?: string;
}

export class RunLog {
  private stepId = 0;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly clock: () => Date,
    readonly identity: RunLogIdentity,
  ) {}

  async write(entry: RunLogStep): Promise<void> {
    const now = this.clock();
    this.stepId += 1;
    const sql = renderTemplate(readSqlTemplate('logs/insert_log_row.sql'), {
      daily_logs: this.warehouse.tableRef(RUN_LOG_TABLE.dataset, RUN_LOG_TABLE.table),
    });
    await this.warehouse.query(
      sql,
      {
        ts: { type: 'TIMESTAMP', value: now },
        dt: { type: 'DATE', value: toIsoDate(now) },
        uid: { type: 'STRING', value: this.identity.runId },
        username: { type: 'STRING', value: this.identity.username },
        job_name: { type: 'STRING', value: this.identity.jobName },
        job_type: { type: 'STRING', value: this.identity.jobType },
        file_name: { type: 'STRING', value: entry.fileName ?? null },
        step_name: { type: 'STRING', value: entry.step },
        step_id: { type: 'INT64', value: this.stepId },
        log_type: { type: 'STRING', value: entry.logType },
        message: { type: 'STRING', value: entry.message },
      },
      { job: this.identity.jobName, runId: this.identity.runId },
    );
  }
}
