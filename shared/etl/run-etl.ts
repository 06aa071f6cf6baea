/**
 * The ETL use-case: builds the selected KPI tables for a range of days in one atomic script and
 * records the run in the run log. It takes its ports as arguments; it never builds a client.
 */
import type { EtlJob, TableDefinition } from '../config/etl-config';
import { daysBetween, type DateRange, type IsoDate } from '../dates';
import { TableNotFoundError, toError, WarehouseError } from '../errors';
import type { Logger } from '../log';
import { RUN_LOG_TABLE } from '../schema';
import type { JobContext, Warehouse } from '../warehouse/warehouse';
import { planEtl, selectTables, type EtlPlan } from './plan';
import { staleSourcesNote } from './freshness';
import { earlierDays, earlierSteps, laterDays, laterSteps, mergeDays, tableReach, tableReachBack } from './reach';
import { decideRestate, restateSteps, versionsNote } from './restate';
import { readingSources, sourceRenderings } from './sources';
import { runLogStatement, writeRunLog, type RunLogIdentity, type RunLogStep } from './run-log';
import { forgetRunLogShape, runLogShape, type RunLogShape } from './run-log-shape';

export interface EtlDeps {
  warehouse: Warehouse;
  clock: () => Date;
  logger: Logger;
}

export interface EtlRequest {
  range: DateRange;
  /** Table names; empty or absent means every enabled KPI. */
  kpis?: string[];
  dryRun?: boolean;
  runId: string;
  /** Who started the run, for the run log. */
  username: string;
}

/** The completion event's fields (DESIGN.md: daily-kpis-completed). */
export interface EtlResult {
  run_id: string;
  job_name: string;
  status: 'succeeded' | 'failed';
  start_date: string;
  end_date: string;
  dates: string[];
  tables: string[];
  error: string | null;
  started_at: string;
  finished_at: string;
  dry_run: boolean;
  /** Dry runs only: what BigQuery estimates the run would read (null on DuckDB). */
  bytes_processed?: number | null;
  /**
   * Earlier days the run wrote again (a dry run: would): their source changed (restate_days), or a
   * table reads one that did (reads_days_before, reads_days_after); absent when none.
   */
  restated_dates?: string[];
}

export interface EtlOutcome {
  result: EtlResult;
  /** Dry runs: the script exactly as the engine would receive it. */
  script?: string;
  /** Set when the run failed; `transient` on a WarehouseError says whether a retry may help. */
  failure?: Error;
}

/** The tables a plan writes, as `dataset.table`. */
function targetNames(plan: EtlPlan): string[] {
  return plan.targets.map(({ table }) => `${table.dataset}.${table.table}`);
}

/** The completion event's fields for a run of `plan`: what runEtl returns, and what a redelivery republishes. */
export function etlResult(
  job: EtlJob,
  request: Pick<EtlRequest, 'range' | 'runId' | 'dryRun'>,
  plan: EtlPlan,
  outcome: Pick<EtlResult, 'status' | 'error' | 'started_at' | 'finished_at'>,
): EtlResult {
  return {
    run_id: request.runId,
    job_name: job.jobName,
    status: outcome.status,
    start_date: request.range.start,
    end_date: request.range.end,
    dates: daysBetween(request.range.start, request.range.end),
    tables: targetNames(plan),
    error: outcome.error,
    started_at: outcome.started_at,
    finished_at: outcome.finished_at,
    dry_run: request.dryRun ?? false,
  };
}

/**
 * Builds the requested days (or, with dryRun, validates and estimates them) and says how it went;
 * never throws for a failed run. `planned`: the request's plan when the caller already made it.
 */
export async function runEtl(deps: EtlDeps, job: EtlJob, request: EtlRequest, planned?: EtlPlan): Promise<EtlOutcome> {
  const tables = selectTables(job, request.kpis);
  const plan = planned ?? planEtl(deps.warehouse, job, tables, request.range);
  const result = resultOf(deps, job, request, plan);
  return request.dryRun
    ? dryRunEtl(deps, job, request, tables, plan, result)
    : writeEtl(deps, job, request, tables, plan, result);
}

/** The completion event of this run, made when the run ends; carries when it started. */
type ResultOf = ((status: EtlResult['status'], error: Error | null, extra?: Partial<EtlResult>) => EtlResult) & {
  startedAt: Date;
};

function resultOf(deps: EtlDeps, job: EtlJob, request: EtlRequest, plan: EtlPlan): ResultOf {
  const startedAt = deps.clock();
  const make = (status: EtlResult['status'], error: Error | null, extra: Partial<EtlResult> = {}): EtlResult => ({
    ...etlResult(job, request, plan, {
      status,
      error: error ? error.message : null,
      started_at: startedAt.toISOString(),
      finished_at: deps.clock().toISOString(),
    }),
    ...extra,
  });
  return Object.assign(make, { startedAt });
}

/**
 * The script as the engine would get it, validated and estimated (BigQuery's bytes) without writing
 * anything, with the earlier days the run would restate now (it reads what a real run reads to
 * decide: partition metadata or fingerprints, and the run log).
 */
async function dryRunEtl(
  deps: EtlDeps,
  job: EtlJob,
  request: EtlRequest,
  tables: TableDefinition[],
  planned: EtlPlan,
  result: ResultOf,
): Promise<EtlOutcome> {
  let plan = planned;
  let script = deps.warehouse.renderScript(plan.statements, { atomic: true });
  try {
    const context = { job: job.jobName, runId: request.runId };
    const restate = await restating(deps.warehouse, job, tables, request.range, context, result.startedAt);
    plan = await planRun(deps.warehouse, job, tables, request.range, restate);
    script = deps.warehouse.renderScript(plan.statements, { atomic: true });
    const { bytesProcessed } = await deps.warehouse.dryRunScript(plan.statements, plan.params, context);
    return {
      result: result('succeeded', null, {
        bytes_processed: bytesProcessed,
        ...(restate.all.length > 0 ? { restated_dates: restate.all } : {}),
      }),
      script,
    };
  } catch (thrown) {
    const failure = toError(thrown);
    return { result: result('failed', failure), script, failure };
  }
}

/** The real run: one script, one transaction, the run-log rows committed with the data. */
async function writeEtl(
  deps: EtlDeps,
  job: EtlJob,
  request: EtlRequest,
  tables: TableDefinition[],
  planned: EtlPlan,
  result: ResultOf,
): Promise<EtlOutcome> {
  const { warehouse, clock } = deps;
  const logger = deps.logger.child({ run_id: request.runId });
  const identity: RunLogIdentity = {
    runId: request.runId,
    jobName: job.jobName,
    jobType: 'etl',
    username: request.username,
  };
  const range = `${request.range.start}..${request.range.end}`;
  const startStep: RunLogStep = {
    step: 'start',
    logType: 'start',
    at: result.startedAt,
    message: `ETL for ${range}: ${planned.targets.map((t) => t.name).join(', ')}`,
  };
  try {
    const run = await prepareRun(warehouse, logger, job, request, tables, planned, result.startedAt);
    logger.info('ETL started', {
      start_date: request.range.start,
      end_date: request.range.end,
      tables: run.plan.targets.map((t) => t.name),
    });
    // The run's log rows commit with the data, in the same script (one job on BigQuery): an end
    // row means the tables were written. They are stamped when the script is submitted.
    const logSteps = [startStep, ...runSteps(run, request, tables, clock())];
    await commitRun(warehouse, identity, run, logSteps, request.range, { job: job.jobName, runId: request.runId });
    logger.info('ETL succeeded', { start_date: request.range.start, end_date: request.range.end });
    return { result: result('succeeded', null, run.restate.all.length > 0 ? { restated_dates: run.restate.all } : {}) };
  } catch (thrown) {
    const error = toError(thrown);
    await recordFailure(deps, logger, identity, startStep, error);
    return { result: result('failed', error), failure: error };
  }
}

/** A failed run's log: the error, and the start and error rows (the script's own rows rolled back with it). */
async function recordFailure(
  deps: EtlDeps,
  logger: Logger,
  identity: RunLogIdentity,
  startStep: RunLogStep,
  error: Error,
): Promise<void> {
  logger.error('ETL failed', {
    error: error.message,
    transient: error instanceof WarehouseError ? error.transient : false,
  });
  const errorStep: RunLogStep = {
    step: 'error',
    logType: 'error',
    at: deps.clock(),
    message: error.message.slice(0, 10_000),
  };
  await writeRunLog(deps.warehouse, identity, [startStep, errorStep]).catch((logError: unknown) => {
    logger.error('could not write the error row to the run log', { error: toError(logError).message });
  });
}

/** What a real run writes, decided before its script is submitted. */
interface PreparedRun {
  shape: RunLogShape;
  plan: EtlPlan;
  restate: Awaited<ReturnType<typeof restating>>;
  wholeRun: boolean;
  staleNote: string;
}

/** Checks the run log's shape, creates the tables, and plans the run with the days it restates. */
async function prepareRun(
  warehouse: Warehouse,
  logger: Logger,
  job: EtlJob,
  request: EtlRequest,
  tables: TableDefinition[],
  planned: EtlPlan,
  startedAt: Date,
): Promise<PreparedRun> {
  const context = { job: job.jobName, runId: request.runId };
  // A run log of a shape daily-kpis cannot write stops the run here, before anything is created or written.
  const shape = await runLogShape(warehouse);
  await ensureTables(warehouse, planned);
  const wholeRun = request.kpis === undefined || request.kpis.length === 0;
  const restate = await restating(warehouse, job, tables, request.range, context, startedAt);
  // The guard reads only when the run builds everything, as the scheduled runs do.
  const staleNote = wholeRun ? await staleSourcesNote(warehouse, job, tables, startedAt, context) : '';
  if (staleNote !== '') logger.warn('the source is stale: building anyway', { note: staleNote });
  const plan = await planRun(warehouse, job, tables, request.range, restate);
  if (restate.all.length > 0) {
    logger.info('restating days whose source changed, or what their tables read', {
      restated: restate.decision?.restated,
      later: Object.fromEntries(restate.later),
      earlier: Object.fromEntries(restate.earlier),
    });
  }
  return { shape, plan, restate, wholeRun, staleNote };
}

/**
 * The run's plan with the days it restates, planned once, `{{source}}` rendered (one catalog read)
 * over every day the run builds: a GA4 export's shards reach back to the oldest restated day.
 */
async function planRun(
  warehouse: Warehouse,
  job: EtlJob,
  tables: TableDefinition[],
  range: DateRange,
  restate: Awaited<ReturnType<typeof restating>>,
): Promise<EtlPlan> {
  const reach = { start: [range.start, ...restate.all].sort()[0] as IsoDate, end: range.end };
  const rebuilt = mergeDays(restate.earlier, restate.later);
  return planEtl(
    readingSources(warehouse, await sourceRenderings(warehouse, tables, reach)),
    job,
    tables,
    range,
    restate.days,
    rebuilt,
  );
}

/** The run-log rows after the start row: one per table written, the restated days, and the end row. */
function runSteps(run: PreparedRun, request: EtlRequest, tables: TableDefinition[], submittedAt: Date): RunLogStep[] {
  const { plan, restate, wholeRun } = run;
  const range = `${request.range.start}..${request.range.end}`;
  return [
    ...plan.targets.map((target) => ({
      step: target.name,
      logType: 'info' as const,
      at: submittedAt,
      fileName: target.sqlFile,
      message: `wrote ${target.table.dataset}.${target.table.table} for ${range}`,
    })),
    ...restateSteps(restate.decision, submittedAt).map((step) =>
      wholeRun ? step : { ...step, message: `${step.message}${chosenOnly(tables)}` },
    ),
    ...earlierSteps(restate.earlier, restate.days, submittedAt, restate.decision?.readAhead),
    ...laterSteps(restate.later, restate.days, submittedAt),
    // Only a run of every table records versions: after a run of chosen KPIs the others are still to restate.
    {
      step: 'end',
      logType: 'end',
      at: submittedAt,
      message: `ETL succeeded for ${range}${run.staleNote}${versionsNote(wholeRun ? restate.decision : null, request.range, [...restate.earlier.values()].flat())}`,
    },
  ];
}

/**
 * The job label of a run's one script (BigQuery `sql_file: etl-run`): it holds every table's SQL
 * file, which the run log's rows name one by one (file_name).
 */
export const ETL_SCRIPT_LABEL = 'etl/run';

/** Runs the plan's statements and the run-log rows as one atomic script. */
async function commitRun(
  warehouse: Warehouse,
  identity: RunLogIdentity,
  run: PreparedRun,
  logSteps: RunLogStep[],
  range: DateRange,
  context: JobContext,
): Promise<void> {
  const { plan } = run;
  let { shape } = run;
  // The script's job id comes from the work, not from its run-log timestamps, so a redelivery of
  // this message re-attaches to the job the first delivery started.
  const restated = run.restate.all.length > 0 ? `:restating ${run.restate.all.join(',')}` : '';
  const workKey = `etl:${identity.runId}:${range.start}..${range.end}${restated}:${targetNames(plan).join(',')}`;
  const runScript = () => {
    const logRows = runLogStatement(warehouse, shape, identity, logSteps);
    return warehouse.runScript(
      [...plan.statements, logRows.sql],
      { ...plan.params, ...logRows.params },
      { ...context, workKey, sqlFile: ETL_SCRIPT_LABEL },
      { atomic: true },
    );
  };
  await runScript().catch(async (error: unknown) => {
    // A target or the run log dropped under a warm instance: create it again and run once more.
    // A missing source fails the same way twice and stays a permanent failure.
    if (!(error instanceof TableNotFoundError)) throw error;
    forgetRunLogShape(warehouse);
    await ensureTables(warehouse, plan);
    shape = await runLogShape(warehouse);
    await runScript();
  });
}

/**
 * What a run restates: the earlier days whose source changed (restate.ts), and the later and
 * earlier days of the tables that read them (reach.ts); `all` is every earlier day it writes
 * again, for the KPI monitor to judge again. `at`: the run's time, the bound of the days it
 * reads ahead (only their events before it are in what it builds).
 */
async function restating(
  warehouse: Warehouse,
  job: EtlJob,
  tables: TableDefinition[],
  range: DateRange,
  context: JobContext,
  at: Date,
) {
  const reachBack = tableReachBack(job.tables);
  const decision = await decideRestate(warehouse, job, range, context, { aheadDays: aheadDays(job, reachBack), at });
  const days = decision?.restated.map(({ day }) => day) ?? [];
  const built = decision?.built ?? new Set<IsoDate>();
  const later = laterDays(tables, tableReach(job.tables), days, built, range);
  const earlier = earlierDays(tables, reachBack, days, built, range, decision?.readAhead);
  return {
    decision,
    days,
    later,
    earlier,
    all: [...new Set([...days, ...[...later.values(), ...earlier.values()].flat()])].sort(),
  };
}

/** How many days after its own an enabled table reads at most (through what it reads too); a keep_latest reach (every day) reads none ahead. */
function aheadDays(job: EtlJob, reachBack: ReadonlyMap<string, number>): number {
  const finite = job.tables.filter((table) => table.isEnable).map((table) => reachBack.get(table.name) ?? 0);
  return Math.max(0, ...finite.filter(Number.isFinite));
}

/**
 * What a restate row of a run of chosen KPIs adds: they read the tables they do not build as they
 * are (like a run of those days), and the other tables of that day are not restated yet.
 */
function chosenOnly(tables: TableDefinition[]): string {
  const names = tables.map((table) => table.name);
  const inputs = [...new Set(tables.flatMap((table) => table.reads))].filter((name) => !names.includes(name));
  const asTheyAre =
    inputs.length > 0 ? `, reading ${inputs.join(', ')} as ${inputs.length === 1 ? 'it is' : 'they are'}` : '';
  return `; ${names.join(', ')} only (a run of chosen KPIs${asTheyAre}): the next run of every KPI restates the others`;
}

/** The run log, the targets and what they read, so a first run on a fresh warehouse needs no `kpis init`. */
async function ensureTables(warehouse: Warehouse, plan: EtlPlan): Promise<void> {
  const tables = [RUN_LOG_TABLE, ...plan.targets.map(({ table }) => table), ...plan.reads];
  for (const table of tables) await warehouse.ensureTable(table);
}
