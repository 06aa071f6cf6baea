/** The alert message contract (DESIGN.md: daily-kpis-alerts) and how checks become alerts. */
import type { Severity } from '../config/monitor-config';
import type { IsoDate } from '../dates';
import { formatChange } from '../format';
import type { CheckResult } from '../monitor/detect';

export const ALERT_KINDS = ['kpi', 'pipeline'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface Alert {
  /** Stable for the same check and date, so consumers and the history table can dedupe on it. */
  alert_id: string;
  kind: AlertKind;
  check: string;
  /** The segment of a segmented check (events_by_name: ad_watched); null otherwise. */
  segment: string | null;
  date: IsoDate;
  metric: number | null;
  previous_metric: number | null;
  change: number | null;
  threshold: number | null;
  method: string;
  message: string;
  table: string | null;
  run_id: string;
  raised_at: string;
  severity: Severity;
  /** A KPI alert's last 14 days of values, oldest first, its own day last (Slack draws them as a sparkline). */
  trend?: (number | null)[];
  /**
   * Absent on the alert as raised. `resolved` on its one follow-up, under the same alert_id: late
   * events changed the day and the verdict no longer holds (metric is the new value), so a
   * subscriber can close what it opened.
   */
  status?: 'resolved';
}

/**
 * The follow-up of a published KPI alert whose day, built again from late events, no longer
 * raises: the same alert_id, the new value, and what changed.
 */
export function resolvedAlert(raised: Alert, now: CheckResult, runId: string, at: Date): Alert {
  const was = raised.metric === null ? 'no value' : String(raised.metric);
  return {
    ...raised,
    status: 'resolved',
    metric: now.metric,
    previous_metric: now.previous_metric,
    change: now.change,
    threshold: now.threshold,
    message: `resolved: late data changed ${alertLabel(raised)} on ${raised.date} from ${was} to ${now.metric ?? 'no value'}: ${now.message}`,
    run_id: runId,
    raised_at: at.toISOString(),
    ...(now.trend ? { trend: now.trend } : {}),
  };
}

/** The key an alert is claimed and marked delivered under: its follow-up is sent once too, apart from it. */
export function deliveryKey(alert: Alert): string {
  return alert.status === 'resolved' ? `${alert.alert_id}:resolved` : alert.alert_id;
}

/** The Pub/Sub attributes subscribers filter on (e.g. `attributes.severity = "error"`). */
export function alertAttributes(alert: Alert): Record<string, string> {
  return { kind: alert.kind, check: alert.check, severity: alert.severity };
}

/**
 * `kpi:dau:2026-11-26`; a segment's alert adds its segment (`kpi:events_by_name:ad_watched:2026-11-26`),
 * a pipeline alert its reason (`pipeline:daily_kpis_etl:failed_run:2026-11-27`).
 */
export function alertId(kind: AlertKind, check: string, date: IsoDate, qualifier?: string | null): string {
  return [kind, check, ...(qualifier ? [qualifier] : []), date].join(':');
}

export function kpiAlert(result: CheckResult, runId: string, raisedAt: Date): Alert {
  return {
    alert_id: alertId('kpi', result.check, result.date, result.segment),
    kind: 'kpi',
    check: result.check,
    segment: result.segment,
    date: result.date,
    metric: result.metric,
    previous_metric: result.previous_metric,
    change: result.change,
    threshold: result.threshold,
    method: result.method,
    message: result.message,
    table: result.table,
    run_id: runId,
    raised_at: raisedAt.toISOString(),
    severity: result.severity,
    ...(result.trend ? { trend: result.trend } : {}),
  };
}

export interface PipelineAlertFields {
  check: string;
  date: IsoDate;
  /** Why it raised: the alert's method, part of its id (freshness, no_run, failed_run). */
  reason: string;
  message: string;
  table: string | null;
  metric?: number | null;
  threshold?: number | null;
  severity?: Severity;
}

export function pipelineAlert(fields: PipelineAlertFields, runId: string, raisedAt: Date): Alert {
  return {
    alert_id: alertId('pipeline', fields.check, fields.date, fields.reason),
    kind: 'pipeline',
    check: fields.check,
    segment: null,
    date: fields.date,
    metric: fields.metric ?? null,
    previous_metric: null,
    change: null,
    threshold: fields.threshold ?? null,
    method: fields.reason,
    message: fields.message,
    table: fields.table,
    run_id: runId,
    raised_at: raisedAt.toISOString(),
    severity: fields.severity ?? 'error',
  };
}

/** The change column of an alert table: the relative change, or why there is none. */
export function alertChange(alert: Alert): string {
  if (alert.change !== null) return formatChange(alert.change);
  if (alert.kind === 'pipeline') return alert.method;
  return alert.metric === 0 && alert.severity === 'error' ? 'lost' : 'from 0';
}

/** `check`, or `check[segment]` for a segment's alert. */
export function alertLabel(alert: Alert): string {
  return alert.segment === null ? alert.check : `${alert.check}[${alert.segment}]`;
}
