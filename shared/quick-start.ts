/**
 * `npm start` (`kpis start`): the main job on whatever warehouse is configured. Seeds the demo
 * events into an empty source table (never over real ones), builds the KPI tables, and reads back
 * the KPIs of the last complete day and the day before.
 */
import type { EtlJob } from './config/etl-config';
import { addDays, type IsoDate } from './dates';
import { runEtl, type EtlDeps, type EtlOutcome } from './etl/run-etl';
import { initWarehouse } from './etl/init';
import { configuredSource } from './events/load-events';
import { DEMO_DAYS, seedDemo } from './events/seed-demo';
import { dailySummary, type DailySummary } from './reports/daily-summary';

export interface QuickStartRequest {
  today: IsoDate;
  runId: string;
  username: string;
}

export interface QuickStartResult {
  seeded_events: number;
  etl: EtlOutcome['result'];
  /** The last complete day and its KPIs, with the day before for comparison; absent if the ETL failed. */
  date?: IsoDate;
  kpis?: DailySummary;
  previous_date?: IsoDate;
  previous_kpis?: DailySummary;
}

export async function quickStart(deps: EtlDeps, job: EtlJob, request: QuickStartRequest): Promise<QuickStartResult> {
  const { warehouse, clock } = deps;
  const context = { job: job.jobName, runId: request.runId };
  await initWarehouse(warehouse, job);
  const seeded = await seedDemo(warehouse, configuredSource(job), { today: request.today, now: clock(), whenNotEmpty: 'skip' }, context);
  // The daily run builds yesterday and today; right after seeding, a one-time backfill of the
  // whole demo history gives installs and last activity their true first and last days.
  const range = { start: seeded.rows > 0 ? addDays(request.today, -(DEMO_DAYS - 1)) : addDays(request.today, -1), end: request.today };
  const { result } = await runEtl(deps, job, { range, runId: request.runId, username: request.username });
  if (result.status === 'failed') return { seeded_events: seeded.rows, etl: result };
  const date = addDays(request.today, -1);
  const previousDate = addDays(date, -1);
  return {
    seeded_events: seeded.rows,
    etl: result,
    date,
    kpis: await dailySummary(warehouse, job, date, context),
    previous_date: previousDate,
    previous_kpis: await dailySummary(warehouse, job, previousDate, context),
  };
}
