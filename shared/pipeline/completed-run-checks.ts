/**
 * The kpi-monitor function's use-case: a completion event -> KPI checks for the run's complete
 * days -> alerts. A failed run raises a pipeline alert instead: its tables are stale, and checking
 * them would only report the failure as a KPI drop.
 */
import { pipelineAlert, resolvedAlert, type Alert } from '../alerts/alert';
import { deliverAlerts, NOT_DELIVERED, type AlertDeps, type DeliveryReport } from '../alerts/deliver';
import type { KpiCheck } from '../config/kpi-checks';
import { addDays, dayIn, daysBetween, type IsoDate } from '../dates';
import type { EtlResult } from '../etl/run-etl';
import { recordRun } from '../etl/run-log';
import { TableNotFoundError } from '../errors';
import { KPI_MONITOR_JOB, runKpiMonitor, type KpiMonitorOutcome } from '../monitor/kpi-monitor';
import { completeAt as dayCompleteAt } from '../monitor/complete-days';
import { ALERTS_TABLE } from '../schema';
import { renderSqlFile } from '../sql';

export type CompletedRunChecks =
  | { action: 'skipped'; reason: string }
  | { action: 'checked'; dates: IsoDate[]; outcome: KpiMonitorOutcome; resolved: DeliveryReport }
  | { action: 'pipeline_alert'; delivery: DeliveryReport };

type CheckRequest = { runId: string; username: string; timeZone: string; tables?: ReadonlyMap<string, string> };

export async function checkCompletedRun(
  deps: AlertDeps,
  checks: KpiCheck[],
  completion: EtlResult,
  request: CheckRequest,
): Promise<CompletedRunChecks> {
  if (completion.dry_run)
    return { action: 'skipped', reason: `run ${completion.run_id} was a dry run: nothing was written` };
  if (completion.status === 'failed') return alertFailedRun(deps, completion, request);
  // A day the run started before the end of was still in progress when the ETL read it: its KPIs
  // would read as a drop. The run's own start decides, not when the event was published or arrived
  // (a run that ends after midnight is published on the next day; its reads began on the first).
  // Days are the business zone's. Days the run restated (late events) are judged again.
  const inProgress = dayIn(new Date(completion.started_at), request.timeZone);
  const built = [...(completion.restated_dates ?? []), ...completion.dates].filter((date) => date < inProgress);
  if (built.length === 0)
    return {
      action: 'skipped',
      reason: `run ${completion.run_id} built no complete day (only ${completion.dates.join(', ')})`,
    };
  const groups = judgedDays(checks, built, deps.clock(), request.timeZone);
  if (groups.length === 0)
    return {
      action: 'skipped',
      reason: `run ${completion.run_id} built no day complete yet for any check (complete_after_hours)`,
    };
  const judged = await judgeGroups(deps, groups, request);
  const dates = [...new Set(groups.flatMap((group) => group.dates))].sort();
  const restated = (completion.restated_dates ?? []).filter((date) => dates.includes(date));
  const resolved = await resolveDisproved(deps, restated, judged, request.runId);
  return { action: 'checked', dates, outcome: judged, resolved };
}

/** A failed run's tables are stale: one pipeline alert instead of judging them. */
function alertFailedRun(deps: AlertDeps, completion: EtlResult, request: CheckRequest): Promise<CompletedRunChecks> {
  const identity = { runId: request.runId, jobName: KPI_MONITOR_JOB, jobType: 'monitor', username: request.username };
  return recordRun(deps, identity, `pipeline alert for failed run ${completion.run_id}`, async () => {
    const alert = pipelineAlert(
      {
        check: completion.job_name,
        date: completion.end_date,
        reason: 'failed_run',
        message: `${completion.job_name}: ETL run ${completion.run_id} for ${completion.start_date}..${completion.end_date} failed: ${completion.error ?? 'no error given'}`,
        table: null,
      },
      request.runId,
      deps.clock(),
    );
    const delivery = await deliverAlerts(deps, [alert], {
      job: KPI_MONITOR_JOB,
      runId: request.runId,
      source: 'kpi-monitor',
    });
    return {
      value: { action: 'pipeline_alert' as const, delivery },
      summary: `failed run ${completion.run_id}: ${delivery.published.length} alert published`,
    };
  });
}

/** Checks with the same days run together (most share complete_after_hours 0, so one run); their outcomes merged. */
async function judgeGroups(
  deps: AlertDeps,
  groups: { checks: KpiCheck[]; dates: IsoDate[] }[],
  request: CheckRequest,
): Promise<KpiMonitorOutcome> {
  let outcome: KpiMonitorOutcome | undefined;
  for (const [index, group] of groups.entries()) {
    const runId = index === 0 ? request.runId : `${request.runId}:${index}`;
    const checked = await runKpiMonitor(deps, group.checks, {
      dates: group.dates,
      timeZone: request.timeZone,
      tables: request.tables,
      runId,
      username: request.username,
    });
    outcome = outcome
      ? {
          ...checked,
          results: [...outcome.results, ...checked.results],
          alerts: [...outcome.alerts, ...checked.alerts],
        }
      : checked;
  }
  return outcome as KpiMonitorOutcome;
}

/** Publishes the follow-ups of the alerts that the restated days' new verdicts disprove. */
async function resolveDisproved(
  deps: AlertDeps,
  restated: IsoDate[],
  judged: KpiMonitorOutcome,
  runId: string,
): Promise<DeliveryReport> {
  const followUps = await resolvedFollowUps(deps, restated, judged, runId);
  if (followUps.length === 0) return NOT_DELIVERED;
  const resolved = await deliverAlerts(deps, followUps, { job: KPI_MONITOR_JOB, runId, source: 'kpi-monitor' });
  deps.logger.info('alerts resolved by late data', { run_id: runId, alert_ids: resolved.published });
  return resolved;
}

/**
 * The follow-ups of KPI alerts published for restated days whose new verdict is ok: one
 * `resolved` message each, under the alert's id (deliverAlerts sends each once, whatever the
 * redeliveries). A restated day that raises now was published by the monitor run as a new alert;
 * one with no verdict now disproves nothing.
 */
async function resolvedFollowUps(
  deps: AlertDeps,
  restated: IsoDate[],
  outcome: KpiMonitorOutcome,
  runId: string,
): Promise<Alert[]> {
  if (restated.length === 0) return [];
  const sorted = [...restated].sort();
  const sql = renderSqlFile('alerts/for_dates.sql', {
    alerts: deps.warehouse.tableRef(ALERTS_TABLE.dataset, ALERTS_TABLE.table),
  });
  const params = {
    start_date: { type: 'DATE' as const, value: sorted[0] as string },
    end_date: { type: 'DATE' as const, value: sorted.at(-1) as string },
  };
  const rows = await deps.warehouse
    .query(sql, params, { job: KPI_MONITOR_JOB, runId, sqlFile: 'alerts/for_dates.sql' })
    .catch((error: unknown) => {
      if (error instanceof TableNotFoundError) return [];
      throw error;
    });
  const published = rows
    .map((row) => JSON.parse(String(row.payload)) as Alert)
    .filter(
      (alert) =>
        alert.kind === 'kpi' &&
        [undefined, 'raised', 'ongoing'].includes(alert.status) &&
        restated.includes(alert.date),
    );
  const at = deps.clock();
  return published.flatMap((raised) => {
    const now = outcome.results.find(
      (result) => result.check === raised.check && result.segment === raised.segment && result.date === raised.date,
    );
    return now?.verdict === 'ok' ? [resolvedAlert(raised, now, runId, at)] : [];
  });
}

/**
 * The days each check judges, grouped: of the run's days, those complete now (their end in the
 * zone plus the check's complete_after_hours is past). A check with a grace also judges the
 * earlier days its grace held back that completed in the last 24 hours, so a daily schedule judges
 * each day once; a day judged twice raises nothing twice (alert ids are per check and day).
 */
const DAY_MS = 86_400_000;

export function judgedDays(
  checks: KpiCheck[],
  built: IsoDate[],
  now: Date,
  timeZone: string,
): { dates: IsoDate[]; checks: KpiCheck[] }[] {
  const first = [...built].sort()[0] as IsoDate;
  const groups = new Map<string, { dates: IsoDate[]; checks: KpiCheck[] }>();
  for (const check of checks) {
    const grace = check.complete_after_hours ?? 0;
    const heldBack = grace === 0 ? [] : daysBetween(addDays(first, -(Math.ceil(grace / 24) + 1)), addDays(first, -1));
    const completeAt = (day: IsoDate) => dayCompleteAt(day, grace, timeZone).getTime();
    // A held-back day is judged by the daily run after it completed: the one of the next 24 hours.
    const caughtUp = heldBack.filter(
      (day) => completeAt(day) <= now.getTime() && completeAt(day) > now.getTime() - DAY_MS,
    );
    const dates = [...new Set([...caughtUp, ...built.filter((day) => completeAt(day) <= now.getTime())])].sort();
    if (dates.length === 0) continue;
    const key = dates.join(',');
    groups.set(key, { dates, checks: [...(groups.get(key)?.checks ?? []), check] });
  }
  return [...groups.values()];
}
