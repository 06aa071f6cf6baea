/**
 * Rows of monitoring.alerts, the alert history: one per alert and channel (pubsub, slack, and the
 * records of incidents and muted days). Written only by MERGE files under sql/alerts and
 * sql/monitors that take the same four placeholders, in batches, so a rerun adds nothing.
 */
import { chunk } from 'lodash';
import { numberedRows, selectList } from '../rows';
import { ALERTS_TABLE } from '../schema';
import { renderSqlFile } from '../sql';
import type { JobContext, QueryParams, Warehouse } from '../warehouse/warehouse';
import type { Alert } from './alert';

/** Rows per MERGE: a statement's parameters grow with its rows. */
const BATCH = 100;

export interface AlertsTableFields {
  channel: string;
  /** Who wrote the row: a delivery's claim, or the run that recorded it. */
  claimId: string;
  sentAt: Date;
  /** Null while a delivery holds the claim; records are delivered when written. */
  deliveredAt: Date | null;
  /** The row's key when it is not the alert's id (a follow-up's delivery key). */
  alertId?: string;
}

/** What a row needs of an alert: the published ones and the recorded (muted) ones alike. */
type RecordedAlert = Pick<
  Alert,
  'alert_id' | 'date' | 'kind' | 'check' | 'severity' | 'message' | 'run_id' | 'raised_at'
>;

/** An alert (its whole message in `payload`) as a row of the alerts table. */
export function alertsTableRow(alert: RecordedAlert, fields: AlertsTableFields) {
  return {
    alert_id: fields.alertId ?? alert.alert_id,
    date: alert.date,
    channel: fields.channel,
    claim_id: fields.claimId,
    kind: alert.kind,
    check_name: alert.check,
    severity: alert.severity,
    message: alert.message,
    run_id: alert.run_id,
    raised_at: new Date(alert.raised_at),
    sent_at: fields.sentAt,
    payload: JSON.stringify(alert),
    delivered_at: fields.deliveredAt,
  };
}

/** Merges rows into the alerts table with `sqlFile`, in batches; `params` are the file's own (a claim's staleness bound). */
export async function mergeAlertRows(
  warehouse: Warehouse,
  sqlFile: string,
  rows: ReturnType<typeof alertsTableRow>[],
  context: JobContext,
  params: QueryParams = {},
): Promise<void> {
  const columns = ALERTS_TABLE.columns;
  for (const batch of chunk(rows, BATCH)) {
    const numbered = numberedRows(columns, batch);
    const sql = renderSqlFile(sqlFile, {
      alerts: warehouse.tableRef(ALERTS_TABLE.dataset, ALERTS_TABLE.table),
      rows: selectList(columns, numbered),
      columns: columns.map((column) => column.name).join(', '),
      source_columns: columns.map((column) => `s.${column.name}`).join(', '),
    });
    await warehouse.query(sql, { ...numbered.params, ...params }, { ...context, sqlFile });
  }
}
