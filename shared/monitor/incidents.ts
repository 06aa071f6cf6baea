/**
 * Incidents: consecutive raised days of one check and segment. What it decides, per result in day
 * order (planIncidents, pure):
 *
 * 1. a raised day whose day before raised (judged in this run, else recorded by an earlier run)
 *    continues that incident; any other raised day starts one, whose incident_id is its first
 *    day's alert_id;
 * 2. an incident's first day publishes the alert (`raised`); a later day publishes an `ongoing`
 *    update (its own alert_id, the incident's id, start and day count, today's value) when a
 *    reminder is due: every ceil(remind_after_hours / 24) days after the start, counted between
 *    judged days, so a rerun decides the same;
 * 3. a judged day that does not raise, after a raised day, publishes `recovered`; so does the
 *    day after a segmented check raised as a whole (a day without events raises once, not per
 *    segment) when it is judged per segment again;
 * 4. a failed or muted check says nothing about an incident: it neither continues nor ends one.
 *
 * Every raised day is recorded in monitoring.alerts (channel `incident`) once the run's alerts are
 * delivered, whether or not it published: the next run reads the day before its days there.
 * Publishing goes through deliverAlerts, so each alert, update and recovery is sent once.
 */
import { chunk } from 'lodash';
import { alertId, alertLabel, kpiAlert, type Alert } from '../alerts/alert';
import { alertsTableRow, mergeAlertRows } from '../alerts/alerts-table';
import { addDays, daysBetween, type IsoDate } from '../dates';
import { TableNotFoundError } from '../errors';
import { ALERTS_TABLE } from '../schema';
import { renderSqlFile } from '../sql';
import type { JobContext, Warehouse } from '../warehouse/warehouse';
import type { CheckResult } from './detect';

/** The alerts table's channel that holds the raised days: a record, not a delivery. */
export const INCIDENT_CHANNEL = 'incident';

/** Verdicts that judge nothing about an incident (the check failed, or a calendar entry muted the day). */
const SILENT_VERDICTS = new Set<string>(['error', 'muted']);

/** Rows per statement: keeps the parameter count far below BigQuery's limits. */
const BATCH = 100;

export interface IncidentPlan {
  /** What to publish, in day order. */
  alerts: Alert[];
  /** Every raised day judged, as its record (the alert it published, or would have). */
  raisedDays: Alert[];
  /** Recorded days judged again that no longer raise: their records go. */
  clearedDays: { alert_id: string; date: IsoDate }[];
}

export interface IncidentOptions {
  /** A check's remind_after_hours. */
  remindAfterHours: (check: string) => number;
  runId: string;
  at: Date;
}

export function planIncidents(results: CheckResult[], recorded: Alert[], options: IncidentOptions): IncidentPlan {
  const key = (check: string, segment: string | null, date: IsoDate) => JSON.stringify([check, segment, date]);
  // A day judged in this run replaces its record: null when it no longer raises.
  const known = new Map<string, Alert | null>(
    recorded.map((record) => [key(record.check, record.segment, record.date), record]),
  );
  const plan: IncidentPlan = { alerts: [], raisedDays: [], clearedDays: [] };
  const inDayOrder = results
    .map((result, index) => ({ result, index }))
    .sort((a, b) => a.result.date.localeCompare(b.result.date) || a.index - b.index);
  for (const { result } of inDayOrder) {
    if (SILENT_VERDICTS.has(result.verdict)) continue;
    const dayKey = key(result.check, result.segment, result.date);
    const before = known.get(key(result.check, result.segment, addDays(result.date, -1))) ?? null;
    if (result.raise_flag) {
      const { record, publish } = raisedDay(result, before, options);
      known.set(dayKey, record);
      plan.raisedDays.push(record);
      if (publish) plan.alerts.push(record);
      continue;
    }
    const stale = known.get(dayKey);
    if (stale) plan.clearedDays.push({ alert_id: stale.alert_id, date: stale.date });
    known.set(dayKey, null);
    if (before) plan.alerts.push(recoveredAlert(result, before, options));
  }
  plan.alerts.push(
    ...wholeCheckRecoveries(
      inDayOrder.map(({ result }) => result),
      (check, date) => known.get(key(check, null, date)) ?? null,
      options,
    ),
  );
  return plan;
}

/**
 * A segmented check that raised as a whole (no events that day) and is judged per segment on the
 * next: its whole-check incident has no result of its own that day, and recovers.
 */
function wholeCheckRecoveries(
  results: CheckResult[],
  wholeCheck: (check: string, date: IsoDate) => Alert | null,
  options: IncidentOptions,
): Alert[] {
  const perSegment = new Map<string, { check: string; date: IsoDate }>();
  const whole = new Set(
    results.filter((result) => result.segment === null).map((result) => JSON.stringify([result.check, result.date])),
  );
  for (const result of results) {
    const day = JSON.stringify([result.check, result.date]);
    if (result.segment !== null && !SILENT_VERDICTS.has(result.verdict) && !whole.has(day))
      perSegment.set(day, { check: result.check, date: result.date });
  }
  return [...perSegment.values()].flatMap(({ check, date }) => {
    const last = wholeCheck(check, addDays(date, -1));
    if (!last) return [];
    const start = last.incident_start ?? last.date;
    const days = daysBetween(start, last.date).length;
    const { trend: _trend, ...rest } = last;
    return [
      {
        ...rest,
        alert_id: alertId('kpi', check, date, null),
        date,
        metric: null,
        previous_metric: null,
        change: null,
        status: 'recovered' as const,
        incident_id: last.incident_id ?? last.alert_id,
        incident_start: start,
        incident_days: days,
        run_id: options.runId,
        raised_at: options.at.toISOString(),
        message: `recovered: ${check} no longer raises on ${date}, after ${days} day${days === 1 ? '' : 's'} since ${start}: judged per segment again`,
      },
    ];
  });
}

/** A raised day: the incident's first (published), or a later one (published when a reminder is due). */
function raisedDay(
  result: CheckResult,
  before: Alert | null,
  options: IncidentOptions,
): { record: Alert; publish: boolean } {
  const alert = kpiAlert(result, options.runId, options.at);
  const start = before?.incident_start ?? result.date;
  const days = daysBetween(start, result.date).length;
  const incident = {
    incident_id: before?.incident_id ?? alertId('kpi', result.check, start, result.segment),
    incident_start: start,
    incident_days: days,
  };
  if (days === 1) return { record: { ...alert, status: 'raised', ...incident }, publish: true };
  const every = Math.max(1, Math.ceil(options.remindAfterHours(result.check) / 24));
  return {
    record: {
      ...alert,
      status: 'ongoing',
      ...incident,
      message: `ongoing since ${start} (${days} days): ${result.message}`,
    },
    publish: (days - 1) % every === 0,
  };
}

/** The first day that does not raise after an incident: its value, under the incident's id. */
function recoveredAlert(result: CheckResult, last: Alert, options: IncidentOptions): Alert {
  const start = last.incident_start ?? last.date;
  const days = daysBetween(start, last.date).length;
  const alert = kpiAlert(result, options.runId, options.at);
  return {
    ...alert,
    status: 'recovered',
    // The incident's severity: a subscriber that opened a page on an error alert gets its close.
    severity: last.severity,
    incident_id: last.incident_id ?? last.alert_id,
    incident_start: start,
    incident_days: days,
    message: `recovered: ${alertLabel(alert)} no longer raises on ${result.date}, after ${days} day${days === 1 ? '' : 's'} since ${start}: ${result.message}`,
  };
}

/** The raised days recorded for the days before the ones judged; none while the alerts table does not exist. */
export async function readIncidentDays(warehouse: Warehouse, dates: IsoDate[], context: JobContext): Promise<Alert[]> {
  if (dates.length === 0) return [];
  const sorted = [...dates].sort();
  const sql = renderSqlFile('alerts/incident_days.sql', {
    alerts: warehouse.tableRef(ALERTS_TABLE.dataset, ALERTS_TABLE.table),
  });
  const params = {
    start_date: { type: 'DATE' as const, value: addDays(sorted[0] as IsoDate, -1) },
    end_date: { type: 'DATE' as const, value: addDays(sorted.at(-1) as IsoDate, -1) },
  };
  try {
    const rows = await warehouse.query(sql, params, { ...context, sqlFile: 'alerts/incident_days.sql' });
    return rows.map((row) => JSON.parse(String(row.payload)) as Alert);
  } catch (error) {
    if (error instanceof TableNotFoundError) return [];
    throw error;
  }
}

/** Writes a plan's records: its raised days (replacing earlier records of them), and forgets its cleared days. */
export async function recordIncidentDays(
  warehouse: Warehouse,
  plan: IncidentPlan,
  at: Date,
  context: JobContext & { runId: string },
): Promise<void> {
  if (plan.raisedDays.length === 0 && plan.clearedDays.length === 0) return;
  const rows = plan.raisedDays.map((day) =>
    alertsTableRow(day, { channel: INCIDENT_CHANNEL, claimId: context.runId, sentAt: at, deliveredAt: at }),
  );
  await mergeAlertRows(warehouse, 'alerts/record_incident_days.sql', rows, context);
  const table = warehouse.tableRef(ALERTS_TABLE.dataset, ALERTS_TABLE.table);
  for (const batch of chunk(plan.clearedDays, BATCH)) await forgetIncidentDays(warehouse, table, batch, context);
}

/** Deletes the records of a batch of cleared days. */
async function forgetIncidentDays(
  warehouse: Warehouse,
  table: string,
  batch: IncidentPlan['clearedDays'],
  context: JobContext,
): Promise<void> {
  const ids = Object.fromEntries(
    batch.map((day, index) => [`alert_id_${index + 1}`, { type: 'STRING' as const, value: day.alert_id }]),
  );
  const dates = batch.map((day) => day.date).sort();
  const sql = renderSqlFile('alerts/forget_incident_days.sql', {
    alerts: table,
    alert_ids: Object.keys(ids)
      .map((name) => `@${name}`)
      .join(', '),
  });
  const range = {
    start_date: { type: 'DATE' as const, value: dates[0] as string },
    end_date: { type: 'DATE' as const, value: dates.at(-1) as string },
  };
  await warehouse.query(sql, { ...ids, ...range }, { ...context, sqlFile: 'alerts/forget_incident_days.sql' });
}
