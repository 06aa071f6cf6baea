/**
 * The kpi-monitor function's use-case: a completion event -> KPI checks for the run's complete
 * days -> alerts. A failed run raises a pipeline alert instead: its tables are stale, and checking
 * them would only report the failure as a KPI drop.
 */
import { pipelineAlert } from '../alerts/alert';
import { deliverAlerts, type AlertDeps, type DeliveryReport } from '../alerts/deliver';
import type { KpiCheck } from '../config/monitor-config';
import { dayIn, type IsoDate } from '../dates';
import type { EtlResult } from '../etl/run-etl';
import { recordRun } from '../etl/run-log';
import { KPI_MONITOR_JOB, runKpiMonitor, type KpiMonitorOutcome } from '../monitor/kpi-monitor';

export type CompletedRunChecks =
  { action: 'skipped'; reason: string } | { action: 'checked'; dates: IsoDate[]; outcome: KpiMonitorOutcome } | { action: 'pipeline_alert'; delivery: DeliveryReport };

export async function checkCompletedRun(
  deps: AlertDeps,
  checks: KpiCheck[],
  completion: EtlResult,
  request: { runId: string; username: string; timeZone: string },
): Promise<CompletedRunChecks> {
  if (completion.dry_run) return { action: 'skipped', reason: `run ${completion.run_id} was a dry run: nothing was written` };
  if (completion.status === 'failed') {
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
      const delivery = await deliverAlerts(deps, [alert], { job: KPI_MONITOR_JOB, runId: request.runId, source: 'kpi-monitor' });
      return { value: { action: 'pipeline_alert' as const, delivery }, summary: `failed run ${completion.run_id}: ${delivery.published.length} alert published` };
    });
  }
  // A day the run started before the end of was still in progress when the ETL read it: its KPIs
  // would read as a drop. The run's own start decides, not when the event was published or arrived
  // (a run that ends after midnight is published on the next day; its reads began on the first).
  // Days are the business zone's.
  const inProgress = dayIn(new Date(completion.started_at), request.timeZone);
  const dates = completion.dates.filter((date) => date < inProgress);
  if (dates.length === 0) return { action: 'skipped', reason: `run ${completion.run_id} built no complete day (only ${completion.dates.join(', ')})` };
  const outcome = await runKpiMonitor(deps, checks, { dates, timeZone: request.timeZone, runId: request.runId, username: request.username });
  return { action: 'checked', dates, outcome };
}
