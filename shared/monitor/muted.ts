/**
 * Verdicts the calendar muted (a check that raised on a one_off day) go to the alert history on a
 * channel of their own, `muted`, with the entry's note: the record says the monitor saw the day
 * and why it stayed quiet. Nothing is published: the delivery reads only the pubsub and slack rows.
 */
import { kpiAlert, type Alert } from '../alerts/alert';
import { alertsTableRow, mergeAlertRows } from '../alerts/alerts-table';
import { ALERTS_TABLE } from '../schema';
import type { JobContext, Warehouse } from '../warehouse/warehouse';
import type { CheckResult } from './detect';

/** An alert as it would have been raised, with status muted and the calendar's note. */
export type MutedAlert = Omit<Alert, 'status'> & { status: 'muted'; note: string };

export const MUTED_CHANNEL = 'muted';

export function mutedAlert(result: CheckResult, runId: string, at: Date): MutedAlert {
  return { ...kpiAlert(result, runId, at), status: 'muted', note: result.calendar_note ?? '' };
}

/** Writes each muted alert once (a rerun adds nothing); the table is created if missing. */
export async function recordMuted(
  warehouse: Warehouse,
  alerts: MutedAlert[],
  claimId: string,
  at: Date,
  context: JobContext,
): Promise<void> {
  if (alerts.length === 0) return;
  await warehouse.ensureTable(ALERTS_TABLE);
  const rows = alerts.map((alert) =>
    alertsTableRow(alert, { channel: MUTED_CHANNEL, claimId, sentAt: at, deliveredAt: at }),
  );
  await mergeAlertRows(warehouse, 'monitors/record_muted.sql', rows, context);
}
