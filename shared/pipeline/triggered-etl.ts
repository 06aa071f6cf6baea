/**
 * The etl function's use-case: a validated trigger -> one ETL run -> the completion event on
 * daily-kpis-completed, published for a failed run too. A redelivered trigger (same run id) whose
 * run already committed is not built again: its completion event is published again, and a row in
 * the run log records the redelivery.
 */
import { runLogValues } from '../etl/run-log-shape';
import type { EtlJob } from '../config/etl-config';
import { addDays, toIsoDate } from '../dates';
import { etlResult, runEtl, type EtlDeps, type EtlResult } from '../etl/run-etl';
import { planEtl, selectTables, type EtlPlan } from '../etl/plan';
import { ensureRunLog, restatedDaysOf, writeRunLog } from '../etl/run-log';
import { TableNotFoundError } from '../errors';
import { TOPICS, type Publisher } from '../messaging/publisher';
import { renderSqlFile } from '../sql';
import { canonicalTimestamp } from '../timestamps';
import type { TriggerRequest } from './contracts';

export interface PipelineDeps extends EtlDeps {
  publisher: Publisher;
}

export interface TriggeredEtlRequest {
  trigger: TriggerRequest;
  runId: string;
  username: string;
  /** When the trigger was published: a redelivered run started on or after this day. */
  publishedAt: Date;
}

/** Publishes the completion event; resolves with the result, or throws the run's failure afterwards. */
export async function runTriggeredEtl(
  deps: PipelineDeps,
  job: EtlJob,
  request: TriggeredEtlRequest,
): Promise<EtlResult> {
  const { trigger, runId } = request;
  const logger = deps.logger.child({ run_id: runId });
  // Unknown or disabled KPIs fail here, before anything is written; runEtl takes this plan.
  const plan = planEtl(deps.warehouse, job, selectTables(job, trigger.kpis), trigger.range);
  const earlier = trigger.dryRun ? null : await finishedRun(deps, job, request);
  let result: EtlResult;
  let failure: Error | undefined;
  if (earlier) {
    logger.warn('redelivered trigger: the run already committed, so its completion event is published again', {
      finished_at: earlier.finished_at,
    });
    result = await redeliveredResult(deps, job, request, plan, earlier);
  } else {
    const etlRequest = {
      range: trigger.range,
      kpis: trigger.kpis,
      dryRun: trigger.dryRun,
      runId,
      username: request.username,
    };
    const outcome = await runEtl({ ...deps, logger }, job, etlRequest, plan);
    result = outcome.result;
    failure = outcome.failure;
  }
  await deps.publisher.publish(TOPICS.completed, result, { status: result.status, job_name: result.job_name });
  logger.info('completion event published', { status: result.status, topic: TOPICS.completed });
  if (failure) throw failure;
  return result;
}

/** The run that already committed, as its result again; the redelivery recorded in the run log after its last step. */
async function redeliveredResult(
  deps: PipelineDeps,
  job: EtlJob,
  request: TriggeredEtlRequest,
  plan: EtlPlan,
  earlier: FinishedRun,
): Promise<EtlResult> {
  const { trigger, runId } = request;
  const identity = { runId, jobName: job.jobName, jobType: 'etl', username: request.username };
  await writeRunLog(
    deps.warehouse,
    identity,
    [
      {
        step: 'redelivery',
        logType: 'info',
        at: deps.clock(),
        message: 'trigger delivered again; the run had already committed, nothing rebuilt',
      },
    ],
    earlier.lastStepId + 1,
  );
  return {
    ...etlResult(job, { range: trigger.range, runId, dryRun: false }, plan, {
      status: 'succeeded',
      error: null,
      started_at: earlier.started_at,
      finished_at: earlier.finished_at,
    }),
    // The KPI monitor judges them again: a redelivery must not lose them.
    ...(earlier.restated.length > 0 ? { restated_dates: earlier.restated } : {}),
  };
}

/** A run of this id that committed: when it ran, its last step in the run log, and the days it restated. */
interface FinishedRun {
  started_at: string;
  finished_at: string;
  lastStepId: number;
  restated: string[];
}

async function finishedRun(deps: PipelineDeps, job: EtlJob, request: TriggeredEtlRequest): Promise<FinishedRun | null> {
  const { warehouse } = deps;
  const shape = await ensureRunLog(warehouse);
  const sql = renderSqlFile('logs/finished_run.sql', runLogValues(warehouse, shape));
  const params = {
    since: { type: 'DATE' as const, value: addDays(toIsoDate(request.publishedAt), -1) },
    uid: { type: 'STRING' as const, value: request.runId },
    job_name: { type: 'STRING' as const, value: job.jobName },
  };
  const rows = await warehouse
    .query(sql, params, { job: job.jobName, runId: request.runId, sqlFile: 'logs/finished_run.sql' })
    .catch(async (error: unknown) => {
      // A run log dropped under a warm instance holds no finished run; the ETL creates it again.
      if (!(error instanceof TableNotFoundError)) throw error;
      return [];
    });
  const [row] = rows;
  if (!row) return null;
  return {
    started_at: new Date(canonicalTimestamp(row.started_at as string | Date)).toISOString(),
    finished_at: new Date(canonicalTimestamp(row.finished_at as string | Date)).toISOString(),
    lastStepId: Number(row.last_step_id),
    restated: restatedDaysOf(row.restated),
  };
}
