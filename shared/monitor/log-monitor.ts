/**
 * The log monitor use-case: did each job of config/log_config.json finish a run recently, and did
 * its newest run succeed? It reads logs.daily_logs, raises pipeline alerts, and records itself in
 * the run log as job log_monitor.
 */
import { runLogShape, runLogValues } from '../etl/run-log-shape';
import type { LogCheck } from '../config/log-checks';
import { DEFAULT_TIME_ZONE, addDays, dayIn, toIsoDate, type IsoDate } from '../dates';
import { pipelineAlert, type Alert } from '../alerts/alert';
import { deliverAlerts, NOT_DELIVERED, type AlertDeps, type DeliveryReport } from '../alerts/deliver';
import { staleSourceIn } from '../etl/freshness';
import { recordRun } from '../etl/run-log';
import { RUN_LOG_TABLE } from '../schema';
import { renderSqlFile } from '../sql';
import { canonicalTimestamp } from '../timestamps';
import type { Logger } from '../log';
import type { JobContext, Row, Warehouse } from '../warehouse/warehouse';
import { counted } from '../plural';

export const LOG_MONITOR_JOB = 'log_monitor';
/** How far back the run log is read: a job with no matching row in this many days raises no_run. */
export const LOG_LOOKBACK_DAYS = 30;

/**
 * One condition of one check: freshness (a recent finished run), last_run (it succeeded), and,
 * when the newest run found its source stale, source_freshness.
 */
export interface LogCheckResult {
  check: string;
  date: IsoDate;
  method: 'freshness' | 'last_run' | 'source_freshness';
  raise_flag: boolean;
  /** freshness: hours since the newest finished run; null when there is none. */
  metric: number | null;
  /** freshness: thresh_in_hours. */
  threshold: number | null;
  severity: 'error';
  message: string;
  job_name: string;
  last_finished_at: string | null;
  newest_run_id: string | null;
  /** How the job's newest finished run ended: its newest end or error row. */
  newest_run_status: 'succeeded' | 'failed' | null;
  /** The alert's reason when raised: stale, no_run, failed_run or source_stale. */
  reason: string | null;
}

export interface LogMonitorOutcome {
  results: LogCheckResult[];
  alerts: Alert[];
  delivery: DeliveryReport;
}

/** With `dryRun`, the checks are judged and reported only: nothing published or written. */
/** `jobName`: the run log's job_name for this run (a crontab line's --etl-name); default log_monitor. */
export async function runLogMonitor(
  deps: AlertDeps,
  checks: LogCheck[],
  request: {
    runId: string;
    username: string;
    dryRun?: boolean;
    lookbackDays?: number;
    timeZone?: string;
    jobName?: string;
  },
): Promise<LogMonitorOutcome> {
  const { runId } = request;
  const jobName = request.jobName ?? LOG_MONITOR_JOB;
  const context = { job: jobName, runId };
  const identity = { runId, jobName, jobType: 'monitor', username: request.username };
  const logger = deps.logger.child({ run_id: runId });
  const judge = () => judgeLogChecks(deps, checks, { ...request, context }, logger);
  if (request.dryRun) return { ...(await judge()), delivery: NOT_DELIVERED };
  return recordRun(
    deps,
    identity,
    `run-log checks: ${checks.map((check) => check.name).join(', ')}`,
    async () => {
      const { results, alerts } = await judge();
      const delivery = await deliverAlerts({ ...deps, logger }, alerts, { ...context, source: 'log-monitor' });
      return {
        value: { results, alerts, delivery },
        summary: `${counted(results.length, 'check')}: ${alerts.length} raised, ${delivery.published.length} published, Slack ${delivery.slack}`,
      };
    },
    { bestEffort: true },
  );
}

/** Every check's results, and the alerts of those that raised. */
async function judgeLogChecks(
  deps: AlertDeps,
  checks: LogCheck[],
  request: { runId: string; lookbackDays?: number; timeZone?: string; context: JobContext },
  logger: Logger,
): Promise<{ results: LogCheckResult[]; alerts: Alert[] }> {
  const now = deps.clock();
  const results: LogCheckResult[] = [];
  for (const check of checks)
    results.push(
      ...(await checkLog(deps.warehouse, check, now, request.context, request.lookbackDays, request.timeZone)),
    );
  const alerts = results.filter((result) => result.raise_flag).map((result) => alertOf(result, request.runId, now));
  logger.info('run-log checks done', { checks: results.length, raised: alerts.length });
  return { results, alerts };
}

/** A raised result as a pipeline alert about the run log. */
function alertOf(result: LogCheckResult, runId: string, now: Date): Alert {
  return pipelineAlert(
    {
      check: result.check,
      date: result.date,
      reason: result.reason as string,
      message: result.message,
      table: `${RUN_LOG_TABLE.dataset}.${RUN_LOG_TABLE.table}`,
      metric: result.metric,
      threshold: result.threshold,
    },
    runId,
    now,
  );
}

/** `lookbackDays`: how far back the run log is read (at least the threshold and a day). */
export async function checkLog(
  warehouse: Warehouse,
  check: LogCheck,
  now: Date,
  context: JobContext,
  lookback = LOG_LOOKBACK_DAYS,
  timeZone = DEFAULT_TIME_ZONE,
): Promise<LogCheckResult[]> {
  // The run log's dt is a row's UTC day; the lookback reaches a day past any zone.
  const today = toIsoDate(now);
  const lookbackDays = Math.max(lookback, Math.ceil(check.thresh_in_hours / 24) + 1);
  const sql = renderSqlFile('monitors/log_status.sql', runLogValues(warehouse, await runLogShape(warehouse)));
  const [row] = await warehouse.query(
    sql,
    {
      since: { type: 'DATE', value: addDays(today, -lookbackDays) },
      job_name: { type: 'STRING', value: check.job_name },
      step_name: { type: 'STRING', value: check.step_name },
      file_name: { type: 'STRING', value: check.file_name },
      message_like: { type: 'STRING', value: check.message_like },
      daily_kpis_end: { type: 'BOOL', value: check.counts_daily_kpis_runs },
      // LIKE has no escape both engines share: a `_` of the dataset matches any one character.
      etl_writes: {
        type: 'STRING',
        value: check.follows_etl_dataset === null ? null : `wrote ${check.follows_etl_dataset}.% for %`,
      },
    },
    { ...context, sqlFile: 'monitors/log_status.sql' },
  );
  // A check that follows the ETL names the job as its newest run wrote it.
  const named =
    check.follows_etl_dataset !== null && row?.newest_job_name != null
      ? { ...check, job_name: String(row.newest_job_name) }
      : check;
  return judgeLog(named, statusOf(row), now, lookbackDays, timeZone);
}

/** log_status.sql's row (none when the run log has no row of the job) as a LogStatus. */
function statusOf(row: Row | undefined): LogStatus {
  return {
    lastFinished:
      row?.last_finished_at == null ? null : new Date(canonicalTimestamp(row.last_finished_at as string | Date)),
    newestRunId: row?.newest_run_id == null ? null : String(row.newest_run_id),
    failed: row?.newest_log_type === 'error',
    newestMessage: String(row?.newest_message ?? ''),
  };
}

/** Where a job stands in the run log, as log_status.sql reads it. */
export interface LogStatus {
  lastFinished: Date | null;
  newestRunId: string | null;
  /** Whether the newest end or error row is an error. */
  failed: boolean;
  newestMessage: string;
}

/** The two conditions of a check, from where its job stands: a recent finished run (freshness), and a newest run that succeeded. Pure. */
export function judgeLog(
  check: LogCheck,
  status: LogStatus,
  now: Date,
  lookbackDays: number,
  timeZone = DEFAULT_TIME_ZONE,
): LogCheckResult[] {
  const { lastFinished, newestRunId, failed } = status;
  // The alert is about today in the business zone.
  const today = dayIn(now, timeZone);
  const base = {
    check: check.name,
    date: today,
    severity: 'error' as const,
    job_name: check.job_name,
    last_finished_at: lastFinished?.toISOString() ?? null,
    newest_run_id: newestRunId,
    newest_run_status: newestRunId === null ? null : failed ? ('failed' as const) : ('succeeded' as const),
  };

  const hours =
    lastFinished === null ? null : Math.round(((now.getTime() - lastFinished.getTime()) / 3_600_000) * 10) / 10;
  return [
    freshnessResult(check, base, hours, lookbackDays),
    lastRunResult(check, base, status),
    ...sourceFreshness(check, status, base),
  ];
}

/** What judgeLog's results share: the check, today, the job and where its runs stand. */
type LogBase = Omit<LogCheckResult, 'method' | 'raise_flag' | 'metric' | 'threshold' | 'message' | 'reason'>;

/** Freshness: raised when no run finished within thresh_in_hours (or in the lookback at all). */
function freshnessResult(check: LogCheck, base: LogBase, hours: number | null, lookbackDays: number): LogCheckResult {
  const stale = hours === null || hours > check.thresh_in_hours;
  const freshnessMessage =
    hours === null
      ? `${check.name}: no ${check.step_name} row of ${check.job_name} in the run log in the last ${lookbackDays} days: the job has not run`
      : stale
        ? `${check.name}: ${check.message.replaceAll('{job_name}', check.job_name).replaceAll('{hours}', String(hours))} (last at ${base.last_finished_at}, threshold ${check.thresh_in_hours} h)`
        : `${check.name}: ${check.job_name} finished ${hours} h ago (threshold ${check.thresh_in_hours} h)`;
  return {
    ...base,
    method: 'freshness',
    raise_flag: stale,
    metric: hours,
    threshold: check.thresh_in_hours,
    message: freshnessMessage,
    reason: stale ? (hours === null ? 'no_run' : 'stale') : null,
  };
}

/** Last run: raised when the newest finished run failed. */
function lastRunResult(
  check: LogCheck,
  base: LogBase,
  { newestRunId, failed, newestMessage }: LogStatus,
): LogCheckResult {
  return {
    ...base,
    method: 'last_run',
    raise_flag: failed,
    metric: null,
    threshold: null,
    message: failed
      ? `${check.name}: the newest run of ${check.job_name} (${newestRunId}) failed: ${newestMessage.slice(0, 500)}`
      : newestRunId === null
        ? `${check.name}: no finished run of ${check.job_name} to judge`
        : `${check.name}: the newest run of ${check.job_name} (${newestRunId}) succeeded`,
    reason: failed ? 'failed_run' : null,
  };
}

/**
 * The ETL built, but its source was stale (its end row says so, shared/etl/freshness.ts): one
 * source_stale alert a day, naming the newest event, so a stuck ingestion is not read as a drop.
 */
function sourceFreshness(
  check: LogCheck,
  status: LogStatus,
  base: Omit<LogCheckResult, 'method' | 'raise_flag' | 'metric' | 'threshold' | 'message' | 'reason'>,
): LogCheckResult[] {
  const stale = status.failed ? null : staleSourceIn(status.newestMessage);
  if (stale === null) return [];
  const message = `${check.name}: the newest run of ${check.job_name} (${status.newestRunId}) built from a stale source: ${stale}`;
  return [
    {
      ...base,
      method: 'source_freshness',
      raise_flag: true,
      metric: null,
      threshold: null,
      message: message.slice(0, 1000),
      reason: 'source_stale',
    },
  ];
}
