/** The alert message contract (DESIGN.md: daily-kpis-alerts) and how checks become alerts. */
import type { KpiCheck, Severity } from '../config/kpi-checks';
import type { IsoDate } from '../dates';
import { createHash } from 'node:crypto';
import { formatChange } from '../format';

export const ALERT_KINDS = ['kpi', 'pipeline'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * An alert's state: `raised` (an incident's first day), `ongoing` (a later raised day of it),
 * `recovered` (the first day it stopped raising), `resolved` (late data disproved the day).
 */
export const ALERT_STATUSES = ['raised', 'ongoing', 'recovered', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

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
   * A KPI alert's state (ALERT_STATUSES); absent on pipeline alerts and on alerts from before
   * incidents, which are `raised`. `resolved` is the one follow-up of an alert, under the same
   * alert_id: late events changed the day and the verdict no longer holds (metric is the new
   * value), so a subscriber can close what it opened.
   */
  status?: AlertStatus;
  /** The incident a KPI alert belongs to: the alert_id of its first raised day (consecutive raised days of one check and segment). */
  incident_id?: string;
  /** The incident's first raised day. */
  incident_start?: IsoDate;
  /** The incident's raised days: up to this day (ongoing), or all of them (recovered). */
  incident_days?: number;
  /** Slack user or group ids the post mentions (the check's owner). */
  owner?: string[];
  /** The Slack webhook the post goes to (a name in slack_webhooks, or default). */
  channel?: string;
  /** The check's tags, also attributes of the Pub/Sub message (tag_NAME). */
  tags?: string[];
}

/**
 * A judged day of a KPI check, the fields a KPI alert is made of: shared/monitor/detect.ts's
 * CheckResult has them all, and this module does not reach up into the monitor for it.
 */
export type JudgedDay = Pick<
  Alert,
  'check' | 'segment' | 'date' | 'metric' | 'previous_metric' | 'change' | 'message' | 'table' | 'severity'
> & {
  threshold: number;
  method: string;
  trend: (number | null)[] | null;
};

/**
 * The follow-up of a published KPI alert whose day, built again from late events, no longer
 * raises: the same alert_id, the new value, and what changed.
 */
export function resolvedAlert(raised: Alert, now: JudgedDay, runId: string, at: Date): Alert {
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
  // An ongoing update is its day's alert (alert_id is per day); a recovery is about a day that did not raise.
  return alert.status === 'resolved' || alert.status === 'recovered'
    ? `${alert.alert_id}:${alert.status}`
    : alert.alert_id;
}

/**
 * The Pub/Sub attributes subscribers filter on (e.g. `attributes.severity = "error"`,
 * `attributes.status = "raised"`, `attributes:tag_growth`).
 */
export function alertAttributes(alert: Alert): Record<string, string> {
  const tags = Object.fromEntries((alert.tags ?? []).map((tag) => [`tag_${tag}`, 'true']));
  return {
    kind: alert.kind,
    check: alert.check,
    severity: alert.severity,
    ...(alert.status ? { status: alert.status } : {}),
    ...tags,
  };
}

/**
 * `kpi:dau:2026-11-26`; a segment's alert adds its segment (`kpi:events_by_name:ad_watched:2026-11-26`),
 * a pipeline alert its reason (`pipeline:daily_kpis_etl:failed_run:2026-11-27`).
 */
export function alertId(kind: AlertKind, check: string, date: IsoDate, qualifier?: string | null): string {
  return [kind, check, ...(qualifier ? [qualifier] : []), date].join(':');
}

/** Segment names longer than this are cut in alerts (ids included), with their length and a hash. */
export const ALERT_SEGMENT_MAX = 256;

/**
 * A segment as alerts carry it. Segments are data (an event name, a country): one of megabytes
 * would make every alert of its check as large, past Pub/Sub's 10 MB message limit, and its id a
 * key of that size in monitoring.alerts. Cut, it keeps its start, its length and a hash of the
 * whole, so two long names that share a start keep apart, and a redelivery gets the same id.
 */
export function alertSegment(segment: string | null): string | null {
  if (segment === null || segment.length <= ALERT_SEGMENT_MAX) return segment;
  const hash = createHash('sha256').update(segment).digest('hex').slice(0, 12);
  const marker = `… (${segment.length} characters, sha256 ${hash})`;
  return `${segment.slice(0, ALERT_SEGMENT_MAX - marker.length)}${marker}`;
}

export function kpiAlert(result: JudgedDay, runId: string, raisedAt: Date): Alert {
  const segment = alertSegment(result.segment);
  return {
    alert_id: alertId('kpi', result.check, result.date, segment),
    kind: 'kpi',
    check: result.check,
    segment,
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

/** The check's owner, channel and tags on its alert: Slack routes on them, Pub/Sub subscribers filter on the tags. */
export function routedAlert(alert: Alert, routing: Pick<KpiCheck, 'owner' | 'channel' | 'tags'> | undefined): Alert {
  return routing ? { ...alert, owner: [...routing.owner], channel: routing.channel, tags: [...routing.tags] } : alert;
}
