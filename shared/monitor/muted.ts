/**
 * Verdicts the calendar muted (a check that raised on a one_off day) go to the alert history on a
 * channel of their own, `muted`, with the entry's note: the record says the monitor saw the day
 * and why it stayed quiet. Nothing is published: the delivery reads only the pubsub and slack rows.
 */
import { chunk } from 'lodash';
import { kpiAlert, type Alert } from '../alerts/alert';
import { numberedRows, selectList } from '../rows';
import { ALERTS_TABLE } from '../schema';
import { renderSqlFile } from '../sql';
import type { JobContext, Warehouse } from '../warehouse/warehouse';
import type { CheckResult } from './detect';

/** An alert as it would have been raised, with status muted and the calendar's note. */
export type MutedAlert = Omit<Alert, 'status'> & { status: 'muted'; note: string };

export const MUTED_CHANNEL = 'muted';
const BATCH = 100;

export function mutedAlert(result: CheckResult, runId: string, at: Date): MutedAlert {
  return { ...kpiAlert(result, runId, at), status: 'muted', note: result.calendar_note ?? '' };
}

/** Writes each muted alert once (a rerun adds nothing); the table is created if missing. */
export async function recordMuted(warehouse: Warehouse, alerts: MutedAlert[], claimId: string, at: Date, context: JobContext): Promise<void> {
  if (alerts.length === 0) return;
  await warehouse.ensureTable(ALERTS_TABLE);
  const columns = ALERTS_TABLE.columns;
  for (const batch of chunk(alerts, BATCH)) {
    const rows = numberedRows(
      columns,
      batch.map((alert) => ({
        alert_id: alert.alert_id,
        date: alert.date,
        channel: MUTED_CHANNEL,
        claim_id: claimId,
        kind: alert.kind,
        check_name: alert.check,
        severity: alert.severity,
        message: alert.message,
        run_id: alert.run_id,
        raised_at: new Date(alert.raised_at),
        sent_at: at,
        payload: JSON.stringify(alert),
        delivered_at: at,
      })),
    );
    const sql = renderSqlFile('monitors/record_muted.sql', {
      alerts: warehouse.tableRef(ALERTS_TABLE.dataset, ALERTS_TABLE.table),
      rows: selectList(columns, rows),
      columns: columns.map((column) => column.name).join(', '),
      source_columns: columns.map((column) => `s.${column.name}`).join(', '),
    });
    await warehouse.query(sql, rows.params, { ...context, sqlFile: 'monitors/record_muted.sql' });
  }
}
